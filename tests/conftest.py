"""Session-wide real Kafka and PostgreSQL; per-test isolated topics and a clean migrated database.

Tests ask only for ``kafka`` (a :class:`KafkaTestEnv`) and ``database`` (a :class:`DatabaseTestEnv`).
The servers start once per session, chosen by :mod:`tests.support.infra`.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from shared.config import DatabaseSettings, KafkaSettings, ScheduleSettings, Settings
from tests.support.databases import Databases
from tests.support.infra import RunningServer, kafka_server, postgres_server


@dataclass
class KafkaTestEnv:
    """A real broker plus a topic prefix no other test uses."""

    server: RunningServer
    settings: KafkaSettings

    @property
    def bootstrap_servers(self) -> str:
        return self.settings.bootstrap_servers


@dataclass
class DatabaseTestEnv:
    """A freshly migrated database of its own."""

    server: RunningServer
    settings: DatabaseSettings

    @property
    def url(self) -> str:
        return self.settings.sqlalchemy_url


@pytest.fixture(scope="session")
def kafka_broker(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    with kafka_server() as server:
        yield server
        if request.session.testsfailed and server.log_tail is not None:
            # The broker's warnings are the first thing to read when a test timed out on Kafka;
            # its working directory is gone once the session ends.
            tail = server.log_tail(80)
            print(f"\n--- the session's Kafka broker log (last lines) ---\n{tail}", file=sys.__stderr__)


@pytest.fixture(scope="session")
def postgres() -> Iterator[RunningServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def databases(postgres: RunningServer) -> Iterator[Databases]:
    """The session's source of fresh databases: copies of one template, migrated once."""
    factory = Databases(postgres.address)
    yield factory
    factory.drop_template()


@pytest.fixture
def database(postgres: RunningServer, databases: Databases) -> Iterator[DatabaseTestEnv]:
    url = databases.create()
    yield DatabaseTestEnv(postgres, DatabaseSettings(url=SecretStr(url), pool_size=5))
    databases.drop(url)


@pytest.fixture
async def kafka(kafka_broker: RunningServer) -> AsyncIterator[KafkaTestEnv]:
    """Isolation by prefix: topics this test creates are named ``t<random>.…`` and deleted after."""
    from aiokafka.admin import AIOKafkaAdminClient

    settings = KafkaSettings(
        bootstrap_servers=kafka_broker.address, topic_prefix=f"t{uuid.uuid4().hex[:10]}.", partitions=3
    )
    yield KafkaTestEnv(kafka_broker, settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@pytest.fixture
def settings(kafka: KafkaTestEnv, database: DatabaseTestEnv) -> Settings:
    """Settings for a drx process wired to this test's topics and database.

    Scheduled jobs are off: tests that are about them drive a runner with a hand-moved clock.
    """
    return Settings(
        kafka=kafka.settings, database=database.settings, schedule=ScheduleSettings(enabled=False)
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="fault suite: thousands of events per scenario instead of a few hundred",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration/ and tests/faults/ talks to real servers."""
    for item in items:
        if "/integration/" in str(item.path) or "/faults/" in str(item.path):
            item.add_marker(pytest.mark.integration)
