"""The chain: the hash recipe, a record's place in it, and appending a transaction's records under its lock.

Every record carries the hash of the one before it (record 1: :data:`GENESIS_HASH`), so records
are numbered and chained in commit order across every worker: :func:`append` takes one
transaction-level advisory lock, reads the tail and chains after it (docs/decisions/0004). The
recipe (:func:`record_hash` over :meth:`AuditRecord.hashed_fields`) is given in words and as a
stand-alone script in docs/audit.md, so anyone can check an export without drx.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.audit.entry import AuditEntry, safe_entry
from shared.db.models import AuditRecordRow
from shared.events.envelope import CloudEvent, new_event
from shared.events.outbound import AuditRecorded
from shared.kafka.topics import AUDIT, topic_name
from shared.outbox import outbox_message

__all__ = [
    "AUDIT_EVENT_TYPE",
    "AUDIT_KEY",
    "AUDIT_SOURCE",
    "CHAIN_LOCK",
    "GENESIS_HASH",
    "AuditRecord",
    "append",
    "canonical_json",
    "chain",
    "format_at",
    "record_hash",
]

AUDIT_SOURCE = "urn:drx:service:audit"
AUDIT_EVENT_TYPE = "org.drx.audit.recorded"
AUDIT_KEY = "audit-chain"  # one Kafka key: the topic holds the chain in order, on one partition
GENESIS_HASH = "0" * 64  # the first record's prev_hash
CHAIN_LOCK = 0x647278_0002  # "drx" + 2; the outbox relay holds "drx" + 1
_MAX_ENVELOPE = 200  # CloudEvents attribute limit in shared.events.envelope


def format_at(at: dt.datetime) -> str:
    """A record's time as hashed and exported: UTC, microseconds, ``Z``: ``2026-11-24T09:30:01.250000Z``."""
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with keys sorted, no whitespace, non-ASCII characters as themselves."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a record's fields, ``hash`` excluded."""
    return hashlib.sha256(canonical_json(dict(fields))).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """A record in the chain: an entry with its place (``seq``), time and hashes."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    causing_event_id: str | None
    correlation_id: str | None
    prev_hash: str
    hash: str

    def values(self) -> dict[str, Any]:
        """Every field as it is, by name: what the row, the event and :meth:`from_row` carry."""
        return {name: getattr(self, name) for name in _FIELDS}

    def hashed_fields(self) -> dict[str, Any]:
        """Every field except ``hash``, as the hash covers them (``at`` formatted by :func:`format_at`)."""
        return {
            "seq": self.seq,
            "at": format_at(self.at),
            "actor": self.actor,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
            "causing_event_id": self.causing_event_id,
            "correlation_id": self.correlation_id,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return record_hash(self.hashed_fields())

    def as_json(self) -> dict[str, Any]:
        """All fields as JSON data, in column order (the JSONL export's line)."""
        return {**self.hashed_fields(), "hash": self.hash}

    @classmethod
    def from_row(cls, row: AuditRecordRow) -> AuditRecord:
        return cls(**{name: getattr(row, name) for name in _FIELDS})

    def to_row(self) -> AuditRecordRow:
        return AuditRecordRow(**self.values())

    def event(self) -> CloudEvent:
        """The ``org.drx.audit.recorded`` event for this record (id ``audit:<seq>``)."""
        data = AuditRecorded(**self.values())
        correlation = self.correlation_id
        return new_event(
            AUDIT_EVENT_TYPE,
            AUDIT_SOURCE,
            data,
            subject=f"{self.entity_type}/{self.entity_id}"[:_MAX_ENVELOPE],
            time=self.at,
            event_id=f"audit:{self.seq}",
            correlation_id=correlation if correlation and len(correlation) <= _MAX_ENVELOPE else None,
        )


_FIELDS = tuple(field.name for field in dataclasses.fields(AuditRecord))  # the record's fields, in order


def chain(
    entries: Iterable[tuple[AuditEntry, dt.datetime]], *, last_seq: int = 0, last_hash: str = GENESIS_HASH
) -> list[AuditRecord]:
    """Number and hash ``entries`` (made JSON-safe) after record ``last_seq``, whose hash is ``last_hash``."""
    records = []
    seq, prev = last_seq, last_hash
    for raw, at in entries:
        entry = safe_entry(raw)
        seq += 1
        unhashed = AuditRecord(
            seq=seq,
            at=at.astimezone(dt.UTC),
            actor=entry.actor,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            before=dict(entry.before) if entry.before is not None else None,
            after=dict(entry.after) if entry.after is not None else None,
            causing_event_id=entry.causing_event_id,
            correlation_id=entry.correlation_id,
            prev_hash=prev,
            hash="",
        )
        prev = unhashed.computed_hash()
        records.append(dataclasses.replace(unhashed, hash=prev))
    return records


def append(session: Session, entries: Sequence[tuple[str, AuditEntry, dt.datetime]]) -> None:
    """Chain ``entries`` (topic prefix, entry, time) after the tail; add the records and their events.

    Runs inside the committing transaction: flushes the change itself first, then takes the
    chain's lock, so the lock is the last one the transaction takes and is held only for the
    inserts that follow. The tail is read after the lock, in a fresh READ COMMITTED snapshot.
    """
    session.flush()  # the change itself, before the chain's lock
    session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
    tail = session.execute(
        select(AuditRecordRow.seq, AuditRecordRow.hash).order_by(AuditRecordRow.seq.desc()).limit(1)
    ).first()
    last_seq, last_hash = (tail[0], tail[1]) if tail is not None else (0, GENESIS_HASH)
    records = chain(((entry, at) for _, entry, at in entries), last_seq=last_seq, last_hash=last_hash)
    for (prefix, _, _), rec in zip(entries, records, strict=True):
        session.add(rec.to_row())
        session.add(outbox_message(topic_name(prefix, AUDIT), rec.event(), AUDIT_KEY))
