"""The ingest worker: :class:`IngestWorker` wires it, :func:`create_app` runs it under FastStream."""

from __future__ import annotations

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.ingest.domain import Reference
from services.ingest.handlers import register
from services.ingest.service import IngestService
from shared.config import Settings
from shared.db.session import create_engine, create_session_factory
from shared.kafka.broker import make_broker
from shared.outbox import OutboxRelay

__all__ = ["GROUP_ID", "IngestWorker", "create_app"]

GROUP_ID = "drx-ingest"


class IngestWorker:
    """Broker, database and outbox relay of one ingest process, started and stopped together."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings.database)
        self.sessions = create_session_factory(self.engine)
        self.relay = OutboxRelay(self.sessions, settings.kafka)
        self.service = IngestService(
            self.sessions, Reference.load(), settings.kafka.topic_prefix, on_commit=self.relay.wake
        )
        self.broker: KafkaBroker = make_broker(settings.kafka, "ingest", graceful_timeout=30.0)
        register(
            self.broker, self.service, settings.kafka.topic_prefix, f"{settings.kafka.topic_prefix}{GROUP_ID}"
        )

    async def start(self) -> None:
        await self.relay.start()
        await self.broker.start()

    async def stop(self) -> None:
        """Stop consuming (in-flight messages finish and commit), then drain and stop the relay."""
        await self.broker.stop()
        await self.relay.stop()
        await self.engine.dispose()


def create_app(settings: Settings) -> FastStream:
    worker = IngestWorker(settings)
    app = FastStream(worker.broker, specification=AsyncAPI(title="drx ingest", version="1.0.0"))

    @app.on_startup
    async def start_relay() -> None:
        await worker.relay.start()

    @app.after_shutdown
    async def stop_relay() -> None:
        await worker.relay.stop()
        await worker.engine.dispose()

    return app
