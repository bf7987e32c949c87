"""Drive a worker's scheduled jobs by hand: two instances, one clock (see shared/scheduling.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.db.session import create_engine
from shared.scheduling import JobRunner, RunOutcome
from shared.worker import Worker
from tests.support.clock import ManualClock


@asynccontextmanager
async def two_instances(worker: Worker, clock: ManualClock) -> AsyncIterator[tuple[JobRunner, JobRunner]]:
    """Two runners of ``worker``'s jobs on separate engines, as two processes would have."""
    other = create_engine(worker.settings.database)
    try:
        jobs = worker.jobs()
        yield JobRunner(worker.engine, jobs, clock=clock), JobRunner(other, jobs, clock=clock)
    finally:
        await other.dispose()


async def run_once(runners: tuple[JobRunner, JobRunner], job: str) -> RunOutcome:
    """Both instances check ``job``; exactly one runs it. The outcome of the one that ran."""
    outcomes = [await runner.tick(job) for runner in runners]
    ran = [o for o in outcomes if o.ran]
    assert len(ran) == 1, outcomes
    return ran[0]
