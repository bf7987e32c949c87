"""Recording an entry with the change it describes, and the session hooks that write it at commit.

:func:`record` writes nothing: the entry waits on the session. When that session's outermost
transaction commits, ``before_commit`` (which runs inside SQLAlchemy's greenlet under
``AsyncSession`` too) hands the waiting entries to :func:`shared.audit.chain.append`, in the same
transaction. A transaction that rolls back writes nothing, so the chain has no gaps; entries
recorded inside a savepoint that rolls back are dropped with it.

The hooks are installed explicitly, by :func:`install`, on a session factory
(``shared.db.session.create_session_factory`` does it for every factory drx makes), not on
SQLAlchemy's global ``Session`` class at import: importing drx changes no one else's sessions,
and which sessions write audit records is decided where they are made. A session without the
hooks would drop an entry silently at commit, so :func:`record` refuses one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from typing import cast

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from shared.audit.chain import append
from shared.audit.entry import AuditEntry, safe_entry
from shared.logging import get_logger

__all__ = ["AuditNotInstalledError", "cli_actor", "install", "record"]

_PENDING = "drx.audit.pending"  # key in Session.info

log = get_logger(__name__)


class AuditNotInstalledError(RuntimeError):
    """:func:`record` was given a session whose factory has no audit hooks: the entry would be lost."""


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
    (NaN, infinity) fails at the call, not at commit. A session from a factory :func:`install`
    was not called on raises :class:`AuditNotInstalledError`: its commit would not write the entry.
    """
    sync = session.sync_session
    if _before_commit not in sync.dispatch.before_commit:
        msg = (
            f"this session ({type(sync).__qualname__}) has no audit hooks, so its commit would drop "
            "the entry: open it from shared.db.session.create_session_factory, or call audit.install "
            "on its factory"
        )
        raise AuditNotInstalledError(msg)
    when = at if at is not None else dt.datetime.now(dt.UTC)
    if when.utcoffset() is None:
        msg = "audit record time must be timezone-aware"
        raise ValueError(msg)
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


_HOOKS = (
    ("before_commit", _before_commit),
    ("after_soft_rollback", _after_soft_rollback),
    ("after_commit", _after_commit),
    ("after_transaction_end", _after_transaction_end),
)


def install(factory: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Give every session ``factory`` makes from now on the audit hooks; returns ``factory``.

    The hooks go on a ``Session`` subclass of the factory's own, set as its
    ``sync_session_class`` (SQLAlchemy's way to put session events on an ``async_sessionmaker``),
    so no other factory's sessions change. Idempotent: a factory whose sessions already have the
    hooks is left as it is, so entries are never written twice.
    """
    current: type[Session] = factory.kw.get("sync_session_class") or factory.class_.sync_session_class
    if _installed(current):
        return factory
    audited = cast(
        "type[Session]",
        type(
            "AuditedSession",
            (current,),
            {"__module__": __name__, "__doc__": "A session that writes its audit entries at commit."},
        ),
    )
    for name, hook in _HOOKS:
        event.listen(audited, name, hook)
    factory.configure(sync_session_class=audited)
    return factory


def _installed(session_class: type[Session]) -> bool:
    return any(
        event.contains(cls, "before_commit", _before_commit)
        for cls in session_class.__mro__
        if issubclass(cls, Session)
    )
