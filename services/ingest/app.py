"""The ingest worker: :class:`IngestWorker` wires it, :func:`create_app` runs it under FastStream."""

from __future__ import annotations

from faststream import FastStream

from services.ingest.domain import Reference
from services.ingest.handlers import register
from services.ingest.service import IngestService
from shared.config import Settings
from shared.worker import Worker

__all__ = ["IngestWorker", "create_app"]


class IngestWorker(Worker):
    name = "ingest"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        prefix = settings.kafka.topic_prefix
        self.service = IngestService(self.sessions, Reference.load(), prefix, on_commit=self.relay.wake)
        register(self.broker, self.service, prefix, self.group_id)


def create_app(settings: Settings) -> FastStream:
    return IngestWorker(settings).app()
