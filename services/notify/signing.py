"""Webhook signatures: HMAC-SHA256 over ``"{timestamp}.{body}"``, pure functions, no I/O.

drx signs every webhook request; receivers check it with :func:`verify` or the recipe in
docs/webhooks.md (same algorithm, stdlib only). The signed string is the Unix timestamp in
decimal ASCII, one ``.``, then the exact body bytes, so neither the body nor the time can be
changed without the secret. The timestamp bounds replays to a window; the key id names which
secret signed, so a receiver can accept an old and a new key while a secret is rotated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping

__all__ = [
    "DEFAULT_WINDOW_S",
    "HEADER_DELIVERY",
    "HEADER_KEY_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "SCHEME",
    "SignatureError",
    "sign",
    "verify",
]

HEADER_DELIVERY = "X-Drx-Delivery"
HEADER_TIMESTAMP = "X-Drx-Timestamp"
HEADER_KEY_ID = "X-Drx-Key-Id"
HEADER_SIGNATURE = "X-Drx-Signature"
SCHEME = "v1"
DEFAULT_WINDOW_S = 300.0
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")  # decimal ASCII digits; 11 are enough until the year 5138


class SignatureError(ValueError):
    """A webhook request that must not be trusted; the message says which check failed."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Drx-Signature`` value for ``body`` sent at ``timestamp``: ``"v1=<64 hex digits>"``."""
    if not secret:
        msg = "the signing secret is empty"
        raise ValueError(msg)
    if timestamp < 0:
        msg = f"timestamp must be Unix seconds, got {timestamp}"
        raise ValueError(msg)
    return f"{SCHEME}={_mac(secret, timestamp, body)}"


def verify(
    secrets_by_key_id: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    now: dt.datetime,
    window_s: float = DEFAULT_WINDOW_S,
) -> None:
    """Accept a signed request or raise :class:`SignatureError` saying why not.

    ``secrets_by_key_id`` holds every secret currently accepted (two during a rotation);
    ``headers`` are the request's headers, any case; ``body`` the raw bytes as received, before
    any JSON parsing; ``now`` the receiver's clock (timezone-aware). The timestamp must be within
    ``window_s`` seconds of ``now``, in either direction.
    """
    if now.tzinfo is None:
        msg = "now must be timezone-aware"
        raise ValueError(msg)
    fields = {name.lower(): value for name, value in headers.items()}

    def header(name: str) -> str:
        value = fields.get(name.lower())
        if value is None or not value.strip():
            msg = f"missing header {name}"
            raise SignatureError(msg)
        return value.strip()

    key_id = header(HEADER_KEY_ID)
    raw_timestamp = header(HEADER_TIMESTAMP)
    signatures = header(HEADER_SIGNATURE)

    secret = secrets_by_key_id.get(key_id)
    if not secret:
        msg = f"unknown key id {key_id!r}"
        raise SignatureError(msg)
    if not _UNIX_SECONDS.fullmatch(raw_timestamp):
        msg = f"{HEADER_TIMESTAMP} {raw_timestamp!r} is not Unix seconds"
        raise SignatureError(msg)
    timestamp = int(raw_timestamp)

    expected = _mac(secret, timestamp, body)
    offered = [
        value.strip()
        for scheme, sep, value in (part.strip().partition("=") for part in signatures.split(","))
        if sep and scheme == SCHEME
    ]
    if not offered:
        msg = f"{HEADER_SIGNATURE} has no {SCHEME}= signature"
        raise SignatureError(msg)
    # compare_digest on every candidate, without stopping early, keeps the check constant-time.
    matched = [hmac.compare_digest(expected.encode(), value.encode("ascii", "replace")) for value in offered]
    if not any(matched):
        msg = f"signature does not match for key id {key_id!r} (wrong secret, or the body was altered)"
        raise SignatureError(msg)

    age = now.timestamp() - timestamp
    if age > window_s:
        msg = f"timestamp {timestamp} is {age:.0f} s old, outside the {window_s:g} s replay window"
        raise SignatureError(msg)
    if -age > window_s:
        msg = f"timestamp {timestamp} is {-age:.0f} s in the future, outside the {window_s:g} s window"
        raise SignatureError(msg)
