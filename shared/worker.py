"""What every drx worker process has: a database engine, an outbox relay and a Kafka broker,
started and stopped together, and a FastStream application around them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from shared.audit.signer import publish_checkpoint, read_signing_key, sign_head
from shared.config import Settings
from shared.db.session import create_engine, create_session_factory
from shared.faults import fault_point
from shared.kafka.broker import make_broker
from shared.logging import get_logger
from shared.observability import (
    HealthServer,
    event_failed,
    event_processed,
    event_type_of,
    postgres_check,
    refresh_outbox,
)
from shared.outbox import OutboxRelay
from shared.progress import ProgressTracker, refresh_progress
from shared.retrying import Delays, RetryLog
from shared.scheduling import Job, JobRunner, prune_processed_events

__all__ = ["IN_FLIGHT_SHARE", "Backoff", "Worker"]

IN_FLIGHT_SHARE = 0.8
"""The part of DRX_WORKER_SHUTDOWN_TIMEOUT_S that in-flight messages and scheduled runs get on
SIGTERM; the rest is for leaving the consumer group and publishing the outbox batch in hand."""

log = get_logger("drx.worker")

P = ParamSpec("P")
R = TypeVar("R")


class Worker:
    """Engine, sessions, relay and broker of one worker process. Subclasses register handlers."""

    name = "worker"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings.database)
        self.sessions = create_session_factory(self.engine)
        self.relay = OutboxRelay(self.sessions, settings.kafka)
        self.broker: KafkaBroker = make_broker(
            settings.kafka, self.name, graceful_timeout=self.graceful_timeout
        )
        self._jobs: JobRunner | None = None
        self.progress = ProgressTracker(settings.health.stall_after_s)
        self.health = HealthServer(
            settings.health,
            checks={
                "kafka": self._kafka_check,
                "postgres": postgres_check(self.engine),
                "consumers": self._progress_check,
                "outbox": self._outbox_check,
            },
            refresh=self._refresh_metrics,
        )

    @property
    def shutdown_timeout(self) -> float:
        """From SIGTERM to exit, in seconds (DRX_WORKER_SHUTDOWN_TIMEOUT_S)."""
        return self.settings.worker.shutdown_timeout_s

    @property
    def graceful_timeout(self) -> float:
        """How long in-flight messages and scheduled runs get to finish and commit, in seconds.

        Both wait at the same time, so together they take no longer than this.
        """
        return self.shutdown_timeout * IN_FLIGHT_SHARE

    def jobs(self) -> list[Job]:
        """This worker's scheduled jobs; they run when DRX_SCHEDULE_ENABLED (docs/scheduling.md).

        Every worker prunes its own old idempotency records; subclasses add theirs.
        """
        retention = dt.timedelta(days=self.settings.schedule.retention_days)

        async def prune(now: dt.datetime) -> int:
            return await prune_processed_events(self.sessions, self.name, now - retention)

        return [
            Job(f"{self.name}.prune-idempotency", dt.timedelta(hours=1), prune, "old inbox records"),
            *self._checkpoint_jobs(),
        ]

    def _checkpoint_jobs(self) -> list[Job]:
        """Sign the audit chain's head, when this worker holds the signing key (docs/audit.md).

        One job name for every worker, so however many hold the key, one signs per slot. The
        key file is read at each run, so replacing it rotates the key without a restart.
        """
        audit = self.settings.audit
        key_file = audit.signing_key_file
        if key_file is None:
            return []

        async def checkpoint(now: dt.datetime) -> int:
            signed = await sign_head(self.sessions, read_signing_key(key_file), now)
            if signed is None:
                return 0
            await publish_checkpoint(self.settings.kafka, signed)
            return signed.seq

        every = dt.timedelta(minutes=audit.checkpoint_every_min)
        return [Job("audit.checkpoint", every, checkpoint, "a signed checkpoint of the audit chain")]

    @property
    def check_every(self) -> dt.timedelta:
        """How often lifecycle jobs look for due work (DRX_SCHEDULE_CHECK_EVERY_S)."""
        return dt.timedelta(seconds=self.settings.schedule.check_every_s)

    def scheduler(self) -> JobRunner:
        """The runner of :meth:`jobs`, built once (tests call its ``tick`` directly)."""
        if self._jobs is None:
            self._jobs = JobRunner(self.engine, self.jobs())
        return self._jobs

    def _start_jobs(self) -> None:
        if self.settings.schedule.enabled and self.scheduler().jobs:
            self.scheduler().start()

    async def _stop_jobs(self) -> None:
        if self._jobs is not None:
            await self._jobs.stop(self.graceful_timeout)

    async def _stop_relay(self, deadline: float) -> None:
        """Finish the outbox batch in hand by ``deadline`` (event loop time), else leave it.

        A batch cut short stays unmarked and is published again by the next relay; consumers
        deduplicate it (``shared/outbox.py``).
        """
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
        try:
            await asyncio.wait_for(self.relay.stop(), remaining)
        except TimeoutError:
            log.warning("outbox batch not finished at the shutdown timeout; the next relay publishes it")

    async def _kafka_check(self, timeout: float) -> str | None:
        return None if await self.broker.ping(timeout) else f"no answer from Kafka within {timeout:g}s"

    async def _progress_check(self, timeout: float) -> str | None:
        """Not ready while a partition stands behind a record (``shared/progress.py``)."""
        now = asyncio.get_running_loop().time()
        stalls = await refresh_progress(self.broker.subscribers, self.progress, now, timeout)
        return "; ".join(str(stall) for stall in stalls) or None

    async def _outbox_check(self, timeout: float) -> str | None:
        """Not ready while outbox rows are parked or the oldest pending one is too old."""
        async with asyncio.timeout(timeout):
            state = await refresh_outbox(self.engine)
        return state.problem(self.settings.health.outbox_max_age_s)

    async def _refresh_metrics(self) -> None:
        await refresh_progress(self.broker.subscribers, self.progress, asyncio.get_running_loop().time())
        await refresh_outbox(self.engine)

    @property
    def group_id(self) -> str:
        """The consumer group, under the topic prefix so deployments sharing a cluster stay apart."""
        return f"{self.settings.kafka.topic_prefix}drx-{self.name}"

    async def start(self) -> None:
        await self.relay.start()
        await self.broker.start()
        self._start_jobs()

    async def stop(self) -> None:
        """Stop consuming (in-flight messages finish and commit), then drain and stop the relay."""
        deadline = asyncio.get_running_loop().time() + self.shutdown_timeout
        await asyncio.gather(self._stop_jobs(), self.broker.stop())
        await self._stop_relay(deadline)
        await self.engine.dispose()

    def app(self) -> FastStream:
        """The worker under FastStream: signals, graceful shutdown, AsyncAPI, health and metrics.

        The health server runs only here, in the worker process (``drx run``); workers that
        tests start with :meth:`start` serve nothing, so they never compete for the port.
        It listens first, so ``/livez`` answers while Kafka and PostgreSQL are still being
        reached, and ``/readyz`` says 503 from SIGTERM on, while in-flight messages finish.

        On SIGTERM, scheduled runs and in-flight messages finish at the same time, each within
        :attr:`graceful_timeout`; the outbox relay gets what is left of :attr:`shutdown_timeout`.
        """
        app = FastStream(self.broker, specification=AsyncAPI(title=f"drx {self.name}", version="1.0.0"))
        deadline = 0.0  # of the shutdown, in event loop time, from SIGTERM on
        jobs_stopped: asyncio.Task[None] | None = None

        @app.on_startup
        async def start_relay() -> None:
            await self.health.start()
            await self.relay.start()

        @app.after_startup
        async def start_jobs() -> None:
            self._start_jobs()
            self.health.serving = True

        @app.on_shutdown
        async def stop_jobs() -> None:  # FastStream stops the broker next; the jobs stop meanwhile
            nonlocal deadline, jobs_stopped
            self.health.serving = False
            deadline = asyncio.get_running_loop().time() + self.shutdown_timeout
            jobs_stopped = asyncio.create_task(self._stop_jobs())

        @app.after_shutdown
        async def stop_relay() -> None:
            if jobs_stopped is not None:
                await jobs_stopped
            await self._stop_relay(deadline)
            await self.engine.dispose()
            await self.health.stop()

        return app


class Backoff:
    """Wraps a handler: on failure, wait (exponentially, up to 30 s) and re-raise.

    The message is then read again (NACK_ON_ERROR). Without the wait, an outage of the database
    would make FastStream re-read the same message in a hot loop. The first failure in a row is
    logged with its traceback, then one line per window and one on recovery (``shared/retrying.py``):
    a traceback per attempt once filled disks while PostgreSQL was away.

    It also counts every message in ``drx_events_processed_total`` (with the result's ``outcome``)
    or ``drx_events_failed_total``, by the event type of the handler's first argument.
    """

    def __init__(self, log_name: str) -> None:
        self._retries = RetryLog(
            get_logger(log_name),
            "message handling",
            Delays(first_s=0.4, max_s=30.0),
            first_event="message failed; it will be read again",
        )

    def __call__(self, call: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            first = args[0] if args else None
            batch = first if isinstance(first, list) else [first]  # a batch handler takes a list
            try:
                result = await call(*args, **kwargs)
            except Exception as error:
                for message in batch:
                    event_failed(event_type_of(message))
                await asyncio.sleep(self._retries.failed(error))
                raise
            self._retries.succeeded()
            outcomes = result if isinstance(result, list) else [result]
            for message, outcome in zip(batch, outcomes, strict=False):
                event_processed(event_type_of(message), outcome)
            fault_point("after-commit")  # the fault suite's kill -9 between commit and offset commit
            return result

        return guarded
