"""The real stack the benchmarks run on: Apache Kafka from jars, embedded PostgreSQL, worker processes.

The same launchers as the test suite (``shared.infra``); every benchmark gets its own topic prefix
and a freshly migrated database, so runs never see each other's state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from shared.config import DatabaseSettings, KafkaSettings, ScheduleSettings, Settings
from shared.db.migrate import upgrade
from shared.infra._process import free_port

__all__ = ["Stack", "WorkerProcess", "memory_mib", "running_stack", "settings_for", "wait_ready"]


@dataclass
class Stack:
    """A running broker and PostgreSQL server; ``database()`` hands out fresh migrated databases."""

    bootstrap_servers: str
    server_url: str  # SQLAlchemy URL of a database we may CREATE DATABASE from
    _template: str | None = None

    def _admin(self) -> psycopg.Connection:
        conninfo = (
            make_url(self.server_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        return psycopg.connect(conninfo, autocommit=True)

    def database(self) -> str:
        """A new database with every migration applied (copied from one migrated template)."""
        if self._template is None:
            self._template = f"drx_bench_template_{uuid.uuid4().hex[:8]}"
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{self._template}"')
            upgrade(self._url(self._template))
        name = f"drx_bench_{uuid.uuid4().hex[:10]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return self._url(name)

    def _url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)


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


@dataclass
class WorkerProcess:
    """``drx run <service>`` in its own OS process, as an operator runs it, logging JSON to a file."""

    service: str
    settings: Settings
    log_path: Path
    health_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DRX_KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka.bootstrap_servers,
            "DRX_KAFKA_TOPIC_PREFIX": self.settings.kafka.topic_prefix,
            "DRX_DATABASE_URL": self.settings.database.sqlalchemy_url,
            "DRX_LOG_FORMAT": "json",
            "DRX_LOG_LEVEL": "INFO",
            "DRX_SCHEDULE_ENABLED": "false",
            "DRX_HEALTH_HOST": "127.0.0.1",
            "DRX_HEALTH_PORT": str(self.health_port),
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # our own interpreter and CLI
                [sys.executable, "-m", "services.cli", "run", self.service],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ready(self) -> bool:
        """``/readyz`` answers 200: consuming, and Kafka and PostgreSQL answer."""
        assert self.process is not None
        if self.process.poll() is not None:
            msg = f"drx run {self.service} exited with {self.process.returncode}; see {self.log_path}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 60) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_ready(workers: list[WorkerProcess], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not all(w.ready() for w in workers):
        if time.monotonic() > deadline:
            msg = f"workers not ready within {timeout}s"
            raise TimeoutError(msg)
        time.sleep(0.2)
