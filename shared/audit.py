"""The audit trail: an append-only, hash-chained record of every state change, in its transaction.

A service calls :func:`record` wherever it changes state, with the same ``AsyncSession`` it
changes the state with. Nothing is written then: the entry waits on the session. When that
transaction commits, a session hook (``before_commit``, which runs inside SQLAlchemy's greenlet
under ``AsyncSession`` too):

1. flushes the change itself;
2. takes the chain's transaction-level advisory lock (``pg_advisory_xact_lock``), so one
   transaction at a time appends to the chain; taking it last, at commit, keeps it out of the
   lock order of the row and advisory locks services take while they work;
3. reads the last record's ``seq`` and ``hash``, numbers the waiting entries ``seq + 1, …``,
   chains their hashes, inserts them into ``audit_log`` and enqueues one
   ``org.drx.audit.recorded`` event per record in the transactional outbox.

A transaction that rolls back writes nothing, so the chain has no gaps. Entries recorded inside a
savepoint that rolls back are dropped with it. Sessions must run at READ COMMITTED (PostgreSQL's
default): the chain's tail is read after the lock, in a fresh snapshot.

The pure half (hashing, chaining, verification, export formats) needs no database;
docs/audit.md gives the hash recipe in words and as a stand-alone script.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import getpass
import hashlib
import json
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import IO, Any, Literal

from pydantic_core import to_jsonable_python
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from shared.db.models import AuditRecordRow
from shared.events.envelope import CloudEvent, new_event
from shared.events.outbound import AuditRecorded
from shared.kafka.topics import AUDIT, topic_name
from shared.logging import get_logger
from shared.outbox import outbox_message

__all__ = [
    "AUDIT_EVENT_TYPE",
    "AUDIT_KEY",
    "AUDIT_SOURCE",
    "CSV_COLUMNS",
    "GENESIS_HASH",
    "HXL_TAGS",
    "AuditEntry",
    "AuditRecord",
    "ChainProblem",
    "ChainReport",
    "ChainVerifier",
    "canonical_json",
    "chain",
    "cli_actor",
    "compare_with_copy",
    "export_range",
    "format_at",
    "iter_records",
    "json_safe",
    "jsonl_line",
    "record",
    "record_hash",
    "record_writer",
    "stored_hashes",
    "verify_chain",
    "verify_database",
    "write_csv",
]

AUDIT_SOURCE = "urn:drx:service:audit"
AUDIT_EVENT_TYPE = "org.drx.audit.recorded"
AUDIT_KEY = "audit-chain"  # one Kafka key: the topic holds the chain in order, on one partition
GENESIS_HASH = "0" * 64  # the first record's prev_hash
_CHAIN_LOCK = 0x647278_0002  # "drx" + 2; the outbox relay holds "drx" + 1
_PENDING = "drx.audit.pending"  # key in Session.info
_MAX_ENVELOPE = 200  # CloudEvents attribute limit in shared.events.envelope

log = get_logger(__name__)


# --- what callers write ----------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True, slots=True)
class _Pending:
    prefix: str
    entry: AuditEntry  # already JSON-safe
    at: dt.datetime
    transaction: SessionTransaction | None  # innermost transaction when recorded (None: not begun yet)


def record(
    session: AsyncSession, topic_prefix: str, entry: AuditEntry, *, at: dt.datetime | None = None
) -> None:
    """Adds the entry to the caller's transaction; it is chained and written when that transaction commits.

    ``at`` is when the change happened (aware; default: now). ``before``/``after`` are made
    JSON-safe here (Decimal, date, datetime, UUID become strings), so a value JSON cannot hold
    (NaN, infinity) fails at the call, not at commit.
    """
    when = at if at is not None else dt.datetime.now(dt.UTC)
    if when.utcoffset() is None:
        msg = "audit record time must be timezone-aware"
        raise ValueError(msg)
    sync = session.sync_session
    pending = _Pending(
        prefix=topic_prefix,
        entry=_safe_entry(entry),
        at=when.astimezone(dt.UTC),
        transaction=sync.get_nested_transaction() or sync.get_transaction(),
    )
    sync.info.setdefault(_PENDING, []).append(pending)


def cli_actor(given: str | None = None) -> str:
    """The actor for a command-line action: ``--actor`` when given, else ``cli:<login name>``."""
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (e.g. a container with an unnamed uid)
        return "cli:unknown"


# --- JSON safety and the hash recipe ---------------------------------------------------------


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
    return safe


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _safe_entry(entry: AuditEntry) -> AuditEntry:
    return AuditEntry(
        actor=_text(entry.actor),
        action=_text(entry.action),
        entity_type=_text(entry.entity_type),
        entity_id=_text(entry.entity_id),
        before=_safe_mapping(entry.before),
        after=_safe_mapping(entry.after),
        causing_event_id=_optional_text(entry.causing_event_id),
        correlation_id=_optional_text(entry.correlation_id),
    )


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
        return cls(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            before=row.before,
            after=row.after,
            causing_event_id=row.causing_event_id,
            correlation_id=row.correlation_id,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )

    def to_row(self) -> AuditRecordRow:
        return AuditRecordRow(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            before=self.before,
            after=self.after,
            causing_event_id=self.causing_event_id,
            correlation_id=self.correlation_id,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )

    def event(self) -> CloudEvent:
        """The ``org.drx.audit.recorded`` event for this record (id ``audit:<seq>``)."""
        data = AuditRecorded(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            entity_type=self.entity_type,
            entity_id=self.entity_id,
            before=self.before,
            after=self.after,
            causing_event_id=self.causing_event_id,
            correlation_id=self.correlation_id,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )
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


def chain(
    entries: Iterable[tuple[AuditEntry, dt.datetime]], *, last_seq: int = 0, last_hash: str = GENESIS_HASH
) -> list[AuditRecord]:
    """Number and hash ``entries`` (made JSON-safe) after record ``last_seq``, whose hash is ``last_hash``."""
    records = []
    seq, prev = last_seq, last_hash
    for raw, at in entries:
        entry = _safe_entry(raw)
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


# --- verification ----------------------------------------------------------------------------

ProblemKind = Literal["gap", "out of order", "hash mismatch", "broken link"]


@dataclasses.dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first record where the chain breaks, and how."""

    seq: int
    entity_type: str
    entity_id: str
    action: str
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        where = f"{self.entity_type} {self.entity_id}, {self.action}"
        return f"record {self.seq} ({where}): {self.kind}: {self.detail}"


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    """What :func:`verify_database` found: records checked, the last good hash, the first problem."""

    count: int
    last_hash: str
    problem: ChainProblem | None


def _short(digest: str) -> str:
    return f"{digest[:16]}…"


class ChainVerifier:
    """Checks records fed in ``seq`` order, one at a time (so a large chain streams through)."""

    def __init__(self) -> None:
        self.count = 0
        self.last_hash = GENESIS_HASH
        self._next_seq = 1

    def check(self, rec: AuditRecord) -> ChainProblem | None:
        """None when ``rec`` continues the chain; otherwise what is wrong with it."""

        def problem(kind: ProblemKind, detail: str) -> ChainProblem:
            return ChainProblem(rec.seq, rec.entity_type, rec.entity_id, rec.action, kind, detail)

        expected = self._next_seq
        if rec.seq > expected:
            missing = (
                f"record {expected} is"
                if rec.seq == expected + 1
                else f"records {expected}-{rec.seq - 1} are"
            )
            return problem("gap", f"{missing} missing (deleted?)")
        if rec.seq < expected:
            return problem("out of order", f"expected record {expected} next, found {rec.seq}")
        computed = rec.computed_hash()
        if computed != rec.hash:
            return problem(
                "hash mismatch",
                f"stored hash {_short(rec.hash)} but its content hashes to {_short(computed)}: "
                "the record was changed after it was written",
            )
        if rec.prev_hash != self.last_hash:
            before = f"record {rec.seq - 1}'s hash" if rec.seq > 1 else "the genesis hash (64 zeros)"
            return problem(
                "broken link",
                f"prev_hash {_short(rec.prev_hash)} is not {before} {_short(self.last_hash)}: "
                "a record before it was rewritten or replaced",
            )
        self.count += 1
        self.last_hash = rec.hash
        self._next_seq += 1
        return None


def verify_chain(records: Iterable[AuditRecord]) -> ChainReport:
    """Check a whole chain given in ``seq`` order, starting at record 1."""
    verifier = ChainVerifier()
    for rec in records:
        if (found := verifier.check(rec)) is not None:
            return ChainReport(verifier.count, verifier.last_hash, found)
    return ChainReport(verifier.count, verifier.last_hash, None)


# --- export formats --------------------------------------------------------------------------

CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "causing_event_id",
    "correlation_id",
    "prev_hash",
    "hash",
)
# HXL hashtags (https://hxlstandard.org) where a column has one; docs/audit.md says why.
HXL_TAGS: dict[str, str] = {
    "seq": "#meta+seq",
    "at": "#date",
    "actor": "#meta+actor",
    "action": "#meta+action",
    "entity_type": "#meta+entity+type",
    "entity_id": "#meta+entity+id",
}


def jsonl_line(rec: AuditRecord) -> str:
    """One JSON Lines line (no newline): every field, ``before``/``after`` as objects."""
    return json.dumps(rec.as_json(), ensure_ascii=False, separators=(",", ":"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return canonical_json(value).decode("utf-8")
    return str(value)


def record_writer(export_format: Literal["jsonl", "csv"], out: IO[str]) -> Callable[[AuditRecord], None]:
    """A function that writes one record to ``out`` in ``export_format``; CSV's two header rows first.

    CSV (RFC 4180): a header row, the HXL hashtag row, then one row per record; ``before`` and
    ``after`` are canonical JSON text, absent values empty cells. JSON Lines: :func:`jsonl_line`.
    """
    if export_format == "jsonl":

        def write_line(rec: AuditRecord) -> None:
            out.write(jsonl_line(rec) + "\n")

        return write_line
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerow([HXL_TAGS.get(column, "") for column in CSV_COLUMNS])

    def write_row(rec: AuditRecord) -> None:
        fields = rec.as_json()
        writer.writerow([_cell(fields[column]) for column in CSV_COLUMNS])

    return write_row


def write_csv(records: Iterable[AuditRecord], out: IO[str]) -> int:
    """All ``records`` as CSV (see :func:`record_writer`); returns how many."""
    write = record_writer("csv", out)
    count = 0
    for rec in records:
        write(rec)
        count += 1
    return count


# --- the database side -----------------------------------------------------------------------


async def iter_records(
    session: AsyncSession, *, first_seq: int = 1, last_seq: int | None = None, batch_size: int = 1000
) -> AsyncIterator[AuditRecord]:
    """Records ``first_seq..last_seq`` in ``seq`` order, read in batches by key (``seq > last``)."""
    last = first_seq - 1
    while True:
        query = select(AuditRecordRow).where(AuditRecordRow.seq > last)
        if last_seq is not None:
            query = query.where(AuditRecordRow.seq <= last_seq)
        rows = (await session.scalars(query.order_by(AuditRecordRow.seq).limit(batch_size))).all()
        for row in rows:
            yield AuditRecord.from_row(row)
        if len(rows) < batch_size:
            return
        last = rows[-1].seq
        session.expunge_all()  # keep memory flat on a long chain


async def export_range(
    session: AsyncSession, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> tuple[int, int] | None:
    """The contiguous ``seq`` range from the first record at or after ``since`` to the last before ``until``.

    A record's time is when its change was made, its place when its transaction committed, so
    the two orders can differ by moments; exporting a contiguous stretch of the chain keeps the
    export verifiable, at the price of records at its edges lying a moment outside the window.
    None when no record falls in the window.
    """
    first_query = select(func.min(AuditRecordRow.seq))
    if since is not None:
        first_query = first_query.where(AuditRecordRow.at >= since)
    last_query = select(func.max(AuditRecordRow.seq))
    if until is not None:
        last_query = last_query.where(AuditRecordRow.at < until)
    first, last = await session.scalar(first_query), await session.scalar(last_query)
    if first is None or last is None or first > last:
        return None
    return first, last


async def verify_database(session: AsyncSession, *, batch_size: int = 1000) -> ChainReport:
    """Walk the whole chain in ``seq`` order in one snapshot and report the first problem, if any."""
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    verifier = ChainVerifier()
    async for rec in iter_records(session, batch_size=batch_size):
        if (found := verifier.check(rec)) is not None:
            return ChainReport(verifier.count, verifier.last_hash, found)
    return ChainReport(verifier.count, verifier.last_hash, None)


def compare_with_copy(stored: Mapping[int, str], copy: Mapping[int, str]) -> str | None:
    """The first record a copy of the chain (``seq`` -> ``hash``, e.g. the audit topic) holds
    that the database does not, or holds differently; None when every copied record matches.

    A copy may end before the database does (records not published yet): that is fine. This is
    what catches a tail removed, or rewritten hashes and all, which the chain alone cannot.
    """
    for seq in sorted(copy):
        if seq not in stored:
            return f"record {seq} is in the copy but not in the database: removed"
        if stored[seq] != copy[seq]:
            return f"record {seq} differs from the copy: hash {stored[seq]} here, {copy[seq]} there"
    return None


async def stored_hashes(session: AsyncSession) -> dict[int, str]:
    """Every record's ``seq`` and ``hash``, as the database holds them."""
    rows = await session.execute(select(AuditRecordRow.seq, AuditRecordRow.hash))
    return {seq: digest for seq, digest in rows}  # noqa: C416 - rows are Row objects, not pairs


# --- the commit hook -------------------------------------------------------------------------


def _before_commit(session: Session) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if not pending or session.in_nested_transaction():
        return  # nothing to write, or a savepoint commits: the outer transaction writes them
    del session.info[_PENDING]
    session.flush()  # the change itself, before the chain's lock
    session.execute(select(func.pg_advisory_xact_lock(_CHAIN_LOCK)))
    tail = session.execute(
        select(AuditRecordRow.seq, AuditRecordRow.hash).order_by(AuditRecordRow.seq.desc()).limit(1)
    ).first()
    last_seq, last_hash = (tail[0], tail[1]) if tail is not None else (0, GENESIS_HASH)
    records = chain(((p.entry, p.at) for p in pending), last_seq=last_seq, last_hash=last_hash)
    for item, rec in zip(pending, records, strict=True):
        session.add(rec.to_row())
        session.add(outbox_message(topic_name(item.prefix, AUDIT), rec.event(), AUDIT_KEY))


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending and previous_transaction.nested:  # a savepoint rolled back: drop what it recorded
        session.info[_PENDING] = [p for p in pending if not _within(p.transaction, previous_transaction)]


def _after_commit(session: Session) -> None:
    if session.info.get(_PENDING) and not session.in_nested_transaction():
        log.error(
            "audit entries recorded in a savepoint still open at commit were not written; "
            "close savepoints before committing",
            count=len(session.info[_PENDING]),
        )


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed, rolled back or closed
        session.info.pop(_PENDING, None)


event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _after_soft_rollback)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_transaction_end", _after_transaction_end)
