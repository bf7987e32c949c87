"""A tiny webhook endpoint for the demo: asyncio and the standard library, on 127.0.0.1.

It checks every request's signature the way docs/webhooks.md tells receivers to
(``services.notify.signing.verify``), answers 200 (401 on a bad signature), and counts. It stands
in for the receivers of several subscriptions at one URL: ``secrets`` gives the secrets of a
subscription the demo made (empty for any other), which the demo, as the operator, reveals.
:func:`read_request` and :func:`signature_problem` are the receiving half on their own, which
the tests' receivers (tests/support/receivers.py, the webhook channel's tests) use too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Self

from services.notify.signing import verify

__all__ = ["SecretsOf", "WebhookReceiver", "read_request", "signature_problem"]

SecretsOf = Callable[[str], Awaitable[Sequence[str]]]
"""The secrets a receiver holds for a subscription id; empty when it is not one of its own."""

_MAX_BODY = 1 << 20


async def read_request(
    reader: asyncio.StreamReader, *, max_body: int = _MAX_BODY
) -> tuple[dict[str, str], bytes]:
    """One HTTP/1.1 request off ``reader``: its headers (names lower-cased) and its body.

    The body is read to its Content-Length, at most ``max_body`` bytes. Raises what the stream
    raises (``IncompleteReadError``, ``LimitOverrunError``, ``ConnectionError``), or ValueError
    on a Content-Length that is no number.
    """
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, value in (line.split(":", 1) for line in lines[1:] if ":" in line)
    }
    length = int(headers.get("content-length", "0") or 0)
    return headers, await reader.readexactly(min(length, max_body))


def signature_problem(
    secrets: Sequence[str], subscription_id: str, headers: dict[str, str], body: bytes
) -> str | None:
    """None when the request verifies now at ``subscription_id``'s receiver holding ``secrets``
    (docs/webhooks.md), else why it does not."""
    if not secrets:
        return f"no secret held for subscription {subscription_id!r}"
    try:
        verify(secrets, subscription_id, headers, body, now=dt.datetime.now(dt.UTC))
    except ValueError as error:
        return str(error)
    return None


class WebhookReceiver:
    """Listens on a free port; ``url`` is where subscriptions point."""

    def __init__(self, secrets: SecretsOf) -> None:
        self.secrets = secrets
        self.received = 0
        self.bad_signatures = 0
        self.kinds: dict[str, int] = {}
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            msg = "the receiver is not started"
            raise RuntimeError(msg)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/drx/webhook"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers, body = await read_request(reader)
            named = headers.get("x-drx-subscription", "")
            if signature_problem(await self.secrets(named), named, headers, body) is not None:
                self.bad_signatures += 1
                status = 401
            else:
                self.received += 1
                status = 200
                with contextlib.suppress(ValueError, AttributeError):
                    kind = str(json.loads(body).get("data", {}).get("kind", "other"))
                    self.kinds[kind] = self.kinds.get(kind, 0) + 1
            writer.write(f"HTTP/1.1 {status} OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
