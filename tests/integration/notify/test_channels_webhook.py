"""Notify's webhook channel against a real local HTTP receiver that checks signatures.

Only :meth:`Channels.send` is under test: one attempt, its outcome, and whether another attempt
may help. Retrying is the delivery loop's (tests/integration/notify/test_delivery.py); email is
in test_channels_email.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Self

import pytest

from services.demo.receiver import read_request, signature_problem
from services.notify.channels import Channels
from shared.infra._process import free_port
from shared.redact import redact_url
from tests.support.outgoing import (
    NEW_SECRET,
    NOW,
    SECRET,
    SUBSCRIPTION,
    TIMEOUT_S,
    failure,
    hook,
    settings,
    signed_now,
)

Mode = Literal["answer", "hang", "trickle", "close"]


# --- an HTTP receiver ----------------------------------------------------------------------------


@dataclass
class Request:
    headers: dict[str, str]  # names lower-cased
    body: bytes
    problem: str | None  # None when the signature verified, else why not
    status: int | None = None  # what we answered; None when we did not

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that verifies like a receiver following docs/webhooks.md.

    It answers ``statuses`` in turn and then ``then``; a request whose signature does not verify
    gets 401. ``mode`` makes it misbehave: ``hang`` never answers, ``trickle`` sends its answer a
    byte at a time forever, ``close`` hangs up without answering.
    """

    secrets: list[str] = field(default_factory=lambda: [SECRET])  # what its subscriber was given
    subscription_id: str = SUBSCRIPTION  # whose receiver it is
    statuses: list[int] = field(default_factory=list)
    then: int = 200
    mode: Mode = "answer"
    answer: bytes = b""
    extra: str = ""
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _handlers: set[asyncio.Task] = field(default_factory=set)

    @property
    def delivered(self) -> set[str]:
        """Delivery ids accepted, deduplicated the way docs/webhooks.md tells receivers to."""
        return {r.json["delivery_id"] for r in self.requests if r.status == 200 and r.problem is None}

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hooks/drx"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._closing.set()
        self._server.close()
        if self._handlers:  # let every connection finish and close before the loop goes away
            await asyncio.wait(self._handlers, timeout=10)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._handle(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            headers, body = await read_request(reader)
            request = Request(
                headers, body, signature_problem(self.secrets, self.subscription_id, headers, body)
            )
            self.requests.append(request)
            await self._respond(request, writer)

    async def _respond(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if self.mode == "hang":
            await self._closing.wait()
            return
        if self.mode == "close":
            return
        if self.mode == "trickle":  # a byte every 50 ms: no single read ever waits long
            writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(400):
                if self._closing.is_set():
                    return
                writer.write(b".")
                await writer.drain()
                await asyncio.sleep(0.05)
            return
        status = 401 if request.problem else (self.statuses.pop(0) if self.statuses else self.then)
        request.status = status
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(self.answer)}\r\nConnection: close\r\n"
        writer.write(f"{head}{self.extra}\r\n".encode() + self.answer)
        await writer.drain()


# --- webhook ---------------------------------------------------------------------------------------


@pytest.fixture
async def channels() -> AsyncIterator[Channels]:
    sender = Channels(settings())
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


class TestWebhook:
    async def test_a_delivery_is_posted_signed_and_verified_by_the_receiver(self, channels):
        signed_at = signed_now()
        async with Receiver() as receiver:
            await channels.send(hook(receiver.url), now=signed_at)
        (request,) = receiver.requests
        assert request.problem is None
        assert request.status == 200
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-drx-delivery"] == "dlv-0a1b2c3d4e5f60718293a4b5"
        assert request.headers["x-drx-subscription"] == SUBSCRIPTION
        assert request.headers["x-drx-timestamp"] == str(int(signed_at.timestamp()))
        assert request.headers["x-drx-signature"].startswith("v1=")
        assert request.json == {
            "delivery_id": "dlv-0a1b2c3d4e5f60718293a4b5",
            "subject": "Proposed: 250 piece for Blankets",
            "text": hook("").text,
            "data": {"kind": "match.proposed", "match": {"match_id": "m-3f2a9c", "quantity": 250}},
        }

    async def test_during_a_rotation_both_secrets_sign_and_either_receiver_verifies(self, channels):
        overlap = hook("", secrets=(NEW_SECRET, SECRET))
        async with Receiver() as old, Receiver(secrets=[NEW_SECRET]) as new:
            for receiver in (old, new):
                await channels.send(dataclasses.replace(overlap, address=receiver.url), now=signed_now())
        assert [r.problem for r in (*old.requests, *new.requests)] == [None, None]
        assert old.requests[0].headers["x-drx-signature"].count("v1=") == 2

    async def test_a_request_for_another_subscription_is_refused_by_this_receiver(self, channels):
        """The donor's subscription, pointed at the organisation's receiver: it names another
        subscription and is signed with that subscription's own secret."""
        donors = hook("", subscription_id="s-donor", secrets=("whsec_the-donors-own",))
        async with Receiver() as organisation:
            error = await failure(channels, dataclasses.replace(donors, address=organisation.url))
        assert "for subscription 's-donor', not this receiver's 's-org'" in (
            organisation.requests[0].problem or ""
        )
        assert error.retryable is False

    async def test_a_receiver_with_another_secret_refuses_and_that_is_final(self, channels):
        async with Receiver(secrets=["whsec_rotated-away"]) as receiver:
            error = await failure(channels, hook(receiver.url))
        assert "signature does not match" in (receiver.requests[0].problem or "")
        assert error.retryable is False
        assert str(error) == f"HTTP 401 from {redact_url(receiver.url)}"

    async def test_three_503s_are_retryable_and_the_fourth_attempt_delivers_the_same_id(self, channels):
        async with Receiver(statuses=[503, 503, 503]) as receiver:
            errors = [await failure(channels, hook(receiver.url)) for _ in range(3)]
            await channels.send(hook(receiver.url), now=signed_now())
        assert [(e.retryable, str(e)) for e in errors] == [
            (True, f"HTTP 503 from {redact_url(receiver.url)}")
        ] * 3
        assert [r.status for r in receiver.requests] == [503, 503, 503, 200]
        assert {r.headers["x-drx-delivery"] for r in receiver.requests} == {"dlv-0a1b2c3d4e5f60718293a4b5"}
        assert all(r.problem is None for r in receiver.requests)

    async def test_a_repeat_after_success_is_deduplicated_by_the_receiver(self, channels):
        """What happens when the worker crashes between sending and recording: same id twice."""
        async with Receiver() as receiver:
            await channels.send(hook(receiver.url), now=signed_now())
            await channels.send(hook(receiver.url), now=signed_now() + dt.timedelta(seconds=40))
        assert len(receiver.requests) == 2
        assert receiver.delivered == {"dlv-0a1b2c3d4e5f60718293a4b5"}

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 422])
    async def test_a_client_error_is_final(self, channels, status):
        async with Receiver(then=status) as receiver:
            error = await failure(channels, hook(receiver.url))
        assert error.retryable is False
        assert str(error) == f"HTTP {status} from {redact_url(receiver.url)}"

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    async def test_timeouts_throttling_and_server_errors_are_retryable(self, channels, status):
        async with Receiver(then=status) as receiver:
            error = await failure(channels, hook(receiver.url))
        assert error.retryable is True
        assert f"HTTP {status}" in str(error)

    async def test_the_start_of_the_endpoints_answer_is_kept_for_the_operator(self, channels):
        answer = "invalid payload:\r\n  unknown \x1b[31mfield\u202e 'data.match'\n".encode() + b"x" * 500
        async with Receiver(then=422, answer=answer) as receiver:
            error = await failure(channels, hook(receiver.url))
        assert (
            error.summary == f"HTTP 422 from {redact_url(receiver.url)}"
        )  # what the audit record and the log get
        assert error.answer is not None
        assert error.answer.startswith("invalid payload: unknown [31mfield 'data.match' xxx")
        assert error.answer.endswith("x\u2026")  # cut short
        assert len(error.answer) == 200
        assert error.answer.isprintable()
        assert str(error) == f"{error.summary}: {error.answer}"  # the delivery's last error

    async def test_a_redirect_is_not_followed_and_is_final(self, channels):
        async with Receiver(then=301, extra="Location: https://example.org/new\r\n") as receiver:
            error = await failure(channels, hook(receiver.url))
        assert error.retryable is False
        assert "HTTP 301" in str(error)
        assert "Location: https://example.org/new" in str(error)
        assert "Location" not in error.summary
        assert len(receiver.requests) == 1

    async def test_an_internal_address_is_refused_without_the_operator_s_allowance(self):
        sender = Channels(settings(webhook_allow_networks=""))
        await sender.start()
        try:
            async with Receiver() as receiver:
                error = await failure(sender, hook(receiver.url))
                localhost = await failure(sender, hook(receiver.url.replace("127.0.0.1", "localhost")))
        finally:
            await sender.stop()
        assert error.retryable is False
        assert str(error) == (
            f"not posted to {redact_url(receiver.url)}: "
            "the webhook host resolves to 127.0.0.1, a loopback address; "
            "drx sends webhooks to public addresses only (an operator may allow a network with "
            "DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS)"
        )
        assert "a loopback address" in str(localhost)
        assert receiver.requests == []

    async def test_a_name_is_posted_to_its_checked_address_with_its_own_host_header(self, channels):
        async with Receiver() as receiver:
            by_name = receiver.url.replace("127.0.0.1", "localhost")
            await channels.send(hook(by_name), now=signed_now())
            await channels.send(hook(receiver.url.replace("127.0.0.1", "2130706433")), now=signed_now())
        port = by_name.split(":")[2].split("/")[0]
        assert [r.headers["host"] for r in receiver.requests] == [f"localhost:{port}", f"2130706433:{port}"]
        assert all(r.problem is None for r in receiver.requests)

    async def test_a_name_that_does_not_resolve_is_retried(self, channels):
        error = await failure(channels, hook("http://drx-webhook.invalid/hooks"))
        assert error.retryable is True
        assert str(error).startswith(
            "cannot post to http://drx-webhook.invalid/…: the webhook host does not resolve"
        )

    async def test_tokens_in_the_url_stay_out_of_the_error(self, channels):
        async with Receiver(then=503) as receiver:
            url = receiver.url.replace("http://", "http://user:hunter2@") + "?token=s3cret"
            error = await failure(channels, hook(url))
        assert str(error) == f"HTTP 503 from {redact_url(receiver.url)}"

    async def test_an_endpoint_that_never_answers_times_out_retryably(self, channels):
        async with Receiver(mode="hang") as receiver:
            started = asyncio.get_running_loop().time()
            error = await failure(channels, hook(receiver.url))
            waited = asyncio.get_running_loop().time() - started
        assert error.retryable is True
        assert str(error) == f"timed out after {TIMEOUT_S} s waiting for {redact_url(receiver.url)}"
        assert len(receiver.requests) == 1
        assert waited < 20 * TIMEOUT_S  # bounded by the timeout, not by the endpoint

    async def test_a_trickling_endpoint_cannot_stretch_the_timeout(self, channels):
        """Each read gets a byte within 50 ms, so only a bound on the whole attempt stops it."""
        async with Receiver(mode="trickle") as receiver:
            started = asyncio.get_running_loop().time()
            error = await failure(channels, hook(receiver.url))
            waited = asyncio.get_running_loop().time() - started
        assert error.retryable is True
        assert str(error).startswith(f"timed out after {TIMEOUT_S} s")
        assert waited < 20 * TIMEOUT_S  # the endpoint would have gone on for 20 s

    async def test_an_endpoint_that_hangs_up_is_retryable(self, channels):
        async with Receiver(mode="close") as receiver:
            error = await failure(channels, hook(receiver.url))
        assert error.retryable is True
        assert redact_url(receiver.url) in str(error)

    async def test_nothing_listening_is_retryable(self, channels):
        url = f"http://127.0.0.1:{free_port()}/hooks/drx"
        error = await failure(channels, hook(url))
        assert error.retryable is True
        assert str(error).startswith(f"cannot connect to {redact_url(url)}: ")

    @pytest.mark.parametrize("address", ["not a url", "ftp://example.org/x", "http://", "mailto:x@y.org"])
    async def test_a_malformed_url_is_final(self, channels, address):
        error = await failure(channels, hook(address))
        assert error.retryable is False
        assert "malformed webhook URL" in str(error)

    async def test_no_signing_secret_is_final(self, channels):
        async with Receiver() as receiver:
            error = await failure(channels, hook(receiver.url, secrets=()))
        assert error.retryable is False
        assert "no signing secret" in str(error)
        assert receiver.requests == []

    async def test_a_payload_that_is_not_json_is_final(self, channels):
        async with Receiver() as receiver:
            error = await failure(channels, hook(receiver.url, payload={"when": NOW}))
        assert error.retryable is False
        assert str(error).startswith("payload is not JSON")
        assert receiver.requests == []

    async def test_sending_before_start_is_a_programming_error(self):
        with pytest.raises(RuntimeError, match="start"):
            await Channels(settings()).send(hook("http://127.0.0.1:9/"), now=signed_now())
