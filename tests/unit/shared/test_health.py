"""The health server and what an orchestrator relies on: /livez, /readyz, /metrics, the health
settings and static group membership. Without Kafka or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker

from shared.config import HealthSettings, KafkaSettings, SettingsError, load_settings
from shared.infra._process import free_port
from shared.kafka.broker import make_broker, static_membership
from shared.observability import HealthServer

README = (Path(__file__).parents[3] / "README.md").read_text()


async def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


class Checks:
    def __init__(self) -> None:
        self.kafka: str | None = None
        self.postgres_delay = 0.0

    async def check_kafka(self, timeout: float) -> str | None:
        return self.kafka

    async def check_postgres(self, timeout: float) -> str | None:
        await asyncio.sleep(self.postgres_delay)
        return None


@pytest.fixture
async def server():
    checks = Checks()
    refreshed: list[bool] = []

    async def refresh() -> None:
        refreshed.append(True)

    port = free_port()
    health = HealthServer(
        HealthSettings(host="127.0.0.1", port=port, check_timeout_s=0.2),
        checks={"kafka": checks.check_kafka, "postgres": checks.check_postgres},
        refresh=refresh,
    )
    await health.start()
    yield health, port, checks, refreshed
    await health.stop()


class TestHealthServer:
    async def test_livez_answers_while_the_loop_runs(self, server):
        _, port, _, _ = server
        status, headers, body = await get(port, "/livez")
        assert (status, body) == (200, b"ok\n")
        assert headers["Connection"] == "close"

    async def test_readyz_is_503_until_the_worker_consumes(self, server):
        health, port, _, _ = server
        status, _, body = await get(port, "/readyz")
        assert status == 503
        assert "starting or shutting down" in json.loads(body)["reason"]
        health.serving = True
        status, headers, body = await get(port, "/readyz")
        assert status == 200
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"ready": True, "checks": {"kafka": "ok", "postgres": "ok"}}

    async def test_readyz_says_which_dependency_is_missing(self, server):
        health, port, checks, _ = server
        health.serving = True
        checks.kafka = "no answer from Kafka within 0.2s"
        checks.postgres_delay = 5  # far beyond the timeout
        status, _, body = await get(port, "/readyz")
        answer = json.loads(body)
        assert status == 503
        assert answer["checks"] == {
            "kafka": "no answer from Kafka within 0.2s",
            "postgres": "no answer within 0.2s",
        }
        assert answer["reason"].startswith("kafka: no answer")

    async def test_a_check_that_raises_means_not_ready_without_details(self, server):
        health, port, _, _ = server
        health.serving = True

        async def broken(timeout: float) -> str | None:
            msg = "password=hunter2 refused"
            raise OSError(msg)

        health._checks["postgres"] = broken
        status, _, body = await get(port, "/readyz")
        assert status == 503
        assert json.loads(body)["checks"]["postgres"] == "unreachable (OSError)"
        assert b"hunter2" not in body

    async def test_metrics_are_refreshed_then_rendered(self, server):
        _, port, _, refreshed = server
        status, headers, body = await get(port, "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=")
        assert refreshed == [True]
        text = body.decode()
        for name in ("drx_events_processed_total", "drx_outbox_backlog", "drx_match_latency_seconds_bucket"):
            assert f"# TYPE {name.removesuffix('_total').removesuffix('_bucket')}" in text
        assert "_created" not in text

    async def test_head_unknown_paths_and_other_methods(self, server):
        _, port, _, _ = server
        status, headers, body = await get(port, "/livez", method="HEAD")
        assert (status, body, headers["Content-Length"]) == (200, b"", "3")
        assert (await get(port, "/nope"))[0] == 404
        assert (await get(port, "/livez?verbose=1"))[0] == 200
        assert (await get(port, "/livez", method="POST"))[0] == 405

    async def test_port_zero_serves_nothing(self):
        health = HealthServer(HealthSettings(port=0), checks={})
        await health.start()
        assert not health.enabled
        await health.stop()

    async def test_a_taken_port_stops_the_start(self, server):
        _, port, _, _ = server
        with pytest.raises(OSError):
            await HealthServer(HealthSettings(host="127.0.0.1", port=port), checks={}).start()


class TestStaticMembership:
    def test_without_an_instance_id_nothing_is_added(self):
        broker = make_broker(KafkaSettings(), "ingest")
        assert static_membership(broker, "intake") == {}

    def test_each_subscriber_gets_its_own_instance_id(self):
        broker = make_broker(KafkaSettings(group_instance_id="drx-notify-5f7c9-x2x4k"), "notify")
        assert static_membership(broker, "matches") == {"group_instance_id": "drx-notify-5f7c9-x2x4k-matches"}
        assert static_membership(broker, "subscriptions") == {
            "group_instance_id": "drx-notify-5f7c9-x2x4k-subscriptions"
        }
        assert static_membership(KafkaBroker("x:1"), "matches") == {}

    def test_the_id_reaches_the_aiokafka_consumer(self):
        broker = make_broker(KafkaSettings(group_instance_id="pod-1"), "matching")
        subscriber = broker.subscriber("t.canonical", group_id="g", **static_membership(broker, "canonical"))
        assert subscriber._connection_args["group_instance_id"] == "pod-1-canonical"

    @pytest.mark.parametrize("name", ["", "has space", "a:b", "x" * 41])
    def test_subscriber_names_are_kafka_safe(self, name):
        with pytest.raises(ValueError, match="subscriber name"):
            static_membership(make_broker(KafkaSettings(), "x"), name)


class TestSettings:
    def test_defaults(self, monkeypatch):
        for name in ("DRX_HEALTH_HOST", "DRX_HEALTH_PORT", "DRX_KAFKA_GROUP_INSTANCE_ID"):
            monkeypatch.delenv(name, raising=False)
        settings = load_settings()
        assert (settings.health.host, settings.health.port) == ("0.0.0.0", 8080)
        assert settings.kafka.group_instance_id is None

    def test_read_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("DRX_HEALTH_PORT", "0")
        monkeypatch.setenv("DRX_KAFKA_GROUP_INSTANCE_ID", "drx-ingest-6d5b-abcde")
        settings = load_settings()
        assert settings.health.port == 0
        assert settings.kafka.group_instance_id == "drx-ingest-6d5b-abcde"

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("DRX_HEALTH_PORT", "70000"),
            ("DRX_HEALTH_PORT", "http"),
            ("DRX_HEALTH_CHECK_TIMEOUT_S", "0"),
            ("DRX_KAFKA_GROUP_INSTANCE_ID", "pod name"),
            ("DRX_KAFKA_GROUP_INSTANCE_ID", "x" * 201),
        ],
    )
    def test_invalid_values_name_the_variable(self, monkeypatch, variable, value):
        monkeypatch.setenv(variable, value)
        with pytest.raises(SettingsError, match=variable):
            load_settings()

    def test_the_readme_lists_the_settings(self):
        documented = set(re.findall(r"^\| `(DRX_[A-Z_]+)` \|", README, flags=re.MULTILINE))
        expected = {f"DRX_HEALTH_{name.upper()}" for name in HealthSettings.model_fields}
        assert expected | {"DRX_KAFKA_GROUP_INSTANCE_ID"} <= documented
