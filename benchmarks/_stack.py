"""The real stack the benchmarks run on: Apache Kafka from jars, embedded PostgreSQL, fresh databases.

The same launchers as the test suite (``shared.infra``) and the same source of migrated databases
(``tests.support.databases``); every benchmark gets its own topic prefix and database, so runs
never see each other's state. Workers run as processes with ``tests.support.workers``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from shared.config import DatabaseSettings, KafkaSettings, ScheduleSettings, Settings
from tests.support.databases import Databases

__all__ = ["Stack", "memory_mib", "running_stack", "settings_for"]


@dataclass
class Stack:
    """A running broker and PostgreSQL server; ``database()`` hands out fresh migrated databases."""

    bootstrap_servers: str
    server_url: str  # SQLAlchemy URL of a database we may CREATE DATABASE from
    _databases: Databases = field(init=False)

    def __post_init__(self) -> None:
        self._databases = Databases(self.server_url, prefix="drx_bench")

    def database(self) -> str:
        """A new database with every migration applied (copied from one migrated template)."""
        return self._databases.create()


@contextlib.contextmanager
def running_stack(bootstrap_servers: str | None = None, database_url: str | None = None) -> Iterator[Stack]:
    """Start what is not given: Apache Kafka from the Maven jars, PostgreSQL from the wheel."""
    with contextlib.ExitStack() as stack:
        if bootstrap_servers is None:
            from shared.infra.kafka import ApacheKafkaServer  # noqa: PLC0415 - only when launching

            kafka = ApacheKafkaServer(heap_mb=768)
            kafka.start()
            stack.callback(kafka.stop)
            bootstrap_servers = kafka.bootstrap_servers
        if database_url is None:
            from shared.infra.postgres import EmbeddedPostgres  # noqa: PLC0415

            postgres = EmbeddedPostgres()
            database_url = postgres.start()
            stack.callback(postgres.stop)
        yield Stack(bootstrap_servers, database_url)


def settings_for(bootstrap_servers: str, topic_prefix: str, database_url: str) -> Settings:
    return Settings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix, partitions=6),
        database=DatabaseSettings(url=SecretStr(database_url), pool_size=5),
        schedule=ScheduleSettings(enabled=False),
    )


def memory_mib(pid: int) -> dict[str, float]:
    """Resident set now (VmRSS) and its peak so far (VmHWM), in MiB, from /proc (Linux)."""
    found: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = round(int(value.split()[0]) / 1024, 1)
    return found
