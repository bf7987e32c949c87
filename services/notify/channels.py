"""Notify's channels: one attempt to deliver one message by signed webhook or by email.

:meth:`Channels.send` either returns (the receiver accepted the message) or raises
:class:`DeliveryError` with a short message for the delivery record and ``retryable`` saying
whether another attempt can help. Retries, backoff and dead letters are the caller's
(``services/notify/delivery.py``); this module keeps no state but an HTTP connection pool.

Every attempt is bounded by ``DRX_NOTIFY_WEBHOOK_TIMEOUT_S`` as a whole (connect, send, wait,
read), not per network operation, so a slow or trickling endpoint cannot hold a sender longer.

A webhook goes only where :mod:`services.notify.targets` allows: its host is resolved and checked
at each attempt and the request pinned to the checked address (no DNS rebind between check and
connect), and redirects are not followed. Of a refusing receiver's answer drx keeps its status and
a short excerpt of printable characters (:attr:`DeliveryError.answer`), for the delivery's last
error; the audit record and the log line get :attr:`DeliveryError.summary`, without it.

A webhook is signed with its subscription's secrets (``services/notify/signing.py``): the delivery
id, the subscription id, the timestamp and the body, so it verifies at that subscription's
receiver only. Receivers deduplicate on the delivery id, which is the same in every attempt: the
``X-Drx-Delivery`` header and body field of a webhook, the ``Message-ID`` and
``X-Drx-Delivery`` headers of an email. See docs/webhooks.md for the receiving side.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Literal

import aiosmtplib
import httpx

from services.notify.signing import (
    HEADER_DELIVERY,
    HEADER_SIGNATURE,
    HEADER_SUBSCRIPTION,
    HEADER_TIMESTAMP,
    sign,
)
from services.notify.targets import Refused, Unresolved, pin
from shared.config import NotifySettings
from shared.redact import redact_email, redact_url

__all__ = ["Channels", "DeliveryError", "Outgoing", "email_message", "message_id", "webhook_body"]

_USER_AGENT = "drx-notify/1"
_SNIPPET = 200  # printable characters of a refusing endpoint's answer kept in the delivery's last error
_EMAIL = re.compile(r"[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+")
_DOT_ATOM = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_MAX_ID = 200
_RETRYABLE_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one address, as the delivery record describes it."""

    delivery_id: str  # stable across retries; receivers deduplicate on it
    channel: Literal["webhook", "email"]
    address: str  # URL for webhook, email address for email
    subject: str
    text: str  # short human text (plain)
    payload: Mapping[str, Any]  # JSON-safe; the webhook body is {"delivery_id", "subject", "text", "data"}
    subscription_id: str | None = None  # a webhook's subscription: signed, and in X-Drx-Subscription
    secrets: tuple[str, ...] = field(default=(), repr=False)  # its signing secrets, current first


class DeliveryError(Exception):
    """A failed attempt. ``retryable`` False means do not try again.

    Retryable (transient): connection errors, timeouts, HTTP 408/425/429/5xx, SMTP 4xx. Final
    (permanent): other HTTP 3xx/4xx (e.g. 400/401/403/404/410/422), SMTP 5xx, and anything
    wrong with the message itself (malformed address, no signing secret), and a webhook host
    that resolves to an internal address.

    ``summary`` is what went wrong in drx's words; ``answer`` a short printable excerpt of what the
    receiver said (its body, or where it redirected to), kept in the delivery's last error only:
    ``str(error)`` is both.
    """

    def __init__(self, message: str, *, retryable: bool, answer: str | None = None) -> None:
        super().__init__(f"{message}: {answer}" if answer else message)
        self.retryable = retryable
        self.summary = message
        self.answer = answer

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retryable={self.retryable})"


class Channels:
    """Sends :class:`Outgoing` messages; :meth:`start` before the first webhook, :meth:`stop` after."""

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Create the HTTP client (a connection pool). Calling it again does nothing."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._settings.webhook_timeout_s),
                follow_redirects=False,
                headers={"User-Agent": _USER_AGENT},
            )

    async def stop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def send(self, message: Outgoing, *, now: dt.datetime) -> None:
        """Deliver once or raise DeliveryError with a short precise message.

        For example ``HTTP 503 from https://…``, ``timed out after 5.0 s waiting for https://…``,
        ``SMTP 550 no such user (RCPT TO …)``. ``now`` is the signing timestamp and the email's
        ``Date``; a naive datetime is read as UTC.
        """
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        if not _header_safe(message.delivery_id):
            msg = f"delivery id {message.delivery_id[:_MAX_ID]!r} cannot go in a header"
            raise DeliveryError(msg, retryable=False)
        if message.channel == "webhook":
            await self._webhook(message, now)
        elif message.channel == "email":
            await self._email(message, now)
        else:
            msg = f"channel {message.channel!r} is not sent by notify's channels"
            raise DeliveryError(msg, retryable=False)

    # --- webhook ---------------------------------------------------------------------------------

    async def _webhook(self, message: Outgoing, now: dt.datetime) -> None:
        if self._client is None:
            msg = "Channels.start() must be awaited before sending webhooks"
            raise RuntimeError(msg)
        url = _webhook_url(message.address)
        request = self._client.build_request("POST", url, **_signed(message, _show(url), now))
        await self._post(self._client, request, _show(url))

    async def _post(self, client: httpx.AsyncClient, request: httpx.Request, shown: str) -> None:
        """Post ``request`` to the address its host resolves to now, if drx may send there."""
        timeout = self._settings.webhook_timeout_s
        try:
            async with asyncio.timeout(timeout):
                await pin(request, self._settings.webhook_allow_networks)  # Host and SNI stay the URL's
                response = await client.send(request, stream=True)
                try:
                    status = response.status_code
                    if 200 <= status < 300:  # noqa: PLR2004  (the 2xx range)
                        return
                    answer = await _snippet(response)
                finally:
                    await response.aclose()
        except Refused as refusal:
            raise DeliveryError(f"not posted to {shown}: {refusal}", retryable=False) from None
        except Unresolved as error:
            raise DeliveryError(f"cannot post to {shown}: {error}", retryable=True) from None
        except (TimeoutError, httpx.TimeoutException):
            msg = f"timed out after {timeout} s waiting for {shown}"
            raise DeliveryError(msg, retryable=True) from None
        except httpx.UnsupportedProtocol as error:
            raise DeliveryError(f"cannot post to {shown}: {error}", retryable=False) from None
        except httpx.LocalProtocolError as error:
            raise DeliveryError(f"cannot send the request to {shown}: {error}", retryable=False) from None
        except httpx.ConnectError as error:
            raise DeliveryError(f"cannot connect to {shown}: {_reason(error)}", retryable=True) from None
        except httpx.TransportError as error:
            msg = f"{type(error).__name__} from {shown}: {_reason(error)}"
            raise DeliveryError(msg, retryable=True) from None
        msg = f"HTTP {status} from {shown}"
        if 300 <= status < 400:  # noqa: PLR2004  (redirects)
            msg += " (redirects are not followed)"
            answer = "Location: " + (_printable(response.headers.get("location", "")) or "none")
        raise DeliveryError(msg, retryable=_retryable_http(status), answer=answer or None)

    # --- email -----------------------------------------------------------------------------------

    async def _email(self, message: Outgoing, now: dt.datetime) -> None:
        s = self._settings
        address = message.address.strip()
        if not _EMAIL.fullmatch(address):
            msg = f"malformed email address {redact_email(message.address[:_MAX_ID])!r}"
            raise DeliveryError(msg, retryable=False)
        mail = email_message(message, address, email_from=s.email_from, now=now)
        server = f"{s.smtp_host}:{s.smtp_port}"
        try:
            async with asyncio.timeout(s.webhook_timeout_s):
                await aiosmtplib.send(
                    mail,
                    sender=parseaddr(s.email_from)[1],
                    recipients=[address],
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    username=s.smtp_username,
                    password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                    start_tls=s.smtp_starttls,
                    timeout=s.webhook_timeout_s,
                )
        except (TimeoutError, aiosmtplib.SMTPTimeoutError):
            msg = f"timed out after {s.webhook_timeout_s} s talking to SMTP server {server}"
            raise DeliveryError(msg, retryable=True) from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            step = f"RCPT TO {redact_email(refused.recipient)}"
            raise _smtp_refused(refused.code, refused.message, step) from None
        except aiosmtplib.SMTPResponseException as error:
            raise _smtp_refused(error.code, error.message, _smtp_step(error)) from None
        except aiosmtplib.SMTPNotSupported as error:
            raise DeliveryError(f"SMTP server {server}: {error.message}", retryable=False) from None
        except aiosmtplib.SMTPConnectError as error:
            msg = f"cannot connect to SMTP server {server}: {_reason(error)}"
            raise DeliveryError(msg, retryable=True) from None
        except (aiosmtplib.SMTPException, OSError) as error:  # disconnected, no STARTTLS, TLS errors
            raise DeliveryError(f"SMTP server {server}: {_reason(error)}", retryable=True) from None


def _signed(message: Outgoing, shown: str, now: dt.datetime) -> dict[str, Any]:
    """The body and headers of a webhook request, signed with its subscription's secrets."""
    if not message.subscription_id or not message.secrets:
        msg = f"no signing secret for {shown} (subscription {message.subscription_id!r})"
        raise DeliveryError(msg, retryable=False)
    body = webhook_body(message)
    timestamp = int(now.timestamp())
    try:
        signature = sign(
            message.secrets,
            delivery_id=message.delivery_id,
            subscription_id=message.subscription_id,
            timestamp=timestamp,
            body=body,
        )
    except ValueError as error:
        raise DeliveryError(f"cannot sign for {shown}: {error}", retryable=False) from None
    headers = {
        "Content-Type": "application/json",
        HEADER_DELIVERY: message.delivery_id,
        HEADER_SUBSCRIPTION: message.subscription_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature,
    }
    return {"content": body, "headers": headers}


def webhook_body(message: Outgoing) -> bytes:
    """The exact JSON bytes posted (and signed) for a webhook message."""
    document = {
        "delivery_id": message.delivery_id,
        "subject": message.subject,
        "text": message.text,
        "data": message.payload,
    }
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise DeliveryError(f"payload is not JSON: {error}", retryable=False) from None


def message_id(delivery_id: str, email_from: str) -> str:
    """The ``Message-ID`` of every email of a delivery: the same on each attempt, unique per delivery."""
    domain = parseaddr(email_from)[1].rpartition("@")[2]
    if not _DOT_ATOM.fullmatch(domain):
        domain = "drx.invalid"
    local = delivery_id
    if not _DOT_ATOM.fullmatch(local):
        local = hashlib.sha256(delivery_id.encode()).hexdigest()
    return f"<{local}@{domain}>"


def email_message(message: Outgoing, address: str, *, email_from: str, now: dt.datetime) -> EmailMessage:
    """The plain-text email of ``message``, with the headers receivers deduplicate on."""
    mail = EmailMessage()
    mail["From"] = email_from
    mail["To"] = address
    mail["Subject"] = " ".join(message.subject.split())  # one line, whatever the template did
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(message.delivery_id, email_from)
    mail[HEADER_DELIVERY] = message.delivery_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to drx
    mail.set_content(message.text)
    return mail


def _webhook_url(address: str) -> httpx.URL:
    try:
        url = httpx.URL(address.strip())
    except httpx.InvalidURL as error:
        raise DeliveryError(f"malformed webhook URL: {error}", retryable=False) from None
    if url.scheme not in {"http", "https"} or not url.host:
        msg = f"malformed webhook URL {redact_url(address)!r}: need http:// or https:// and a host"
        raise DeliveryError(msg, retryable=False)
    return url


def _show(url: httpx.URL) -> str:
    """The URL for messages and logs: scheme and host only, since user info, path and query may be tokens."""
    return redact_url(str(url))


def _retryable_http(status: int) -> bool:
    return status in _RETRYABLE_HTTP or status >= 500  # noqa: PLR2004  (server errors)


async def _snippet(response: httpx.Response) -> str:
    """The start of a refusing endpoint's answer, printable and on one line (it often says what is wrong)."""
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= _SNIPPET * 4:
            break
    return _printable(read.decode("utf-8", "replace"))


def _printable(text: str) -> str:
    """At most :data:`_SNIPPET` printable characters of ``text``: controls, line breaks and
    invisible formatting characters (bidi overrides) become spaces, runs of spaces one."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text[: _SNIPPET * 4]).split())
    return line if len(line) <= _SNIPPET else line[: _SNIPPET - 1] + "…"


def _header_safe(value: str) -> bool:
    return 0 < len(value) <= _MAX_ID and value.isascii() and value.isprintable()


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _smtp_step(error: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return f"MAIL FROM {error.sender}"
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return f"RCPT TO {redact_email(error.recipient)}"
    if isinstance(error, aiosmtplib.SMTPDataError):
        return "DATA"
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return "AUTH"
    if isinstance(error, aiosmtplib.SMTPHeloError):
        return "EHLO"
    return "connect" if isinstance(error, aiosmtplib.SMTPConnectResponseError) else "SMTP"


def _smtp_refused(code: int, text: str, step: str) -> DeliveryError:
    """SMTP 5xx is a permanent refusal; 4xx (and anything else) may pass on another attempt."""
    line = " ".join(text.split())
    if len(line) > _SNIPPET:
        line = line[: _SNIPPET - 1] + "…"
    permanent = 500 <= code < 600  # noqa: PLR2004  (SMTP permanent failures)
    return DeliveryError(f"SMTP {code} {line} ({step})", retryable=not permanent)
