"""Nothing lost, nothing applied twice, under faults: nine scenarios on the real stack.

Each runs ingest, matching and notify as OS processes against real Apache Kafka and PostgreSQL,
feeds a seeded scenario (valid and invalid input, decisions made as proposals appear), injects
its fault halfway, waits until everything is consumed and delivered, and checks the end state
against the input (tests/faults/checker.py). ``--long`` runs thousands of events per scenario.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import time
from collections.abc import Awaitable, Callable

import pytest

from services.matching.outputs import MATCHING_SOURCE
from shared.events.examples import EXAMPLES
from shared.kafka.topics import CANONICAL, topic_name
from tests.faults.checker import check
from tests.faults.conftest import REPORTS
from tests.faults.harness import Stack
from tests.faults.scenario import Scenario, generate
from tests.support.kafka import eventually

pytestmark = pytest.mark.slow

Fault = Callable[[Stack], Awaitable[None]]


@pytest.fixture
def size(request: pytest.FixtureRequest) -> int:
    return 1500 if request.config.getoption("--long") else 120


async def _run(
    name: str,
    settings,
    tmp_path,
    scenario: Scenario,
    *,
    faults: dict[str, str] | None = None,
    midway: Fault | None = None,
    before: Fault | None = None,
) -> Stack:
    """Run ``scenario`` with the per-service kill points ``faults`` and the ``midway`` fault."""
    faults = faults or {}
    async with Stack(settings, tmp_path) as stack:
        for service in ("ingest", "matching", "notify"):
            stack.run(service, faults.get(service))
        if before is not None:
            await before(stack)
        await stack.declare(scenario)
        half = len(scenario.steps) // 2
        for step in scenario.steps[:half]:
            await stack.send(step)
        fault_at = time.monotonic()
        if midway is not None:
            await midway(stack)
        for step in scenario.steps[half:]:
            await stack.send(step)
        await stack.settle(timeout=240 + len(scenario.steps) / 5)
        if faults:
            died = {w.service for w in stack.workers if w.deaths}
            assert died == set(faults), f"the kill points did not all fire: {died} vs {set(faults)}"
            fault_at = stack.deaths[0]
        report = await check(name, scenario, stack, time.monotonic() - fault_at)
    REPORTS.append(report)
    assert report.clean, "\n".join(report.details)
    return stack


async def test_kill_9_after_the_database_commit_before_the_offset_commit(settings, tmp_path, size):
    # A pass is one handler call: a batch for ingest (up to 100 records) and matching (up to 50),
    # so even a stream that arrives all at once gives at least 5 and 10 of them.
    faults = {"ingest": "after-commit:4", "matching": "after-commit:6", "notify": "after-commit:15"}
    await _run(
        "kill -9 after DB commit, before offset commit",
        settings,
        tmp_path,
        generate(1, size, size),
        faults=faults,
    )


async def test_kill_9_the_outbox_relay_after_publishing_before_marking_sent(settings, tmp_path, size):
    faults = {"ingest": "relay-after-publish:3", "matching": "relay-after-publish:4"}
    await _run(
        "kill -9 the relay after publish, before marking sent",
        settings,
        tmp_path,
        generate(2, size, size),
        faults=faults,
    )


async def test_kafka_broker_restarts_mid_stream(settings, tmp_path, size, kafka_broker):
    if kafka_broker.restart is None:
        pytest.skip(f"cannot restart a {kafka_broker.provider} broker from here")
    restart = kafka_broker.restart

    async def midway(_stack: Stack) -> None:
        # On this thread, not a worker thread: the broker dies with the thread that started it.
        restart()

    await _run("Kafka broker restart mid-stream", settings, tmp_path, generate(3, size, size), midway=midway)


async def test_postgres_restarts_mid_stream(settings, tmp_path, size, postgres):
    if postgres.restart is None:
        pytest.skip(f"cannot restart a {postgres.provider} server from here")
    restart = postgres.restart

    async def midway(_stack: Stack) -> None:
        await asyncio.to_thread(restart)

    await _run("PostgreSQL restart mid-stream", settings, tmp_path, generate(4, size, size), midway=midway)


async def test_matching_workers_join_and_leave_while_events_flow(settings, tmp_path, size):
    async def midway(stack: Stack) -> None:
        joined = [stack.run("matching"), stack.run("matching")]
        await asyncio.sleep(0)  # they join while the second half is sent
        first = stack.workers[1]  # the original matching worker: it leaves gracefully
        assert first.service == "matching"
        assert await asyncio.to_thread(first.terminate) == 0
        joined[0].kill()  # and one newcomer dies without notice (the supervisor restarts it)

    await _run(
        "consumer-group rebalance (matching 1 → 3 → 2)",
        settings,
        tmp_path,
        generate(5, size, size),
        midway=midway,
    )


async def test_poison_messages_interleaved_with_good_ones(settings, tmp_path, size):
    scenario = generate(6, size, size, invalid_ratio=0.3)
    await _run("poison messages (30 % invalid)", settings, tmp_path, scenario)


async def test_poison_events_on_canonical_are_parked_by_matching(settings, tmp_path, size):
    """Events only ingest should write, forged onto canonical: matching parks each and goes on.

    The overflowing needs carry ingest's source (a bug upstream: they pass the producer check and
    fail in the database); one more comes from an organisation (a forgery: refused unread).
    """
    canonical = topic_name(settings.kafka.topic_prefix, CANONICAL)
    poison = [_overflowing_need(f"n-poison-{i}") for i in range(5)]
    poison += [b"\xff\xfe not a CloudEvent", b"[]", b'{"specversion": "1.0"}', _forged_need("n-forged")]

    async def midway(stack: Stack) -> None:
        for i, value in enumerate(poison):
            await stack.producer.send(canonical, value, key=f"poison-{i}")

    stack = await _run(
        "poison events on canonical", settings, tmp_path, generate(9, size, size), midway=midway
    )
    parked = [r["data"] for r in stack.records("org.drx.input.rejected") if r["source"] == MATCHING_SOURCE]
    by_event = {r.get("event_id"): r for r in parked}
    for i in range(5):  # readable: found by event id, refused with the database's reason
        assert "numeric field overflow" in by_event[f"org.drx.need.recorded:n-poison-{i}:r1"]["reason"]
    by_digest = {r["original_sha256"]: r for r in parked}
    for value in poison[5:8]:  # unreadable: found by their bytes' digest
        assert by_digest[hashlib.sha256(value).hexdigest()]["reason"].startswith("not a CloudEvents envelope")
    forged = by_digest[hashlib.sha256(poison[8]).hexdigest()]
    assert forged["reason"].startswith("not from a drx service: the canonical topic accepts events only from")
    assert not [w.service for w in stack.workers if w.deaths], "no worker may die of a poison event"


def _forged_need(need_id: str) -> bytes:
    """A valid ``need.recorded`` an organisation wrote to canonical itself, skipping ingest's rules."""
    event = copy.deepcopy(EXAMPLES["org.drx.need.recorded"])
    event.update(
        id=f"org.drx.need.recorded:{need_id}:r1", subject=need_id, source="urn:drx:org:trc-gaziantep"
    )
    event["data"].update(need_id=need_id)
    return json.dumps(event).encode()


def _overflowing_need(need_id: str) -> bytes:
    """A well-formed ``need.recorded`` whose base quantity does not fit matching's Numeric(18, 4)."""
    event = copy.deepcopy(EXAMPLES["org.drx.need.recorded"])
    event.update(id=f"org.drx.need.recorded:{need_id}:r1", subject=need_id)
    event["data"].update(need_id=need_id)
    event["data"]["spec"]["base_quantity"] = "1e20"
    return json.dumps(event).encode()


async def test_the_same_events_twice_and_out_of_order(settings, tmp_path, size):
    scenario = generate(7, size, size).duplicated(0.25).shuffled()

    async def decisions_twice(stack: Stack) -> None:
        stack.decisions_twice = True

    await _run("duplicates and out of order", settings, tmp_path, scenario, before=decisions_twice)


async def test_a_webhook_receiver_down_for_a_while_then_back(settings, tmp_path, size):
    async def down(stack: Stack) -> None:
        stack.receiver.status = 503

    async def back(stack: Stack) -> None:
        async def refused_some() -> bool:
            return sum(r.answered == 503 for r in stack.receiver.requests) >= 10

        await eventually(refused_some, 120, "the receiver to refuse some deliveries")
        stack.receiver.status = 200

    await _run(
        "webhook receiver down, then back",
        settings,
        tmp_path,
        generate(8, size, size),
        before=down,
        midway=back,
    )
