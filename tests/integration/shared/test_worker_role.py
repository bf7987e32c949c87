"""The workers' database role (``drx db grant-worker``): all workers do works; rewriting audit does not."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from services.cli.schema import db_app
from shared import audit
from shared.config import DatabaseSettings, Settings
from shared.db.models import AuditRecordRow
from shared.db.session import create_engine, create_session_factory
from shared.kafka.topics import CANONICAL, REJECTED
from tests.support import builders as b
from tests.support.pipeline import running_pipeline

COORD, ORG, _, _ = (s[0] for s in b.SOURCES)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def worker_db(database) -> Iterator[DatabaseSettings]:
    """A login role of the test's own, made a member of a worker role of its own by ``drx db grant-worker``.

    Roles belong to the whole server, so both are named for this test and dropped after it.
    """
    suffix = uuid.uuid4().hex[:10]
    group, login = f"drx_worker_{suffix}", f"drx_login_{suffix}"
    with psycopg.connect(_libpq(database.url), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{login}" LOGIN')
    try:
        for _ in range(2):  # safe to repeat
            result = CliRunner().invoke(
                db_app,
                ["grant-worker", "--role", group, "--member", login],
                env={"DRX_DATABASE_URL": database.url},
            )
            assert result.exit_code == 0, result.output
            assert f"role {group} may use every drx table" in result.output
        url = make_url(database.url).set(username=login, password=None)
        yield database.settings.model_copy(
            update={"url": SecretStr(url.render_as_string(hide_password=False))}
        )
    finally:
        with psycopg.connect(_libpq(database.url), autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{login}", "{group}"')
            conn.execute(f'DROP ROLE IF EXISTS "{login}"')
            conn.execute(f'DROP ROLE IF EXISTS "{group}"')


def _as_worker(worker_db: DatabaseSettings, statement: str) -> None:
    with psycopg.connect(_libpq(worker_db.sqlalchemy_url), autocommit=True) as conn:
        conn.execute(statement)


async def test_a_worker_appends_to_the_chain(worker_db):
    engine = create_engine(worker_db)
    try:
        sessions = create_session_factory(engine)
        for n in (1, 2):
            async with sessions.begin() as session:
                audit.record(session, "t.", audit.AuditEntry("drx:test", "need.revised", "need", f"n-{n}"))
        async with sessions() as session:
            assert (await audit.verify_database(session)).count == 2
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("UPDATE audit_log SET actor = 'someone else'", errors.InsufficientPrivilege),
        ("DELETE FROM audit_log", errors.InsufficientPrivilege),
        ("TRUNCATE audit_log", errors.InsufficientPrivilege),
        ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only", errors.InsufficientPrivilege),
        ("DROP TABLE audit_log", errors.InsufficientPrivilege),
    ],
)
def test_a_worker_cannot_change_or_remove_audit_records(worker_db, statement, refusal):
    with pytest.raises(refusal):
        _as_worker(worker_db, statement)


async def test_ingest_runs_as_the_worker_role(settings, worker_db):
    """The whole of ingest's work, as the worker role: sources, entities, inbox, outbox, audit."""
    as_worker = Settings.model_validate({**dict(settings), "database": worker_db})
    async with running_pipeline(as_worker, CANONICAL, REJECTED, matchers=0) as ingest:
        await ingest.declare(b.crisis())
        await ingest.post("org.drx.need.posted", b.need("n-role"), ORG)
        await ingest.wait_row("need", "n-role", lambda r: r.status == "open")
        await ingest.out.wait_for(
            lambda rs: any(r["type"] == "org.drx.need.recorded" for r in rs), what="the need on canonical"
        )
    engine = create_engine(worker_db)
    try:
        async with create_session_factory(engine)() as session:
            count = await session.scalar(select(func.count()).select_from(AuditRecordRow))
    finally:
        await engine.dispose()
    assert count is not None
    assert count >= 2  # the crisis and the need, recorded by ingest as the worker role


def test_a_bad_role_name_is_refused(database):
    result = CliRunner().invoke(
        db_app,
        ["grant-worker", "--role", 'x"; DROP TABLE audit_log; --'],
        env={"DRX_DATABASE_URL": database.url},
    )
    assert result.exit_code == 2
    assert "is not a role name drx uses" in result.output
