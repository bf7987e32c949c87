"""Health server, metric labels and static membership, without Kafka or PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY

from shared.config import HealthSettings, KafkaSettings, SettingsError, load_settings
from shared.events.envelope import CloudEvent
from shared.intake.parsing import RawMessage
from shared.kafka.broker import make_broker, static_membership
from shared.kafka.topics import NEEDS_IN
from shared.observability import (
    HealthServer,
    dead_letter,
    event_type_of,
    notification_attempt,
    observe_match_latency,
    outbox_published,
    reason_class,
)
from shared.worker import Backoff

README = (Path(__file__).parents[3] / "README.md").read_text()
OPERATIONS = (Path(__file__).parents[3] / "docs" / "operations.md").read_text()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def envelope(event_type: str) -> CloudEvent:
    return CloudEvent.model_validate(
        {"specversion": "1.0", "id": "e1", "source": "urn:x", "type": event_type, "data": {}}
    )


def raw(value: bytes, headers: dict[str, str] | None = None) -> RawMessage:
    return RawMessage("t.intake.needs", NEEDS_IN, 0, 0, 0, value, headers or {})


class TestEventType:
    def test_a_cloud_event_names_its_type(self):
        assert event_type_of(envelope("org.drx.need.posted")) == "org.drx.need.posted"

    def test_a_raw_record_is_read_from_its_json_body(self):
        body = json.dumps({"type": "org.drx.pledge.posted", "data": {}}).encode()
        assert event_type_of(raw(body)) == "org.drx.pledge.posted"

    def test_a_binary_mode_record_is_read_from_its_header(self):
        assert event_type_of(raw(b"{}", {"ce_type": "org.drx.need.updated"})) == "org.drx.need.updated"

    @pytest.mark.parametrize(
        "message",
        [
            raw(b"not json"),
            raw(json.dumps({"type": "org.evil." + "x" * 500}).encode()),
            raw(b"[1, 2]"),
            envelope("com.example.other"),
            object(),
        ],
    )
    def test_anything_else_is_unknown(self, message):
        """Labels never take a value from input: unlisted types are one series."""
        assert event_type_of(message) == "unknown"


@dataclass
class Outcome:
    outcome: str


class TestBackoffCounts:
    async def test_a_handled_message_counts_with_its_outcome(self):
        before = sample("drx_events_processed_total", type="org.drx.need.posted", outcome="applied")

        async def handle(event: CloudEvent) -> Outcome:
            return Outcome("applied")

        await Backoff("drx.test")(handle)(envelope("org.drx.need.posted"))
        after = sample("drx_events_processed_total", type="org.drx.need.posted", outcome="applied")
        assert after == before + 1

    async def test_an_outcome_that_is_not_a_short_word_counts_as_done(self):
        before = sample("drx_events_processed_total", type="org.drx.need.withdrawn", outcome="done")

        async def handle(event: CloudEvent) -> Outcome:
            return Outcome("Applied with 3 proposals!")

        await Backoff("drx.test")(handle)(envelope("org.drx.need.withdrawn"))
        assert (
            sample("drx_events_processed_total", type="org.drx.need.withdrawn", outcome="done") == before + 1
        )

    async def test_a_failure_counts_and_still_raises(self, monkeypatch):
        monkeypatch.setattr(asyncio, "sleep", _no_sleep)
        before = sample("drx_events_failed_total", type="org.drx.pledge.updated")

        async def handle(event: CloudEvent) -> Outcome:
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError):
            await Backoff("drx.test")(handle)(envelope("org.drx.pledge.updated"))
        assert sample("drx_events_failed_total", type="org.drx.pledge.updated") == before + 1


async def _no_sleep(_seconds: float) -> None:
    return None


class TestRejectedReasons:
    @pytest.mark.parametrize(
        ("reason", "expected"),
        [
            ("message is 2000000 bytes; the limit is 1048576 bytes", "too_large"),
            ("header 'ce_id' is not valid UTF-8", "encoding"),
            ("message is not UTF-8 text (invalid byte at position 3)", "encoding"),
            ("message is not JSON: Expecting value at line 1 column 1", "not_json"),
            ("message is not a CloudEvents envelope: expected a JSON object", "envelope"),
            ("invalid CloudEvents envelope: id: field required", "envelope"),
            ("unknown event type 'x'; t.intake.needs accepts org.drx.need.posted", "event_type"),
            (
                "event type 'org.drx.pledge.posted' does not belong on t.intake.needs; it accepts …",
                "event_type",
            ),
            ("invalid org.drx.need.posted data: data.quantity: must be > 0", "schema"),
            ("the event has no data", "schema"),
            ("not authorised: source 'urn:x' is not registered; register it", "not_authorised"),
            ("unknown crisis 'c-9'", "unknown_reference"),
            ("unknown need 'n-1'", "unknown_reference"),
            ("no active subscription 's-1'", "unknown_reference"),
            ("crisis 'c-1' is closed; declare a new crisis instead", "state"),
            ("need 'n-1' is withdrawn; post a new need instead", "state"),
            ("match 'm-1' is confirmed; it cannot be rejected", "state"),
            ("need 'n-1' belongs to crisis 'c-1'; it cannot move", "state"),
            ("crisis 'c-1' is at revision 4", "state"),
            ("data.countries[0]: 'XXX' is not an ISO 3166-1 alpha-3 country code", "invalid_value"),
            (
                "data.spec.currency: no exchange rate for XAU in the rate table; data.needed_by: x",
                "invalid_value",
            ),
            (
                "internal error while applying this event (KeyError); operators can replay it",
                "internal_error",
            ),
            (
                "data.crisis_id: unknown crisis 'c-9'; data.needed_by: 2020-01-01 is in the past",
                "unknown_reference",
            ),
            ("data.earmarks.crises[0]: unknown crisis 'c-9'", "unknown_reference"),
            ("something nobody foresaw", "other"),
        ],
    )
    def test_reasons_fall_into_fixed_classes(self, reason, expected):
        assert reason_class(reason) == expected

    def test_the_relay_counts_rejected_events_by_class(self):
        before = sample("drx_inputs_rejected_total", reason="not_json")
        rejected = json.dumps(
            {
                "type": "org.drx.input.rejected",
                "data": {"reason": "message is not JSON: x at line 1 column 1"},
            }
        ).encode()
        other = json.dumps(
            {"type": "org.drx.need.recorded", "data": {"reason": "message is not JSON"}}
        ).encode()
        outbox_published(
            "t.rejected",
            [
                ("t.rejected", rejected),
                ("t.canonical", rejected),
                ("t.rejected", other),
                ("t.rejected", b"{"),
            ],
        )
        assert sample("drx_inputs_rejected_total", reason="not_json") == before + 1


class TestNotifyAndMatchFunctions:
    def test_attempts_and_dead_letters_keep_to_known_channels(self):
        before = sample("drx_notification_attempts_total", channel="webhook", outcome="dead")
        other = sample("drx_notification_attempts_total", channel="other", outcome="sent")
        notification_attempt("webhook", "dead")
        notification_attempt("carrier-pigeon", "sent")
        assert sample("drx_notification_attempts_total", channel="webhook", outcome="dead") == before + 1
        assert sample("drx_notification_attempts_total", channel="other", outcome="sent") == other + 1
        dead = sample("drx_notification_dead_letters_total", channel="email")
        dead_letter("email")
        assert sample("drx_notification_dead_letters_total", channel="email") == dead + 1

    def test_match_latency_is_a_histogram(self):
        before = sample("drx_match_latency_seconds_count")
        observe_match_latency(0.3)
        observe_match_latency(-1.0)  # clocks disagree: counted as 0, not as a negative sum
        assert sample("drx_match_latency_seconds_count") == before + 2


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

    def test_operations_lists_every_drx_metric(self):
        names = {
            metric.name
            for metric in REGISTRY.collect()
            if metric.name.startswith("drx_")  # counters are collected without _total
        }
        for name in names:
            shown = f"{name}_total" if f"`{name}_total`" in OPERATIONS else name
            assert f"`{shown}`" in OPERATIONS, f"docs/operations.md does not list {name}"
