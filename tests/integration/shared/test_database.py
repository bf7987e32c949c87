"""Tests run on a real, migrated PostgreSQL database of their own."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.dialects.postgresql import insert

import shared.db.models  # noqa: F401 - registers all tables
from shared.db.base import Base
from shared.db.migrate import alembic_config
from shared.db.models import ProcessedEvent
from shared.db.session import create_engine as create_async_engine
from shared.db.session import create_session_factory


def test_models_and_migrations_agree(database):
    """A model changed without a migration (or the reverse) fails here."""
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()
    assert diff == []


def test_database_is_migrated_to_head(database):
    engine = create_engine(database.url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert {"processed_events", "outbox", "sources", "crises", "needs", "pledges"} <= tables
    assert version == ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()


async def test_write_and_read_back_with_async_session(database):
    engine = create_async_engine(database.settings)
    sessions = create_session_factory(engine)
    try:
        async with sessions.begin() as session:
            for _ in range(2):  # the second insert of the same id is a no-op, as the inbox relies on
                await session.execute(
                    insert(ProcessedEvent).values(consumer="t", event_id="e-1").on_conflict_do_nothing()
                )
        async with sessions() as session:
            rows = (await session.scalars(select(ProcessedEvent.event_id))).all()
    finally:
        await engine.dispose()
    assert rows == ["e-1"]


class TestIsolation:
    """Each test gets a clean database: whatever ran before, it starts empty."""

    def _count(self, url):
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                count = connection.execute(text("SELECT count(*) FROM processed_events")).scalar_one()
                connection.execute(
                    text("INSERT INTO processed_events (consumer, event_id) VALUES ('x', 'y')")
                )
        finally:
            engine.dispose()
        return count

    def test_first(self, database):
        assert self._count(database.url) == 0

    def test_second(self, database):
        assert self._count(database.url) == 0
