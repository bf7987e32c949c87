"""`drx dev up` on the embedded default (tansu + embedded PostgreSQL), used, then `drx dev down`."""

import asyncio
import os
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.config import DatabaseSettings, KafkaSettings, Settings
from shared.infra._process import free_port, pid_alive
from shared.smoke import smoke_round_trip
from tests.support.cli import run_drx


def drx(*args, env, check=True):
    result = run_drx(*args, env=env, timeout=180)
    if check and result.returncode != 0:
        pytest.fail(f"drx {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def dev_env(tmp_path):
    env = {**os.environ, "DRX_STATE_DIR": str(tmp_path / "state"), "DRX_LOG_LEVEL": "WARNING"}
    yield env
    drx("dev", "down", env=env, check=False)


def test_up_use_down(dev_env):
    port = free_port()
    drx("dev", "up", "--kafka-port", str(port), env=dev_env)
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in drx("dev", "env", env=dev_env).stdout.splitlines()
    )
    assert exports["DRX_KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{port}"
    status = drx("dev", "status", env=dev_env)
    assert "running" in status.stdout

    # The stack outlived the command that started it, and it is usable: topics exist, a
    # FastStream worker consumes from it and writes to its database.
    settings = Settings(
        kafka=KafkaSettings(
            bootstrap_servers=exports["DRX_KAFKA_BOOTSTRAP_SERVERS"],
            idempotent_producer=exports["DRX_KAFKA_IDEMPOTENT_PRODUCER"] == "true",
        ),
        database=DatabaseSettings(url=SecretStr(exports["DRX_DATABASE_URL"].strip("'"))),
    )
    assert asyncio.run(smoke_round_trip(settings)).startswith("smoke-")

    stack_pid = int(
        next(p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _is_tansu_on(p, port))
    )
    drx("dev", "down", env=dev_env)
    assert not pid_alive(stack_pid)
    assert drx("dev", "status", env=dev_env, check=False).returncode == 1
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_up_refuses_a_busy_port(dev_env):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = drx("dev", "up", "--kafka-port", str(port), env=dev_env, check=False)
    assert result.returncode != 0
    assert f"port {port}" in result.stderr
    assert "already in use" in result.stderr


def _is_tansu_on(proc_dir, port):
    try:
        cmdline = (proc_dir / "cmdline").read_bytes()
    except OSError:
        return False
    return b"tansu" in cmdline and f":{port}".encode() in cmdline


def test_apache_up_on_a_fresh_state_directory(tmp_path):
    """Issue 16, item 12: ``--broker apache`` once failed on a state directory that did not exist
    yet (``…/state/kafka/log4j2.properties`` not found). The state dir here comes from
    ``XDG_STATE_HOME``, as on a developer's first run, and nothing under it exists beforehand."""
    env = {key: value for key, value in os.environ.items() if key != "DRX_STATE_DIR"}
    env |= {"XDG_STATE_HOME": str(tmp_path / "xdg-state"), "DRX_LOG_LEVEL": "WARNING"}
    state = tmp_path / "xdg-state" / "drx" / "dev"
    assert not state.exists()
    port = free_port()
    try:
        drx("dev", "up", "--broker", "apache", "--kafka-port", str(port), env=env)
        assert (state / "kafka" / "log4j2.properties").is_file()
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in drx("dev", "env", env=env).stdout.splitlines()
        )
        assert exports["DRX_KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{port}"
        assert "DRX_KAFKA_IDEMPOTENT_PRODUCER" not in exports  # Apache Kafka takes the idempotent producer
        settings = Settings(
            kafka=KafkaSettings(bootstrap_servers=exports["DRX_KAFKA_BOOTSTRAP_SERVERS"]),
            database=DatabaseSettings(url=SecretStr(exports["DRX_DATABASE_URL"].strip("'"))),
        )
        assert asyncio.run(smoke_round_trip(settings)).startswith("smoke-")
        broker_pid = int(
            next(p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _is_kafka_on(p, state))
        )
    finally:
        drx("dev", "down", env=env, check=False)
    assert not pid_alive(broker_pid)
    assert not (state / "kafka").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def _is_kafka_on(proc_dir, state):
    try:
        cmdline = (proc_dir / "cmdline").read_bytes()
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline and str(state / "kafka").encode() in cmdline
