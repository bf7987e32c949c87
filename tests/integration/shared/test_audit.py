"""The audit trail on a real PostgreSQL: written with the change, chained under concurrency, append-only,
and tampering (as superuser, around the guard) caught by ``drx audit verify``."""

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import json
import random

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from typer.testing import CliRunner

from services.cli.audit import audit_app
from shared import audit
from shared.db.models import AuditRecordRow, OutboxMessage, ProcessedEvent
from shared.db.session import create_engine, create_session_factory

PREFIX = "t-audit."


def entry(n: int, **changes) -> audit.AuditEntry:
    fields = {
        "actor": "urn:drx:org:trc",
        "action": "need.revised",
        "entity_type": "need",
        "entity_id": f"need-{n}",
        "before": {"quantity": "10"},
        "after": {"quantity": str(n), "needed_by": dt.date(2026, 12, 1)},
        "causing_event_id": f"e-{n}",
        "correlation_id": f"c-{n}",
    }
    return audit.AuditEntry(**{**fields, **changes})


@pytest.fixture
async def sessions(database):
    engine = create_engine(database.settings.model_copy(update={"pool_size": 25}))
    yield create_session_factory(engine)
    await engine.dispose()


async def rows(sessions) -> list[AuditRecordRow]:
    async with sessions() as session:
        return list(await session.scalars(select(AuditRecordRow).order_by(AuditRecordRow.seq)))


async def verified(sessions) -> audit.ChainReport:
    async with sessions() as session:
        return await audit.verify_database(session)


async def write(sessions, *numbers: int) -> None:
    async with sessions.begin() as session:
        for n in numbers:
            audit.record(session, PREFIX, entry(n))


class TestWrittenWithTheChange:
    async def test_records_are_written_when_the_transaction_commits(self, sessions):
        async with sessions.begin() as session:
            session.add(ProcessedEvent(consumer="t", event_id="e-1"))
            audit.record(session, PREFIX, entry(1))
            audit.record(session, PREFIX, entry(2, before=None, action="need.accepted"))
            assert await session.scalar(select(AuditRecordRow.seq)) is None  # nothing before commit
        stored = await rows(sessions)
        assert [(r.seq, r.entity_id, r.action) for r in stored] == [
            (1, "need-1", "need.revised"),
            (2, "need-2", "need.accepted"),
        ]
        assert stored[0].prev_hash == audit.GENESIS_HASH
        assert stored[1].prev_hash == stored[0].hash
        assert stored[0].after == {"quantity": "1", "needed_by": "2026-12-01"}
        assert stored[1].before is None
        async with sessions() as session:
            outbox = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        events = [json.loads(m.payload) for m in outbox]
        assert [m.topic for m in outbox] == [f"{PREFIX}audit"] * 2
        assert [e["id"] for e in events] == ["audit:1", "audit:2"]
        assert {e["type"] for e in events} == {"org.drx.audit.recorded"}
        assert [e["data"]["hash"] for e in events] == [r.hash for r in stored]
        assert (await verified(sessions)).count == 2

    async def test_a_rolled_back_transaction_writes_nothing_and_leaves_no_gap(self, sessions):
        await write(sessions, 1)
        async with sessions() as session, session.begin() as tx:
            audit.record(session, PREFIX, entry(2))
            session.add(ProcessedEvent(consumer="t", event_id="e-2"))
            await tx.rollback()
        session = sessions()
        audit.record(session, PREFIX, entry(3))
        await session.close()  # closed without commit: rolled back
        await write(sessions, 4)
        assert [(r.seq, r.entity_id) for r in await rows(sessions)] == [(1, "need-1"), (2, "need-4")]
        assert (await verified(sessions)).problem is None

    async def test_a_rolled_back_savepoint_drops_only_its_records(self, sessions):
        async with sessions.begin() as session:
            audit.record(session, PREFIX, entry(1))
            savepoint = await session.begin_nested()
            audit.record(session, PREFIX, entry(2))
            await savepoint.rollback()
            async with session.begin_nested():
                audit.record(session, PREFIX, entry(3))
        assert [r.entity_id for r in await rows(sessions)] == ["need-1", "need-3"]

    async def test_a_failed_commit_writes_no_record(self, sessions):
        async with sessions.begin() as session:
            session.add(ProcessedEvent(consumer="t", event_id="dup"))
        async with sessions() as session:
            audit.record(session, PREFIX, entry(1))
            session.add(ProcessedEvent(consumer="t", event_id="dup"))
            with pytest.raises(DBAPIError):
                await session.commit()  # fails at the flush, before the chain is touched
        assert await rows(sessions) == []

    async def test_a_factory_without_the_hooks_cannot_change_state_without_its_record(self, sessions):
        plain = async_sessionmaker(sessions.kw["bind"])  # not made by create_session_factory

        async def change_and_record() -> None:
            async with plain.begin() as session:
                session.add(ProcessedEvent(consumer="t", event_id="e-1"))
                audit.record(session, PREFIX, entry(1))

        with pytest.raises(audit.AuditNotInstalledError):
            await change_and_record()
        async with sessions() as session:
            assert await session.scalar(select(ProcessedEvent.event_id)) is None  # rolled back
        assert await rows(sessions) == []
        await write(sessions, 2)  # the same engine, through drx's factory: written
        assert [r.entity_id for r in await rows(sessions)] == ["need-2"]

    async def test_concurrent_transactions_make_one_contiguous_chain(self, sessions):
        """20 sessions at once, each with several records and some rolling back: one verified chain."""

        async def worker(w: int) -> int:
            await asyncio.sleep(random.random() / 50)
            async with sessions() as session, session.begin() as tx:
                await session.execute(text("SELECT pg_sleep(:s)"), {"s": random.random() / 50})
                for i in range(3):
                    audit.record(session, PREFIX, entry(w * 10 + i))
                    await asyncio.sleep(0)
                if w % 7 == 3:
                    await tx.rollback()
                    return 0
            return 3

        written = sum(await asyncio.gather(*(worker(w) for w in range(20))))
        report = await verified(sessions)
        assert report.problem is None
        assert report.count == written == 51
        stored = await rows(sessions)
        assert [r.seq for r in stored] == list(range(1, 52))
        for first in range(0, 51, 3):  # each transaction's records stay together, in order
            ids = [int(r.entity_id.removeprefix("need-")) for r in stored[first : first + 3]]
            assert ids == [ids[0], ids[0] + 1, ids[0] + 2]


class TestAppendOnly:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_log SET actor = 'someone else' WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq = 1",
            "TRUNCATE audit_log",
            "UPDATE audit_log SET actor = actor WHERE false",  # refused even when no row matches
        ],
    )
    async def test_changing_a_record_is_refused_by_the_database(self, sessions, statement):
        await write(sessions, 1)
        with pytest.raises(DBAPIError, match="audit_log is append-only"):
            async with sessions.begin() as session:
                await session.execute(text(statement))
        assert len(await rows(sessions)) == 1

    def test_public_may_not_update_delete_or_truncate(self, database):
        with psycopg.connect(_libpq(database.url)) as conn:
            granted = conn.execute(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE table_name = 'audit_log' AND grantee = 'PUBLIC'"
            ).fetchall()
        assert not {p for (p,) in granted} & {"UPDATE", "DELETE", "TRUNCATE"}


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _as_superuser(database, *statements: str) -> None:
    """Tamper the way only a superuser can: with the guard switched off."""
    with psycopg.connect(_libpq(database.url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _drx_audit(database, *args: str):
    return CliRunner().invoke(audit_app, list(args), env={"DRX_DATABASE_URL": database.url})


def _chain_of(database, count: int) -> None:
    async def fill() -> None:
        engine = create_engine(database.settings)
        try:
            sessions = create_session_factory(engine)
            for n in range(1, count + 1):
                await write(sessions, n)
        finally:
            await engine.dispose()

    asyncio.run(fill())


class TestVerifyCommand:
    def test_an_intact_chain_verifies(self, database):
        _chain_of(database, 5)
        result = _drx_audit(database, "verify", "--batch-size", "2")
        assert result.exit_code == 0, result.output
        last = asyncio.run(_last_hash(database))
        assert f"audit chain verified: 5 records, last hash {last}" in result.output

    def test_an_empty_chain_verifies(self, database):
        result = _drx_audit(database, "verify")
        assert result.exit_code == 0, result.output
        assert "audit chain verified: 0 records" in result.output

    def test_a_changed_record_is_named(self, database):
        _chain_of(database, 5)
        _as_superuser(
            database,
            "SET session_replication_role = replica",
            """UPDATE audit_log SET after = '{"quantity": "4000"}' WHERE seq = 3""",
        )
        result = _drx_audit(database, "verify", "--batch-size", "2")
        assert result.exit_code == 1
        assert "audit chain broken at record 3 (need need-3, need.revised): hash mismatch" in result.output
        assert "the 2 records before it verify" in result.output

    def test_a_deleted_record_is_named(self, database):
        _chain_of(database, 5)
        _as_superuser(
            database,
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
            "DELETE FROM audit_log WHERE seq = 2",
            "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
        )
        result = _drx_audit(database, "verify")
        assert result.exit_code == 1
        assert "audit chain broken at record 3 (need need-3, need.revised): gap: record 2 is missing" in (
            result.output
        )

    def test_a_rewritten_record_with_a_fresh_hash_breaks_the_next_link(self, database):
        _chain_of(database, 4)
        forged = asyncio.run(_forge(database, 2))
        _as_superuser(
            database,
            "SET session_replication_role = replica",
            f"UPDATE audit_log SET actor = 'someone else', hash = '{forged}' WHERE seq = 2",
        )
        result = _drx_audit(database, "verify")
        assert result.exit_code == 1
        assert "record 3 (need need-3, need.revised): broken link" in result.output


async def _last_hash(database) -> str | None:
    engine = create_engine(database.settings)
    try:
        async with create_session_factory(engine)() as session:
            return await session.scalar(select(AuditRecordRow.hash).order_by(AuditRecordRow.seq.desc()))
    finally:
        await engine.dispose()


async def _forge(database, seq: int) -> str:
    engine = create_engine(database.settings)
    try:
        async with create_session_factory(engine)() as session:
            row = await session.get(AuditRecordRow, seq)
            assert row is not None
            rec = audit.AuditRecord.from_row(row)
    finally:
        await engine.dispose()
    return dataclasses.replace(rec, actor="someone else").computed_hash()


class TestExportCommand:
    def test_csv_with_an_hxl_row(self, database, tmp_path):
        _chain_of(database, 3)
        out = tmp_path / "audit.csv"
        result = _drx_audit(
            database, "export", "--since", "2000-01-01", "--format", "csv", "--output", str(out)
        )
        assert result.exit_code == 0, result.output
        assert "exported 3 audit records (records 1-3)" in result.output
        table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
        assert table[0][:3] == ["seq", "at", "actor"]
        assert table[1][:3] == ["#meta+seq", "#date", "#meta+actor"]
        assert [row[0] for row in table[2:]] == ["1", "2", "3"]

    def test_jsonl_recomputes_and_respects_the_window(self, database):
        _chain_of(database, 3)
        result = _drx_audit(database, "export", "--since", "2000-01-01T00:00:00+02:00", "--format", "jsonl")
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [line["seq"] for line in lines] == [1, 2, 3]
        for line in lines:
            stored = line.pop("hash")
            assert audit.record_hash(line) == stored
        later = _drx_audit(database, "export", "--since", "2999-01-01")
        assert later.exit_code == 0
        assert later.stdout == ""
        none_yet = _drx_audit(database, "export", "--since", "2000-01-01", "--until", "2000-01-02")
        assert none_yet.stdout == ""

    def test_a_bad_date_is_refused(self, database):
        result = _drx_audit(database, "export", "--since", "last tuesday")
        assert result.exit_code == 2
        assert "is not a date" in result.output
