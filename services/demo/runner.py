"""``drx demo``: the whole stack on the embedded default, a scenario replayed through it, a summary.

Starts tansu (Kafka protocol, no Java) and embedded PostgreSQL, migrates, creates the topics,
registers the scenario's sources, runs ingest, matching and notify in this process (with their
scheduled jobs, checking every few seconds), and a local webhook receiver. Then it posts each
phase's events on the intake topics, waits until the pipeline is idle, takes the phase's
decisions on the matches it has read from the matches topic, and waits again. At the end it
reads coverage, matches, deliveries and the audit chain from PostgreSQL and prints the summary.

Whatever it started it stops, on success, on error and on Ctrl-C or SIGTERM. This module owns
the stack and the order of things; :mod:`services.demo.publisher` posts the steps and
:mod:`services.demo.observer` reads the output topics and tells when the pipeline is idle.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import secrets
import shlex
import signal
import time
from collections import Counter
from collections.abc import Iterator
from types import FrameType
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from rich.console import Console, RenderableType
from rich.live import Live
from sqlalchemy import func, select

from services.demo.observer import Observed, observe, wait_until_idle
from services.demo.publisher import Publisher
from services.demo.receiver import WebhookReceiver
from services.demo.scenario import Scenario
from services.demo.summary import Summary, Tally, coverage_by_sector, match_rejections, render_summary
from shared.config import (
    DatabaseSettings,
    HealthSettings,
    KafkaSettings,
    NotifySettings,
    ScheduleSettings,
    Settings,
)

__all__ = ["DemoInterrupted", "run_demo"]

_PARTITIONS = 3
_LOCAL = ipaddress.ip_network("127.0.0.0/8")
_JOB_CHECK_S = 5.0


class DemoInterrupted(Exception):  # noqa: N818 - it is how the demo ends on Ctrl-C, not an error
    """Ctrl-C or SIGTERM: everything was stopped."""


def run_demo(
    scenario: Scenario,
    console: Console,
    *,
    keep_running: bool = False,
    settle_timeout: float = 180.0,
) -> int:
    """Run ``scenario`` on a fresh embedded stack; return the exit code (0: every check passed).

    Raises :class:`DemoInterrupted` on Ctrl-C or SIGTERM, after stopping everything.
    """
    from shared.db.migrate import upgrade  # noqa: PLC0415 - alembic is slow to import
    from shared.infra.postgres import EmbeddedPostgres  # noqa: PLC0415
    from shared.infra.tansu import TansuServer  # noqa: PLC0415

    scenario.check(dt.datetime.now(dt.UTC).date())
    started = time.monotonic()
    with _sigterm_interrupts(), contextlib.ExitStack() as stack:
        try:
            with console.status("starting the tansu broker and embedded PostgreSQL…"):
                kafka = stack.enter_context(TansuServer())
                pg = stack.enter_context(EmbeddedPostgres())
                settings = _settings(kafka.bootstrap_servers, pg.url)
                upgrade(settings.database.sqlalchemy_url)
            console.print(f"broker (tansu) {kafka.bootstrap_servers} · PostgreSQL {pg.url}", soft_wrap=True)
            demo = _Demo(settings, scenario, console, started, settle_timeout)
            try:
                return asyncio.run(demo.run(keep_running=keep_running))
            finally:
                # asyncio resets SIGTERM to the default on the way out; let the cleanup finish.
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
        except (KeyboardInterrupt, asyncio.CancelledError):
            console.print("[yellow]interrupted: stopping the workers, the broker and PostgreSQL…[/yellow]")
            raise DemoInterrupted from None


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl-C (the default would skip the cleanup)."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _settings(bootstrap_servers: str, database_url: str) -> Settings:
    return Settings(
        kafka=KafkaSettings(
            bootstrap_servers=bootstrap_servers,
            topic_prefix="drx.",
            partitions=_PARTITIONS,
            idempotent_producer=False,  # tansu rejects InitProducerId
            security_protocol="PLAINTEXT",
        ),
        database=DatabaseSettings(url=SecretStr(database_url)),
        notify=NotifySettings(
            # made up per run: it seals the webhook subscriptions' secrets in this run's database
            secrets_key=SecretStr(base64.b64encode(secrets.token_bytes(32)).decode()),
            backoff_base_s=0.5,
            backoff_max_s=5.0,
            webhook_allow_networks=(_LOCAL,),  # the demo's webhook receiver listens on 127.0.0.1
        ),
        schedule=ScheduleSettings(enabled=True, check_every_s=_JOB_CHECK_S),
        health=HealthSettings(port=0),
    )


class _Demo:
    def __init__(
        self, settings: Settings, scenario: Scenario, console: Console, started: float, settle_timeout: float
    ) -> None:
        self.settings = settings
        self.scenario = scenario
        self.console = console
        self.started = started
        self.settle_timeout = settle_timeout
        self.prefix = settings.kafka.topic_prefix
        self.observed = Observed(Tally())
        self.settle_problems: list[str] = []
        self.today = dt.datetime.now(dt.UTC).date()
        self._revealed: dict[str, tuple[str, ...]] = {}
        self._reveal_lock = asyncio.Lock()

    @property
    def tally(self) -> Tally:
        self.observed.tally.elapsed = time.monotonic() - self.started
        return self.observed.tally

    async def _webhook_secrets(self, subscription_id: str) -> tuple[str, ...]:
        """The secret of one of the scenario's webhook subscriptions, revealed the first time it is
        needed, as an operator would with ``drx subscribe secret reveal`` (empty for any other id)."""
        if subscription_id not in self.scenario.webhook_subscriptions:
            return ()
        async with self._reveal_lock:  # two requests at once must not both reveal
            return await self._reveal(subscription_id)

    async def _reveal(self, subscription_id: str) -> tuple[str, ...]:
        from services.notify.webhook_secrets import SecretRefused, keyring_of, reveal_secret  # noqa: PLC0415

        if subscription_id not in self._revealed:
            keyring = keyring_of(self.settings.notify.sealing_keys())
            assert keyring is not None
            try:
                async with self.sessions.begin() as session:
                    issued = await reveal_secret(
                        session,
                        self.prefix,
                        keyring,
                        subscription_id,
                        actor="drx demo",
                        now=dt.datetime.now(dt.UTC),
                    )
            except SecretRefused:
                return ()
            self._revealed[subscription_id] = (issued.secret,)
        return self._revealed[subscription_id]

    async def run(self, *, keep_running: bool) -> int:
        from services.ingest.app import IngestWorker  # noqa: PLC0415 - heavy imports, only when run
        from services.matching.app import MatchingWorker  # noqa: PLC0415
        from services.notify.app import NotifyWorker  # noqa: PLC0415
        from shared.db.session import create_engine, create_session_factory  # noqa: PLC0415
        from shared.kafka.admin import create_topics  # noqa: PLC0415

        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        engine = create_engine(self.settings.database)
        self.sessions = create_session_factory(engine)
        workers: list[Any] = []
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            receiver = await stack.enter_async_context(WebhookReceiver(self._webhook_secrets))
            self.receiver = receiver
            with self.console.status(
                "creating topics, registering sources, starting ingest, matching and notify…"
            ):
                await create_topics(self.settings.kafka)
                await self._register_sources()
                workers = [
                    IngestWorker(self.settings),
                    MatchingWorker(self.settings),
                    NotifyWorker(self.settings),
                ]
                stack.push_async_callback(_stop_all, workers)
                await asyncio.gather(*(w.start() for w in workers))
            self.console.print(
                f"workers running: ingest, matching, notify · webhook receiver {receiver.url}"
                f" · scenario [bold]{self.scenario.name}[/bold] ({self.scenario.event_count} events)"
            )
            producer = AIOKafkaProducer(**self.settings.kafka.client_options(), enable_idempotence=False)
            await producer.start()
            stack.push_async_callback(producer.stop)
            self.publisher = Publisher(producer, self.prefix, self.today, receiver.url, self.observed.tally)
            observer = asyncio.create_task(observe(self.settings.kafka, self.observed, receiver))
            stack.push_async_callback(_cancel, observer)
            with Live(
                console=self.console,
                get_renderable=self._live_line,
                refresh_per_second=4,
                transient=True,
            ) as live:
                for number, phase in enumerate(self.scenario.phases):
                    phase_started = time.monotonic()
                    self.tally.phase = f"phase {number + 1}/{len(self.scenario.phases)}: {phase.name}"
                    await self.publisher.post(number, phase.events)
                    await self._settle(phase.name)
                    if phase.decisions:
                        await self.publisher.decide(number, phase.decisions, self.observed.matches.values())
                        await self._settle(f"{phase.name} (decisions)")
                    live.console.print(
                        f"[green]✓[/green] {phase.name} [dim]({time.monotonic() - phase_started:.1f}s)[/dim]"
                    )
                self.tally.phase = "done"
            summary = await self._summary()
            self.console.print(render_summary(summary))
            code = 0 if not summary.problems else 1
            if keep_running:
                self._print_env()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:  # Ctrl-C or SIGTERM: the way a kept stack ends
                    self.console.print("stopping the workers, the broker and PostgreSQL…")
            return code

    def _live_line(self) -> RenderableType:
        return self.tally.line()

    async def _register_sources(self) -> None:
        from shared.scope import Scope  # noqa: PLC0415
        from shared.sources import add_source  # noqa: PLC0415

        for s in self.scenario.sources:
            scope = Scope.of(s.scope.crises, s.scope.countries, everything=s.scope.all) if s.scope else None
            await add_source(self.settings, s.source, s.role, s.party, s.name, actor="drx demo", scope=scope)

    async def _settle(self, what: str) -> None:
        """Wait until every effect of everything posted is applied (``observer.pending``)."""
        waiting = await wait_until_idle(
            self.sessions,
            self.settings.kafka,
            self.observed,
            to_ingest=self.publisher.to_ingest,
            subscribed=self.publisher.subscriptions,
            timeout=self.settle_timeout,
        )
        if waiting:
            self.settle_problems.append(
                f"{what}: the pipeline did not go idle within {self.settle_timeout:.0f}s: "
                + "; ".join(waiting)
            )

    # --- the end ---------------------------------------------------------------------------

    async def _summary(self) -> Summary:
        from services.matching.queries import coverage  # noqa: PLC0415
        from shared.audit import verify_database  # noqa: PLC0415
        from shared.db.models import DeliveryRow, MatchingNeedRow, MatchRow  # noqa: PLC0415

        async with self.sessions() as session:
            lines = coverage_by_sector(await coverage(session))
            rows = await session.execute(
                select(MatchRow.status, MatchingNeedRow.category, func.count())
                .join(MatchingNeedRow, MatchingNeedRow.need_id == MatchRow.need_id)
                .group_by(MatchRow.status, MatchingNeedRow.category)
            )
            matches: Counter[tuple[str, str]] = Counter({(s, c): n for s, c, n in rows.tuples()})
            sent = await session.execute(
                select(DeliveryRow.channel, DeliveryRow.kind, DeliveryRow.status, func.count()).group_by(
                    DeliveryRow.channel, DeliveryRow.kind, DeliveryRow.status
                )
            )
            deliveries: Counter[tuple[str, str, str]] = Counter(
                {(c, k, s): n for c, k, s, n in sent.tuples()}
            )
        async with self.sessions() as session:
            report = await verify_database(session)
        checks, unexpected = match_rejections(self.publisher.expected, self.observed.rejections)
        return Summary(
            scenario=self.scenario.name,
            elapsed=time.monotonic() - self.started,
            tally=self.tally,
            coverage=lines,
            matches=matches,
            deliveries=deliveries,
            rejections=checks,
            unexpected=unexpected,
            audit_records=report.count,
            audit_last_hash=report.last_hash,
            audit_problem=str(report.problem) if report.problem else None,
            webhook_requests=self.receiver.received,
            webhook_bad_signatures=self.receiver.bad_signatures,
            settle_problems=self.settle_problems,
            scheduled_jobs=self.settings.schedule.enabled,
        )

    def _print_env(self) -> None:
        env = {
            "DRX_KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka.bootstrap_servers,
            "DRX_KAFKA_TOPIC_PREFIX": self.prefix,
            "DRX_KAFKA_IDEMPOTENT_PRODUCER": "false",
            "DRX_DATABASE_URL": self.settings.database.sqlalchemy_url,
        }
        if self.settings.notify.secrets_key is not None:  # this run's own, for drx subscribe secret
            env["DRX_NOTIFY_SECRETS_KEY"] = self.settings.notify.secrets_key.get_secret_value()
        self.console.print(
            "\nThe stack stays up (workers included) until Ctrl-C. In another shell, paste these and use "
            "drx matches, drx coverage, drx deliveries, drx decide, drx audit verify:"
        )
        for name, value in env.items():
            self.console.print(
                f"export {name}={shlex.quote(value)}", markup=False, highlight=False, soft_wrap=True
            )


async def _stop_all(workers: list[Any]) -> None:
    for worker in reversed(workers):
        with contextlib.suppress(Exception):
            await worker.stop()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
