"""What workers count and how it is labelled: event types, outcomes, rejection reasons, lag.

Without Kafka or PostgreSQL; the health server that serves these is in test_health.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from shared.events.envelope import CloudEvent
from shared.intake.parsing import RawMessage
from shared.kafka.topics import NEEDS_IN
from shared.observability import (
    dead_letter,
    event_type_of,
    notification_attempt,
    observe_match_latency,
    outbox_published,
    reason_class,
)
from shared.worker import Backoff

OPERATIONS = (Path(__file__).parents[3] / "docs" / "operations.md").read_text()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


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
            raw(b'{"a":' * 5_000 + b"1" + b"}" * 5_000),  # deeper than Python's recursion limit
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


class TestOperationsGuide:
    def test_operations_lists_every_drx_metric(self):
        names = {
            metric.name
            for metric in REGISTRY.collect()
            if metric.name.startswith("drx_")  # counters are collected without _total
        }
        for name in names:
            shown = f"{name}_total" if f"`{name}_total`" in OPERATIONS else name
            assert f"`{shown}`" in OPERATIONS, f"docs/operations.md does not list {name}"
