"""Scheduled jobs that run once per due time, however many worker instances are up.

Each worker declares its jobs (a name, an interval, an async function of the current time).
APScheduler wakes every instance at each interval; PostgreSQL decides which one runs:

- the **slot** of a job is the latest multiple of its interval at or before now (UTC, from the
  epoch), so every instance computes the same slot for the same moment;
- ``job_runs`` keeps each job's last completed slot; an instance runs a job only when the
  current slot is later, and only while it holds the job's session-level advisory lock
  (``pg_try_advisory_lock``); the others skip;
- after downtime the current slot is simply later than the last one: the missed runs are caught
  up by **one** run, not one per missed interval.

A run that crashes leaves its slot unrecorded and the lock released, so the next wake-up runs it
again: jobs are written to be idempotent (expiring what already expired changes nothing). The
clock is a parameter, so tests drive time by hand.

A job that keeps failing (PostgreSQL is away) is retried at its interval, which is its pause; its
first failure is logged with the traceback, then one line per window and one on recovery
(``shared/retrying.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db.models import JobRunRow, ProcessedEvent
from shared.events.envelope import CloudEvent
from shared.logging import get_logger
from shared.retrying import Delays, RetryLog

__all__ = ["Clock", "Job", "JobRunner", "RunOutcome", "job_cause", "prune_processed_events", "slot_of"]

Clock = Callable[[], dt.datetime]
log = get_logger("drx.scheduler")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Job:
    """``run(now)`` does the work and returns how many things it acted on (for logs and tests)."""

    name: str
    every: dt.timedelta
    run: Callable[[dt.datetime], Awaitable[int]]
    description: str = ""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    job: str
    ran: bool
    slot: dt.datetime
    count: int = 0
    reason: str = ""


def slot_of(now: dt.datetime, every: dt.timedelta) -> dt.datetime:
    """The latest multiple of ``every`` since the epoch at or before ``now`` (UTC)."""
    elapsed = (now.astimezone(dt.UTC) - _EPOCH) // every
    return _EPOCH + elapsed * every


def _lock_key(job: str) -> int:
    """A stable signed 64-bit advisory lock key per job name."""
    return int.from_bytes(hashlib.sha256(f"drx-job:{job}".encode()).digest()[:8], "big", signed=True)


class JobRunner:
    """Runs ``jobs`` under APScheduler; :meth:`tick` is one due-check, callable directly in tests."""

    def __init__(
        self, engine: AsyncEngine, jobs: list[Job], *, clock: Clock = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self._engine = engine
        self.jobs = {job.name: job for job in jobs}
        self._clock = clock
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._retries = {
            job.name: RetryLog(
                log,
                f"scheduled job {job.name}",
                Delays(job.every.total_seconds(), job.every.total_seconds()),  # the interval paces it
                first_event="scheduled job failed; its slot stays open and runs again",
            )
            for job in jobs
        }

    async def tick(self, name: str) -> RunOutcome:
        """Run job ``name`` if its current slot has not run yet and no other instance is running it."""
        job = self.jobs[name]
        now = self._clock()
        slot = slot_of(now, job.every)
        async with self._engine.connect() as conn:
            locked = await conn.scalar(select(func.pg_try_advisory_lock(_lock_key(name))))
            await conn.commit()
            if not locked:
                return RunOutcome(name, ran=False, slot=slot, reason="another instance is running it")
            try:
                last = await conn.scalar(select(JobRunRow.last_slot).where(JobRunRow.job == name))
                await conn.commit()
                if last is not None and last >= slot:
                    return RunOutcome(name, ran=False, slot=slot, reason="this slot already ran")
                count = await job.run(now)
                await conn.execute(
                    insert(JobRunRow)
                    .values(job=name, last_slot=slot, last_count=count, finished_at=now)
                    .on_conflict_do_update(
                        index_elements=["job"],
                        set_={"last_slot": slot, "last_count": count, "finished_at": now},
                    )
                )
                await conn.commit()
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _lock_key(name)})
                await conn.commit()
        log.info("scheduled job ran", job=name, slot=slot.isoformat(), count=count)
        return RunOutcome(name, ran=True, slot=slot, count=count)

    async def _safe_tick(self, name: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self.tick(name)
        except Exception as error:  # noqa: BLE001 - RetryLog logs it; the slot stays open
            self._retries[name].failed(error, job=name)
        else:
            self._retries[name].succeeded(job=name)
        finally:
            self._running.discard(task)

    def start(self) -> None:
        """Check every job at its interval (and once now, to catch up after downtime)."""
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        for job in self.jobs.values():
            scheduler.add_job(
                self._safe_tick,
                IntervalTrigger(seconds=job.every.total_seconds(), timezone=dt.UTC),
                args=[job.name],
                id=job.name,
                next_run_time=dt.datetime.now(dt.UTC),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self, timeout: float = 30.0) -> None:
        """No new runs; let runs in progress finish (up to ``timeout`` seconds, then cancel them).

        A worker passes its share of DRX_WORKER_SHUTDOWN_TIMEOUT_S (``Worker.graceful_timeout``).
        A cancelled run leaves its slot open, so the next wake-up of any instance runs it again.
        """
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=timeout)
            for task in late:
                log.warning(
                    "scheduled job still running at the shutdown timeout; cancelled", timeout_s=timeout
                )
                task.cancel()


async def prune_processed_events(
    sessions: async_sessionmaker[AsyncSession], consumer: str, before: dt.datetime
) -> int:
    """Forget ``consumer``'s idempotency records older than ``before``; how many went.

    Safe as long as no event that old can be delivered again: keep the retention longer than
    the Kafka topics' (docs/scheduling.md).
    """
    async with sessions.begin() as session:
        result = await session.execute(
            delete(ProcessedEvent).where(
                ProcessedEvent.consumer == consumer, ProcessedEvent.processed_at < before
            )
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def job_cause(source: str, job: str, now: dt.datetime) -> CloudEvent:
    """What a scheduled run's events and audit records name as their cause; ``source`` is the actor."""
    return CloudEvent(
        specversion="1.0", id=f"job:{job}:{now.isoformat()}", source=source, type="org.drx.job.ran", time=now
    )
