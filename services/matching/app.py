"""The matching worker: :class:`MatchingWorker` wires it, :func:`create_app` runs it under FastStream."""

from __future__ import annotations

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.matching.handlers import register
from services.matching.mapping import skill_tree
from services.matching.service import MatchingService
from shared.config import Settings
from shared.db.session import create_engine, create_session_factory
from shared.kafka.broker import make_broker
from shared.outbox import OutboxRelay
from shared.reference import load_catalogue, load_skills

__all__ = ["GROUP_ID", "MatchingWorker", "create_app"]

GROUP_ID = "drx-matching"


class MatchingWorker:
    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings.database)
        self.sessions = create_session_factory(self.engine)
        self.relay = OutboxRelay(self.sessions, settings.kafka)
        self.service = MatchingService(
            self.sessions,
            load_catalogue(),
            skill_tree(load_skills()),
            settings.kafka.topic_prefix,
            on_commit=self.relay.wake,
        )
        self.broker: KafkaBroker = make_broker(settings.kafka, "matching", graceful_timeout=30.0)
        register(
            self.broker, self.service, settings.kafka.topic_prefix, f"{settings.kafka.topic_prefix}{GROUP_ID}"
        )

    async def start(self) -> None:
        await self.relay.start()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()
        await self.relay.stop()
        await self.engine.dispose()


def create_app(settings: Settings) -> FastStream:
    worker = MatchingWorker(settings)
    app = FastStream(worker.broker, specification=AsyncAPI(title="drx matching", version="1.0.0"))

    @app.on_startup
    async def start_relay() -> None:
        await worker.relay.start()

    @app.after_shutdown
    async def stop_relay() -> None:
        await worker.relay.stop()
        await worker.engine.dispose()

    return app
