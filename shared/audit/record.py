"""Recording an entry with the change it describes, and the session hooks that write it at commit.

:func:`record` writes nothing: the entry waits on the session. When that session's outermost
transaction commits, ``before_commit`` (which runs inside SQLAlchemy's greenlet under
``AsyncSession`` too) hands the waiting entries to :func:`shared.audit.chain.append`, in the same
transaction. A transaction that rolls back writes nothing, so the chain has no gaps; entries
recorded inside a savepoint that rolls back are dropped with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from shared.audit.chain import append
from shared.audit.entry import AuditEntry, safe_entry
from shared.logging import get_logger

__all__ = ["cli_actor", "record"]

_PENDING = "drx.audit.pending"  # key in Session.info

log = get_logger(__name__)


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
        entry=safe_entry(entry),
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


# --- the session hooks -----------------------------------------------------------------------


def _before_commit(session: Session) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if not pending or session.in_nested_transaction():
        return  # nothing to write, or a savepoint commits: the outer transaction writes them
    del session.info[_PENDING]
    append(session, [(p.prefix, p.entry, p.at) for p in pending])


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
