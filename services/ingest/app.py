"""The ingest worker: :class:`IngestWorker` wires it, :func:`create_app` runs it under FastStream."""

from __future__ import annotations

import datetime as dt

from faststream import FastStream

from services.ingest.domain import Reference
from services.ingest.handlers import register
from services.ingest.service import IngestService
from shared.config import Settings
from shared.scheduling import Job
from shared.worker import Worker

__all__ = ["IngestWorker", "create_app"]


class IngestWorker(Worker):
    name = "ingest"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        prefix = settings.kafka.topic_prefix
        self.service = IngestService(
            self.sessions,
            Reference.load(),
            prefix,
            on_commit=self.relay.wake,
            attempts=settings.worker.record_attempts,
        )
        register(self.broker, self.service, prefix, self.group_id)

    def jobs(self) -> list[Job]:
        days = self.settings.schedule.expiry_reminder_days

        async def remind(now: dt.datetime) -> int:
            return await self.service.remind_expiring(now, days)

        return [
            *super().jobs(),
            Job(
                "ingest.expire",
                self.check_every,
                self.service.expire_due,
                "needs and pledges past their date",
            ),
            Job(
                "ingest.remind-expiring", self.check_every, remind, "owners of needs and pledges ending soon"
            ),
        ]


def create_app(settings: Settings) -> FastStream:
    return IngestWorker(settings).app()
