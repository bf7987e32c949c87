"""Which failures keep a record's offset, and which refuse the record (shared/failures.py)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import exc as sa

from shared.failures import RecordGuard, TransientError, classify, describe


class _PgError(Exception):
    """Stands in for a psycopg error: what drx reads of one is its ``sqlstate`` and ``diag``."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.diag = type("Diag", (), {"message_primary": message})()


def _db_error(sqlstate: str, message: str = "boom", *, params: dict[str, str] | None = None) -> sa.DBAPIError:
    return sa.DBAPIError("INSERT INTO pledges VALUES (%(contact)s)", params, _PgError(sqlstate, message))


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_db_error("22003", "numeric field overflow"), "record"),
        (_db_error("22P05", "unsupported Unicode escape sequence"), "record"),
        (_db_error("23514", "new row violates check constraint"), "record"),
        (_db_error("23505", "duplicate key value"), "unforeseen"),  # raced by another worker
        (_db_error("40P01", "deadlock detected"), "transient"),
        (_db_error("40001", "could not serialize access"), "transient"),
        (_db_error("55P03", "could not obtain lock"), "transient"),
        (_db_error("57P01", "terminating connection due to administrator command"), "transient"),
        (_db_error("08006", "connection failure"), "transient"),
        (_db_error("53300", "too many connections"), "transient"),
        (_db_error("57014", "canceling statement due to statement timeout"), "unforeseen"),
        (_db_error("42703", "column does not exist"), "unforeseen"),  # a bug: bounded attempts
        (sa.OperationalError("SELECT 1", None, psycopg.OperationalError("connection refused")), "transient"),
        (psycopg.OperationalError("connection refused"), "transient"),
        (ConnectionResetError("reset by peer"), "transient"),
        (TimeoutError(), "transient"),
        (TransientError("raced"), "transient"),
        (RecursionError("maximum recursion depth exceeded"), "record"),
        (OverflowError("date value out of range"), "record"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "record"),
        (ValueError("year 33658 is out of range"), "unforeseen"),
        (KeyError("spec"), "unforeseen"),
        (AssertionError(), "unforeseen"),
    ],
)
def test_each_failure_is_classified(error: BaseException, kind: str) -> None:
    assert classify(error) == kind


def test_a_database_error_is_described_without_the_statement_or_its_parameters() -> None:
    error = _db_error("22003", "numeric field overflow", params={"contact": "amina@example.org"})
    assert "amina@example.org" in str(error)  # what SQLAlchemy would print
    text = describe(error)
    assert text == "_PgError: numeric field overflow (SQLSTATE 22003)"
    assert "INSERT" not in text


def test_a_description_is_one_short_line() -> None:
    text = describe(ValueError("x" * 5000 + "\nsecond line"))
    assert text.startswith("ValueError: xxx")
    assert len(text) <= 300
    assert "\n" not in text
    assert describe(KeyError()) == "KeyError"


def test_a_record_caused_failure_is_refused_at_once() -> None:
    guard = RecordGuard(3)
    reason = guard.refusal("kafka t/0/7", _db_error("22003", "numeric field overflow"))
    assert reason == "could not be applied: _PgError: numeric field overflow (SQLSTATE 22003)"


def test_an_unforeseen_failure_is_refused_on_the_last_attempt_only() -> None:
    guard = RecordGuard(3)
    error = RuntimeError("the rules broke")
    assert guard.refusal("kafka t/0/7", error) is None
    assert guard.refusal("kafka t/0/7", error) is None
    assert guard.failures("kafka t/0/7") == 2
    reason = guard.refusal("kafka t/0/7", error)
    assert reason is not None
    assert reason.startswith("could not be applied after 3 attempts: RuntimeError: the rules broke")
    assert guard.failures("kafka t/0/7") == 0


def test_a_transient_failure_is_never_refused_nor_counted() -> None:
    guard = RecordGuard(1)
    for _ in range(10):
        assert guard.refusal("kafka t/0/7", ConnectionRefusedError()) is None
    assert guard.failures("kafka t/0/7") == 0


def test_success_forgets_the_failures_and_records_are_counted_apart() -> None:
    guard = RecordGuard(2)
    assert guard.refusal("a", RuntimeError()) is None
    assert guard.refusal("b", RuntimeError()) is None
    guard.succeeded("a")
    assert guard.refusal("a", RuntimeError()) is None  # a fresh count
    assert guard.refusal("b", RuntimeError()) is not None


def test_the_counts_are_bounded() -> None:
    guard = RecordGuard(5, remember=100)
    for offset in range(1000):
        guard.refusal(f"kafka t/0/{offset}", RuntimeError())
    assert guard.failures("kafka t/0/999") == 1
    assert guard.failures("kafka t/0/0") == 0  # forgotten, the oldest first


def test_a_guard_gives_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RecordGuard(0)
