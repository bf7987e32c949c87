"""The real stack for the fault suite: workers as OS processes, a producer, a coordinator, a receiver.

Workers run as ``drx run <service>`` subprocesses, as an operator runs them; a supervisor
restarts any that dies (as a process manager would), without its fault. The coordinator reads
proposals from the matches topic and decides some of them, as people would. Everything waits
on conditions with timeouts; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from services.notify.subscriptions import set_subscription
from services.notify.webhook_secrets import keyring_of
from shared.config import Settings
from shared.db.models import DeliveryRow, OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.inbound import SubscriptionSet
from shared.events.registry import EVENT_TYPES
from shared.kafka.topics import CANONICAL, DECISIONS_IN, MATCHES, REJECTED, TOPICS, topic_name
from tests.faults.scenario import Scenario, Step, decision, verdict_for
from tests.support import builders as b
from tests.support.cli import settings_env
from tests.support.kafka import Producer, TopicReader, eventually
from tests.support.provision import provision
from tests.support.receivers import HttpReceiver, SmtpReceiver
from tests.support.workers import WorkerProcess

SECRETS_KEY = base64.b64encode(b"fault-suite-sealing-key-32-bytes").decode()


@dataclass
class SupervisedWorker(WorkerProcess):
    """A worker the supervisor restarts when it dies; ``fault`` is its DRX_FAULT_KILL_AT, first life only.

    ``kill()`` (kill -9) counts as a death to recover from; ``terminate()`` and ``reap()`` do not.
    """

    fault: str | None = None
    lives: int = 0
    deaths: list[float] = field(default_factory=list)  # monotonic times of unexpected exits
    stopping: bool = False

    def start(self, **extra: str) -> None:
        if self.fault and self.lives == 0:
            extra = {**extra, "DRX_FAULT_KILL_AT": self.fault}
        self.lives += 1
        super().start(**extra)

    @property
    def died(self) -> bool:
        return not self.stopping and self.exited

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for a clean exit (the graceful-shutdown path); not a death."""
        self.stopping = True
        return super().terminate(timeout)

    def reap(self) -> None:
        self.stopping = True
        super().kill()


class Stack:
    """Topics, sources, a subscription, worker processes and the test's own clients."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.prefix = settings.kafka.topic_prefix
        self.log_dir = log_dir
        self.env = settings_env(
            settings,
            DRX_KAFKA_PARTITIONS=str(settings.kafka.partitions),
            DRX_DATABASE_POOL_SIZE="3",
            DRX_LOG_FORMAT="json",
            DRX_SCHEDULE_ENABLED="false",
            DRX_NOTIFY_SECRETS_KEY=SECRETS_KEY,
            DRX_NOTIFY_BACKOFF_BASE_S="0.2",
            DRX_NOTIFY_BACKOFF_MAX_S="1.0",
            DRX_NOTIFY_MAX_ATTEMPTS="100",
            DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",  # the receivers listen on 127.0.0.1
        )
        self.workers: list[SupervisedWorker] = []
        self.receiver = HttpReceiver()  # the coordinator's webhook
        self.smtp = SmtpReceiver()  # the organisation's and the donor's email
        self.env |= {"DRX_NOTIFY_SMTP_HOST": "127.0.0.1", "DRX_NOTIFY_SMTP_PORT": str(self.smtp.port)}
        self.engine = create_engine(settings.database)
        self.sessions = create_session_factory(self.engine)
        self.decisions: dict[str, str] = {}  # event id -> match id
        self._decided: set[str] = set()
        self.decisions_twice = False  # send every decision twice, as a retrying client would
        self._tasks: list[asyncio.Task[None]] = []
        self._exit = contextlib.AsyncExitStack()
        self.producer: Producer
        self.out: TopicReader

    async def __aenter__(self) -> Self:
        await provision(self.settings)
        await self._exit.enter_async_context(self.receiver)
        self._exit.enter_context(self.smtp)
        subscriptions = [
            SubscriptionSet(
                subscription_id="fault-coordinator",
                recipient_id="coord-fault",
                recipient_kind="coordinator",
                channel="webhook",
                address=self.receiver.url,
            ),
            SubscriptionSet(
                subscription_id="fault-organisation",
                recipient_id=b.ORGANISATION[2],
                recipient_kind="organisation",
                channel="email",
                address="needs@fault-suite.example.org",
            ),
            SubscriptionSet(
                subscription_id="fault-donor",
                recipient_id=b.DONOR[2],
                recipient_kind="donor",
                channel="email",
                address="treasurer@fault-suite.example.org",
            ),
        ]
        async with self.sessions.begin() as session:
            keyring = keyring_of((base64.b64decode(SECRETS_KEY),))
            for subscription in subscriptions:
                issued = await set_subscription(
                    session, self.prefix, subscription, actor="fault-suite", keyring=keyring, reveal=True
                )
                if issued is not None:
                    self.receiver.hold_secret(subscription.subscription_id, issued.secret)
        self.producer = await self._exit.enter_async_context(Producer(self.settings.kafka.bootstrap_servers))
        topics = [topic_name(self.prefix, t) for t in (CANONICAL, MATCHES, REJECTED)]
        self.out = await self._exit.enter_async_context(
            TopicReader(self.settings.kafka.bootstrap_servers, *topics)
        )
        self._tasks = [asyncio.create_task(self._supervise()), asyncio.create_task(self._coordinate())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self.workers:
            worker.reap()
        await self._exit.aclose()
        await self.engine.dispose()

    # --- workers ---------------------------------------------------------------------------------

    def run(self, service: str, fault: str | None = None) -> SupervisedWorker:
        """Start ``drx run service`` (its health server off), one log file for all its lives."""
        log = self.log_dir / f"{service}-{len(self.workers) + 1}.log"
        worker = SupervisedWorker(service, self.env, log, health_port=0, fault=fault)
        worker.start()
        self.workers.append(worker)
        return worker

    @property
    def deaths(self) -> list[float]:
        return sorted(t for w in self.workers for t in w.deaths)

    async def _supervise(self) -> None:
        while True:
            for worker in self.workers:
                if worker.died:
                    worker.deaths.append(time.monotonic())
                    worker.start()
            await asyncio.sleep(0.1)

    # --- input -----------------------------------------------------------------------------------

    async def send(self, step: Step) -> None:
        topic = topic_name(self.prefix, EVENT_TYPES[step.event_type].topic)
        await self.producer.send(
            topic, step.value, key=step.key, headers={"content-type": b"application/json"}
        )

    async def declare(self, scenario: Scenario) -> None:
        """Crises first, and wait until ingest holds them: needs on other topics refer to them."""
        for step in scenario.crises:
            await self.send(step)

        async def held() -> bool:
            async with self.sessions() as session:
                count = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.topic.like("%canonical"))
                )
                return (count or 0) >= len(scenario.crises)

        await eventually(held, 60, "ingest to record the crises")

    async def _coordinate(self) -> None:
        """Decide on proposals as they appear: a fixed verdict per match id (see scenario.verdict_for)."""
        decisions_topic = topic_name(self.prefix, DECISIONS_IN)
        while True:
            for record in list(self.out.records):
                if record["type"] != "org.drx.match.proposed":
                    continue
                match_id = record["data"]["match_id"]
                verdict = verdict_for(match_id)
                if verdict is None or match_id in self._decided:
                    continue
                self._decided.add(match_id)
                value, event_id = decision(match_id, verdict)
                self.decisions[event_id] = match_id
                with contextlib.suppress(Exception):  # the broker may be restarting: try again
                    headers = {"content-type": b"application/json"}
                    for _ in range(2 if self.decisions_twice else 1):
                        await self.producer.send(decisions_topic, value, key=match_id, headers=headers)
                    continue
                self._decided.discard(match_id)
                del self.decisions[event_id]
            await asyncio.sleep(0.2)

    # --- waiting for quiet -----------------------------------------------------------------------

    async def lag(self) -> dict[str, int]:
        """Messages each service's consumer group has not committed yet, over its input topics."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka.bootstrap_servers)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka.bootstrap_servers)
        await admin.start()
        await consumer.start()
        try:
            lags: dict[str, int] = {}
            inputs = {
                "ingest": [
                    t for t in TOPICS if t.name.startswith("intake.") and t.name != "intake.subscriptions"
                ],
                "matching": [CANONICAL],
                "notify": [MATCHES, CANONICAL],
            }
            for service, topics in inputs.items():
                committed = await admin.list_consumer_group_offsets(f"{self.prefix}drx-{service}")
                partitions = [
                    TopicPartition(topic_name(self.prefix, t), p)
                    for t in topics
                    for p in range(self.settings.kafka.partitions)
                ]
                ends = await consumer.end_offsets(partitions)
                lags[service] = sum(
                    end - max(committed[tp].offset if tp in committed else 0, 0) for tp, end in ends.items()
                )
            return lags
        finally:
            await consumer.stop()
            await admin.close()

    async def quiet(self) -> bool:
        """Everything consumed and committed, the outbox drained, no delivery waiting."""
        try:
            if any((await self.lag()).values()):
                return False
            async with self.sessions() as session:
                unpublished = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                )
                waiting = await session.scalar(
                    select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status.in_(("pending",)))
                )
        except Exception:  # a server restarting: not quiet yet
            return False
        if unpublished or waiting:
            return False
        undecided = [r for r in self.out.records if r["type"] == "org.drx.match.proposed"]
        return all(
            verdict_for(r["data"]["match_id"]) is None or r["data"]["match_id"] in self._decided
            for r in undecided
        )

    async def settle(self, timeout: float) -> float:
        """Wait until quiet twice in a row (a decision may still be on its way); seconds it took."""
        started = time.monotonic()

        async def twice() -> bool:
            if not await self.quiet():
                return False
            await asyncio.sleep(1.0)  # one more look after the coordinator's and relay's polls
            return await self.quiet()

        await eventually(twice, timeout, "the stack to settle: no lag, empty outbox, no pending delivery")
        return time.monotonic() - started

    def records(self, event_type: str) -> list[dict[str, Any]]:
        return [r for r in self.out.records if r["type"] == event_type]
