"""The job runner on a real PostgreSQL: one run per due slot across instances, catch-up once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from shared.db.session import create_engine
from shared.scheduling import Job, JobRunner
from tests.support.clock import ManualClock
from tests.support.kafka import eventually

EVERY = dt.timedelta(minutes=5)


class Counter:
    """A job body that counts its runs; ``gate`` (when set) holds a run until opened."""

    def __init__(self) -> None:
        self.runs: list[dt.datetime] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.fail = False

    async def __call__(self, now: dt.datetime) -> int:
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("job body failed")
        self.runs.append(now)
        return len(self.runs)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
async def runners(database, clock, counter) -> AsyncIterator[tuple[JobRunner, JobRunner]]:
    """Two instances, each with its own engine (as two processes would have)."""
    engines = [create_engine(database.settings) for _ in range(2)]
    job = Job("count", EVERY, counter)
    yield JobRunner(engines[0], [job], clock=clock), JobRunner(engines[1], [job], clock=clock)
    for engine in engines:
        await engine.dispose()


async def test_two_instances_run_a_due_slot_once(runners, counter):
    first, second = await asyncio.gather(*(runner.tick("count") for runner in runners))
    assert sorted([first.ran, second.ran]) == [False, True]
    assert len(counter.runs) == 1
    again = [await runner.tick("count") for runner in runners]
    assert [outcome.reason for outcome in again] == ["this slot already ran"] * 2
    assert len(counter.runs) == 1


async def test_an_instance_skips_while_the_other_is_running_the_job(runners, counter):
    counter.gate = asyncio.Event()
    running = asyncio.create_task(runners[0].tick("count"))
    await asyncio.wait_for(counter.started.wait(), 10)
    skipped = await runners[1].tick("count")
    assert (skipped.ran, skipped.reason) == (False, "another instance is running it")
    counter.gate.set()
    assert (await running).ran
    assert len(counter.runs) == 1


async def test_after_downtime_the_missed_runs_are_caught_up_once(runners, counter, clock):
    assert (await runners[0].tick("count")).ran
    clock.advance(hours=3)  # 36 slots missed
    outcomes = [await runners[i % 2].tick("count") for i in range(4)]
    assert [o.ran for o in outcomes] == [True, False, False, False]
    assert counter.runs == [clock.now - dt.timedelta(hours=3), clock.now]


async def test_a_failed_run_leaves_its_slot_open_for_the_next_check(runners, counter):
    counter.fail = True
    with pytest.raises(RuntimeError, match="job body failed"):
        await runners[0].tick("count")
    counter.fail = False
    assert (await runners[1].tick("count")).ran  # the lock was released and the slot not recorded
    assert len(counter.runs) == 1


async def test_started_runners_check_every_job_at_once_and_stop_cleanly(database, clock, counter):
    engine = create_engine(database.settings)
    runner = JobRunner(engine, [Job("count", EVERY, counter)], clock=clock)
    runner.start()
    try:
        await eventually(lambda: _true(len(counter.runs) == 1), 10, "the start-up check")
    finally:
        await runner.stop()
        await engine.dispose()


async def _true(value: bool) -> bool:
    return value
