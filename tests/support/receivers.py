"""Real local servers that receive what notify sends: an HTTP webhook receiver and an SMTP server.

Both listen on 127.0.0.1 on a free port and record what arrives. The HTTP receiver is the
receiver of the subscriptions it was told about (:meth:`HttpReceiver.hold_secret`, with the
secret the test got from drx, before anything is sent): it verifies each request with the
documented recipe (``services.notify.signing.verify``) as the receiver of the subscription the
request names, and refuses requests for any other subscription. It can
be told to fail a number of times, to answer with a given status, or to hold requests until released.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.demo.receiver import read_request, signature_problem
from shared.infra._process import free_port

__all__ = ["HttpReceiver", "Received", "SmtpReceiver"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: str | None  # None when the signature verified, else the reason it did not
    answered: int | None = None  # the HTTP status we answered with

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers["x-drx-delivery"]


@dataclass
class HttpReceiver:
    """A webhook endpoint. ``status`` answers every request after ``fail_first`` 503s."""

    held: dict[str, list[str]] = field(default_factory=dict)  # its subscriptions' secrets
    status: int = 200
    fail_first: int = 0
    hold: asyncio.Event | None = None  # when set: requests wait for it before answering
    requests: list[Received] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/hooks/drx"

    @property
    def accepted(self) -> list[Received]:
        """Requests answered 2xx with a valid signature, in arrival order."""
        return [r for r in self.requests if r.verified is None and (r.answered or 0) // 100 == 2]

    def hold_secret(self, subscription_id: str, *secrets: str) -> None:
        """Be ``subscription_id``'s receiver, holding ``secrets`` (as its subscriber was given them)."""
        self.held[subscription_id] = list(secrets)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        if self.hold is not None:
            self.hold.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers, body = await read_request(reader)
            named = headers.get("x-drx-subscription", "")
            problem = signature_problem(self.held.get(named, []), named, headers, body)
            received = Received(headers, body, problem)
            self.requests.append(received)
            if self.hold is not None:
                await self.hold.wait()
            failing = sum(1 for r in self.requests if r.answered == 503)
            if problem is not None:
                status = 401
            elif failing < self.fail_first:
                status = 503
            else:
                status = self.status
            received.answered = status
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(  # noqa: N802  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.receiver.reject_with:
            return self.receiver.reject_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.receiver.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; ``reject_with`` e.g. "550 no such user"."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.reject_with: str | None = None
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()
