"""The notify worker: consumes matches, sends deliveries. :func:`create_app` runs it under FastStream."""

from __future__ import annotations

import datetime as dt

from faststream import FastStream

from services.notify.channels import Channels
from services.notify.delivery import DeliveryLoop
from services.notify.handlers import register
from services.notify.service import NotifyService
from services.notify.webhook_secrets import keyring_of
from shared.config import Settings
from shared.scheduling import Job
from shared.worker import Worker

__all__ = ["NotifyWorker", "create_app"]


class NotifyWorker(Worker):
    name = "notify"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        prefix = settings.kafka.topic_prefix
        self.delivery = DeliveryLoop(self.sessions, Channels(settings.notify), settings.notify, prefix)
        self.service = NotifyService(
            self.sessions,
            prefix,
            public_url=settings.notify.public_url,
            on_commit=self._committed,
            attempts=settings.worker.record_attempts,
            webhook_allow=settings.notify.webhook_allow_networks,
            keyring=keyring_of(settings.notify.sealing_keys()),
        )
        register(self.broker, self.service, prefix, self.group_id)

    def jobs(self) -> list[Job]:
        async def digests(now: dt.datetime) -> int:
            return await self.delivery.send_digests(now)

        async def retry(now: dt.datetime) -> int:
            return await self.delivery.dispatch(now)

        return [
            *super().jobs(),
            Job("notify.digests", self.check_every, digests, "hourly and daily digests of finished periods"),
            Job(
                "notify.retry-due", self.check_every, retry, "due retries and lapsed leases, across instances"
            ),
        ]

    def _committed(self) -> None:
        self.relay.wake()
        self.delivery.wake()

    async def start(self) -> None:
        await super().start()
        await self.delivery.start()

    async def stop(self) -> None:
        await self.delivery.stop()
        await super().stop()

    def app(self) -> FastStream:
        app = super().app()
        app.on_startup(self.delivery.start)
        app.on_shutdown(self.delivery.stop)
        return app


def create_app(settings: Settings) -> FastStream:
    return NotifyWorker(settings).app()
