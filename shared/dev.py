"""``drx dev up|down|status``: a local stack that outlives the command that started it.

State (pids, ports, data directories) is kept in ``$DRX_STATE_DIR`` (default
``~/.local/state/drx/dev``) so ``drx dev down`` can stop exactly what ``up`` started.
The stack is ephemeral: ``down`` removes the database too, because the default broker
(tansu, memory-only) forgets its topics when it stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from shared.config import KafkaSettings
from shared.db.migrate import upgrade
from shared.infra._process import pid_alive, stop_process
from shared.infra.kafka import ApacheKafkaServer
from shared.infra.postgres import EmbeddedPostgres
from shared.infra.tansu import TansuServer
from shared.kafka.admin import create_topics

__all__ = ["DevStack", "dev_down", "dev_status", "dev_up", "state_dir"]

BrokerKind = Literal["tansu", "apache"]


def state_dir() -> Path:
    if explicit := os.environ.get("DRX_STATE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "drx" / "dev"


@dataclass
class DevStack:
    """What ``drx dev up`` started."""

    broker: BrokerKind
    broker_pid: int
    bootstrap_servers: str
    database_url: str
    pg_workdir: str
    kafka_workdir: str | None = None

    @property
    def psql_url(self) -> str:
        """The database URL as libpq spells it (``psql URL`` accepts it; the ``+psycopg`` of
        SQLAlchemy's dialect name it refuses)."""
        scheme, rest = self.database_url.split("://", 1)
        return f"{scheme.split('+', 1)[0]}://{rest}"

    def env(self) -> dict[str, str]:
        """The variables that point every drx command at this stack."""
        env = {
            "DRX_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "DRX_DATABASE_URL": self.database_url,
            # a developer's webhook receiver listens on this machine; production allows none
            "DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
        }
        if self.broker == "tansu":  # tansu rejects aiokafka's InitProducerId (see KafkaSettings)
            env["DRX_KAFKA_IDEMPOTENT_PRODUCER"] = "false"
        return env


def _state_file() -> Path:
    return state_dir() / "stack.json"


def dev_status() -> DevStack | None:
    """The running stack, or None. A stale state file (processes gone) counts as none."""
    path = _state_file()
    if not path.exists():
        return None
    stack = DevStack(**json.loads(path.read_text()))
    pg = EmbeddedPostgres(Path(stack.pg_workdir), persistent=True)
    if not pid_alive(stack.broker_pid) or not pg.is_running():
        return None
    return stack


def dev_up(*, broker: BrokerKind = "tansu", kafka_port: int = 9092, partitions: int = 3) -> DevStack:
    """Start broker + PostgreSQL, migrate the database, create the topics; return the stack."""
    if (running := dev_status()) is not None:
        return running
    dev_down()  # clear a stale state file and anything half-started
    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    kafka_workdir: Path | None = None
    server: TansuServer | ApacheKafkaServer
    if broker == "tansu":
        server = TansuServer(kafka_port, log_path=root / "tansu.log", tied_to_parent=False)
    else:
        kafka_workdir = root / "kafka"
        # The launcher copies its log4j2.properties into this directory before the JVM starts;
        # on a first run nothing under the state dir exists yet.
        kafka_workdir.mkdir(parents=True, exist_ok=True)
        server = ApacheKafkaServer(kafka_workdir, port=kafka_port, tied_to_parent=False)
    bootstrap = server.start()
    assert server.pid is not None
    pg = EmbeddedPostgres(root / "postgres", persistent=True)
    try:
        url = pg.start()
        upgrade(url)
        asyncio.run(create_topics(KafkaSettings(bootstrap_servers=bootstrap, partitions=partitions)))
    except BaseException:
        server.stop()
        pg.stop()
        raise
    stack = DevStack(
        broker=broker,
        broker_pid=server.pid,
        bootstrap_servers=bootstrap,
        database_url=url,
        pg_workdir=str(pg.workdir),
        kafka_workdir=str(kafka_workdir) if kafka_workdir else None,
    )
    _state_file().write_text(json.dumps(asdict(stack), indent=2))
    # The servers must outlive this process: forget them so no exit hook stops them.
    server.pid = None
    return stack


def dev_down() -> bool:
    """Stop what ``up`` started and remove its data. Returns False when nothing was running."""
    path = _state_file()
    if not path.exists():
        return False
    stack = DevStack(**json.loads(path.read_text()))
    if pid_alive(stack.broker_pid) and _is_ours(stack.broker_pid, stack.broker):
        stop_process(stack.broker_pid, timeout=30)
    EmbeddedPostgres(Path(stack.pg_workdir), persistent=True).stop()
    shutil.rmtree(stack.pg_workdir, ignore_errors=True)
    if stack.kafka_workdir:
        shutil.rmtree(stack.kafka_workdir, ignore_errors=True)
    path.unlink(missing_ok=True)
    return True


def _is_ours(pid: int, broker: BrokerKind) -> bool:
    """Guard against a recycled pid: only stop a process that looks like the broker we started."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the state file
    return (b"tansu" in cmdline) if broker == "tansu" else (b"kafka.Kafka" in cmdline)
