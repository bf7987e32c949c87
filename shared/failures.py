"""What a failed record deserves: to be read again, or to be refused so its partition moves on.

A worker that fails on a record either waits and reads it again (the offset is kept) or
refuses it (the rejected topic says why, and the records behind it flow). Which one depends on
whose fault the failure is:

- **transient**: the database or the broker is away, or two transactions collided. Nothing is
  wrong with the record; read it again after a backoff, as long as it takes.
- **record**: the record itself makes the database refuse it (a data exception, SQLSTATE class
  22, such as a quantity overflowing its column; an integrity violation, class 23, other than a
  duplicate key) or it is too deep or too odd for Python to handle (``RecursionError``,
  ``OverflowError``, ``UnicodeError``). Reading it again would fail the same way: refuse it now.
- **unforeseen**: anything else, a bug included. It might pass next time (a duplicate key
  raced by another worker does), so it is read again, but only ``attempts`` times in all;
  then it is refused with the exception's class and message, and operators can replay it from
  the rejected topic once the cause is fixed.

:class:`RecordGuard` holds the count of attempts per record in memory: after a restart the
count starts again, which is still a bounded number of attempts per process.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Literal

import psycopg
from sqlalchemy import exc as sa

__all__ = ["Kind", "RecordGuard", "TransientError", "classify", "describe"]

Kind = Literal["transient", "record", "unforeseen"]


class TransientError(Exception):
    """Raised by drx code for a failure that passes if the record is read again later."""


_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
"""Serialization failure, deadlock, lock not available, admin/crash shutdown, cannot connect now."""
_TRANSIENT_CLASSES = {"08", "53"}  # connection exception, insufficient resources
_RECORD_CLASSES = {"22", "23"}  # data exception, integrity constraint violation
_RACED = "23505"  # unique violation: another worker inserted the same row first; worth a retry
_RECORD_ERRORS = (RecursionError, OverflowError, UnicodeError)
_TRANSIENT_ERRORS = (
    sa.OperationalError,
    sa.InterfaceError,
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
    sa.DisconnectionError,
    sa.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
_MESSAGE_CHARS = 300


def sqlstate(error: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind a SQLAlchemy or psycopg error, if there is one."""
    orig = getattr(error, "orig", None) or error
    code = getattr(orig, "sqlstate", None)
    return code if isinstance(code, str) else None


def classify(error: BaseException) -> Kind:
    """Whose fault ``error`` is: the surroundings', the record's, or nobody knows."""
    if isinstance(error, TransientError):
        return "transient"
    code = sqlstate(error)
    if code is not None:
        if code in _TRANSIENT_SQLSTATES or code[:2] in _TRANSIENT_CLASSES:
            return "transient"
        if code[:2] in _RECORD_CLASSES and code != _RACED:
            return "record"
        return "unforeseen"  # 57014 (a statement timeout) included: the record may be the cause
    if isinstance(error, _RECORD_ERRORS):
        return "record"
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return "transient"
    # No SQLSTATE: the server was never reached (refused, reset, timed out) or the pool was empty.
    if isinstance(error, _TRANSIENT_ERRORS):
        return "transient"
    return "unforeseen"


def describe(error: BaseException) -> str:
    """The exception's class and message, short and without SQL or its parameters.

    SQLAlchemy's own message quotes the statement and its parameters, which may hold contact
    details; for a database error only PostgreSQL's primary message and SQLSTATE are kept.
    """
    orig = getattr(error, "orig", None) if isinstance(error, sa.DBAPIError) else None
    if orig is not None:
        diag = getattr(orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(orig).splitlines()[0]
        name = type(orig).__name__
        code = sqlstate(error)
        text = f"{name}: {message}" + (f" (SQLSTATE {code})" if code else "")
    else:
        first = str(error).splitlines()[0] if str(error) else ""
        text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


class RecordGuard:
    """Counts failed attempts per record and says when a failed record is to be refused.

    ``key`` names one record (its Kafka position, say). At most ``remember`` records are
    counted at a time, the oldest forgotten first, so memory stays bounded whatever arrives.
    """

    def __init__(self, attempts: int, *, remember: int = 10_000) -> None:
        if attempts < 1:
            raise ValueError("a record gets at least one attempt")
        self.attempts = attempts
        self._remember = remember
        self._failures: OrderedDict[str, int] = OrderedDict()

    def refusal(self, key: str, error: BaseException) -> str | None:
        """The reason to refuse the record with, or None to read it again (re-raise ``error``)."""
        kind = classify(error)
        if kind == "transient":
            return None
        if kind == "record":
            self._failures.pop(key, None)
            return f"could not be applied: {describe(error)}"
        failures = self._failures.pop(key, 0) + 1
        if failures < self.attempts:
            self._failures[key] = failures
            while len(self._failures) > self._remember:
                self._failures.popitem(last=False)
            return None
        return (
            f"could not be applied after {failures} attempts: {describe(error)}; "
            "operators can replay it from the rejected topic once the cause is fixed"
        )

    def succeeded(self, key: str) -> None:
        """The record went through: forget its failures."""
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        """How many times the record has failed so far without being refused (for tests and logs)."""
        return self._failures.get(key, 0)
