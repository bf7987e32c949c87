"""Contact details in the forms drx may keep for ever: redacted, or as a fingerprint.

A subscription's email address or webhook URL is needed in exactly one place, the row delivery
reads (``subscriptions``, ``deliveries``). Everything that lasts longer or travels further (audit
records and their exports, events, the rejected topic, logs, ``last_error``) keeps only what an
operator needs to recognise it, and never what lets someone write to or impersonate the receiver:

- an email address keeps its first character and its domain: ``a***@example.org``;
- a URL keeps its scheme and host: ``https://hooks.example.org/…`` (the path and query of a
  webhook URL are often its credential, e.g. ``/services/T0/B0/XXXX`` or ``?token=``);
- :func:`fingerprint` is the SHA-256 of the address as given, for telling two addresses apart in
  the audit, or confirming that an entry concerns an address one already knows. It is a plain
  hash, so whoever can guess an address can confirm the guess; it hides nothing from a guesser.

All of it is pure: strings in, strings out.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "fingerprint",
    "redact_address",
    "redact_email",
    "redact_original",
    "redact_url",
    "scrub",
]

HIDDEN = "…"
_URL = re.compile(r"https?://[^\s\"'<>\\]+", re.IGNORECASE)
# Generous on purpose: anything shaped like local@domain.tld, wherever it sits in a text.
_EMAIL_CHAR = r"[^\s@\"'<>(),;:\\\[\]]"
# A match may start only where a token starts (the lookbehind) and its local part is taken
# whole (possessive ``++``), so a long run of text with no address in it is read once, not once
# per character: without both, 64 KiB of letters took 15 s and blocked notify's event loop.
_EMAIL = re.compile(rf"(?<!{_EMAIL_CHAR}){_EMAIL_CHAR}++@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+")
# The address field of a subscription in text that is no longer JSON (cut or broken).
_ADDRESS_FIELD = re.compile(r'("address"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def redact_email(address: str) -> str:
    """``amina@example.org`` -> ``a***@example.org``; something that is no address -> ``***``."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def redact_url(url: str) -> str:
    """``https://hooks.example.org/t/SECRET?k=v`` -> ``https://hooks.example.org/…``.

    Scheme and host (with its port) only: user info, path, query and fragment are dropped, since
    any of them may be the receiver's token. Something that is no URL becomes ``…``.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return HIDDEN
    if not parts.scheme or not host:
        return HIDDEN
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme.lower()}://{netloc}/{HIDDEN}"


def redact_address(address: str | None) -> str | None:
    """A subscription's address, redacted by its shape (URL or email); None stays None."""
    if address is None:
        return None
    if "://" in address:
        return redact_url(address)
    return redact_email(address)


def fingerprint(address: str | None) -> str | None:
    """``sha256:<hex>`` of the address as given (UTF-8), to tell addresses apart without keeping them.

    Anyone can check it: ``printf %s 'amina@example.org' | sha256sum``.
    """
    if address is None:
        return None
    return "sha256:" + hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()


def scrub(text: str) -> str:
    """``text`` with every URL and email address in it redacted (for error messages and logs)."""
    text = _URL.sub(_redacted_url_in_text, text)
    return _EMAIL.sub(lambda m: redact_email(m.group(0)), text)


def _redacted_url_in_text(match: re.Match[str]) -> str:
    """A URL inside a sentence, redacted; the punctuation that ends the sentence stays outside it."""
    url = match.group(0)
    bare = url.rstrip(".,;:!?)")
    return redact_url(bare) + url[len(bare) :]


def redact_original(original: bytes) -> bytes:
    """A refused record's bytes with contact details redacted; the very same bytes if it had none.

    A JSON document keeps its shape: every ``address`` value is redacted by its shape and every
    other string scrubbed (:func:`scrub`). Anything else (not UTF-8, not JSON, cut short) is
    scrubbed as text, ``"address": "..."`` values included; its undecodable bytes become U+FFFD.
    The caller keeps the SHA-256 and length of the original, so an operator can still tell which
    record it was.
    """
    try:
        document = json.loads(original.decode("utf-8"))
        cleaned = _clean(document)
    except (UnicodeDecodeError, ValueError, RecursionError):
        text = original.decode("utf-8", "replace")
        redacted = scrub(_ADDRESS_FIELD.sub(_redact_field, text))
        return original if redacted == text else redacted.encode()
    if cleaned == document:
        return original
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode()


def _redact_field(match: re.Match[str]) -> str:
    return f"{match.group(1)}{redact_address(match.group(2))}{match.group(3)}"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {
            scrub(key): redact_address(item) if key == "address" and isinstance(item, str) else _clean(item)
            for key, item in value.items()
        }
    return value
