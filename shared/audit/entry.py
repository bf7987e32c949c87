"""What a service writes into the audit trail (:class:`AuditEntry`), and how its data is made JSON-safe.

An entry's ``before``/``after`` are stored as JSONB and hashed as canonical JSON, so they must
come back from PostgreSQL exactly as they were hashed: :func:`json_safe` turns them into the
plain JSON data for which that holds, at the call that records them, so bad data fails there and
not at commit.

Entries are bounded too (:data:`MAX_STATE_BYTES`, :data:`MAX_TEXT_CHARS`), so no input can make
an audit row, or the audit event that publishes it, larger than Kafka takes: an oversized
``before``/``after`` is replaced by its size and SHA-256, which still pins what it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["MAX_STATE_BYTES", "MAX_TEXT_CHARS", "AuditEntry", "json_safe", "safe_entry"]

MAX_STATE_BYTES = 128 * 1024
"""The largest ``before`` or ``after`` kept whole, as compact JSON; a larger one is summarised."""
MAX_TEXT_CHARS = 500
"""The longest actor, action, entity type, entity id or event id kept; longer ones are cut."""


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state change, as the service that made it describes it."""

    actor: str  # who: e.g. a source/organisation/donor id, "drx:matching", a CLI user
    action: str  # e.g. "need.accepted", "need.revised", "match.proposed", "subscription.added"
    entity_type: str  # "crisis" | "need" | "pledge" | "match" | "notification" | "subscription" | "input" ...
    entity_id: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    causing_event_id: str | None = None
    correlation_id: str | None = None


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data that survives a PostgreSQL JSONB round trip unchanged.

    Decimal, date, datetime and UUID become strings (pydantic's JSON forms), tuples and sets
    lists, keys strings. Floats with an integral value become integers (JSONB would return
    ``1e16`` as ``10000000000000000``); NaN and infinity are refused. NUL characters and lone
    surrogates, which PostgreSQL cannot store, become U+FFFD and ``?``.
    """
    return _canonical(to_jsonable_python(value))


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {_text(str(key)): _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"audit data cannot hold {value!r}"
            raise ValueError(msg)
        return int(value) if value.is_integer() else value
    return value  # None, bool, int


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _safe_mapping(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    safe = json_safe(value)
    if not isinstance(safe, dict):
        msg = f"audit before/after must be a JSON object, not {type(value).__name__}"
        raise TypeError(msg)
    encoded = json.dumps(safe, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    if len(encoded) > MAX_STATE_BYTES:
        return {
            "omitted": f"larger than the audit limit of {MAX_STATE_BYTES} bytes",
            "bytes": len(encoded),
            "sha256": hashlib.sha256(encoded).hexdigest(),
        }
    return safe


def _bounded(value: str) -> str:
    text = _text(value)
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _bounded(value)


def safe_entry(entry: AuditEntry) -> AuditEntry:
    """``entry`` with its texts storable and bounded, ``before``/``after`` :func:`json_safe` and bounded."""
    return AuditEntry(
        actor=_bounded(entry.actor),
        action=_bounded(entry.action),
        entity_type=_bounded(entry.entity_type),
        entity_id=_bounded(entry.entity_id),
        before=_safe_mapping(entry.before),
        after=_safe_mapping(entry.after),
        causing_event_id=_optional_text(entry.causing_event_id),
        correlation_id=_optional_text(entry.correlation_id),
    )
