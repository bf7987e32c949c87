from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from services.notify.channels import Channels
from services.notify.delivery import DeliveryLoop
from services.notify.service import NotifyService
from services.notify.subscriptions import set_subscription
from shared.config import NotifySettings
from shared.db.models import DeliveryRow
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.events.examples import EXAMPLES
from shared.events.inbound import SubscriptionSet
from tests.support.kafka import eventually
from tests.support.receivers import SmtpReceiver

KEYS = {"k1": "test-secret-one"}
PREFIX = "t-notify."


class Clock:
    """Real time plus an offset the test can jump forward (notify reads time only through it)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


def match_event(status: str = "proposed", match_id: str = "m-3f2a9c", **changes: Any) -> CloudEvent:
    """The example match event, for another match or status (a fresh id per status and match)."""
    document = EXAMPLES["org.drx.match.proposed"]
    revision = {"proposed": 1, "confirmed": 2}.get(status, 3)
    data = {**document["data"], "match_id": match_id, "status": status, "revision": revision, **changes}
    return CloudEvent.model_validate(
        {**document, "id": f"{match_id}:r{revision}", "type": f"org.drx.match.{status}", "data": data}
    )


def coverage_event(**changes: Any) -> CloudEvent:
    """The example coverage event with ``changes``; its id follows the data, as matching's do."""
    document = EXAMPLES["org.drx.need.coverage"]
    data = {**document["data"], **changes}
    event_id = f"coverage:{data['need_id']}:{data['status']}:{data['filled']}"
    return CloudEvent.model_validate({**document, "id": event_id, "data": data})


@dataclass
class Notify:
    """NotifyService and DeliveryLoop on a real database, with a hand-moved clock."""

    service: NotifyService
    loop: DeliveryLoop
    clock: Clock
    smtp: SmtpReceiver
    settings: NotifySettings

    async def subscribe(self, subscription_id: str, **fields: Any) -> None:
        sub = SubscriptionSet.model_validate({"subscription_id": subscription_id, **fields})
        async with self.service._sessions.begin() as session:  # tests share the factory
            await set_subscription(session, PREFIX, sub, actor="test")

    async def coordinator_email(self, subscription_id: str = "s-coord", **fields: Any) -> None:
        """Coordinator Leyla subscribed by email at leyla@example.org; ``fields`` add filters, digest."""
        await self.subscribe(
            subscription_id,
            recipient_id="coord-leyla",
            recipient_kind="coordinator",
            channel="email",
            address="leyla@example.org",
            **fields,
        )

    async def organisation_webhook(self, url: str, organisation_id: str = "trc-gaziantep") -> None:
        """The need's organisation (``match_event``'s) subscribed with a webhook at ``url``, key k1."""
        await self.subscribe(
            "s-org",
            recipient_id=organisation_id,
            recipient_kind="organisation",
            channel="webhook",
            address=url,
            key_id="k1",
        )

    async def deliveries(self, **where: Any) -> list[DeliveryRow]:
        async with self.service._sessions() as session:
            query = select(DeliveryRow).order_by(DeliveryRow.created_at, DeliveryRow.delivery_id)
            for column, value in where.items():
                query = query.where(getattr(DeliveryRow, column) == value)
            return list(await session.scalars(query))

    async def wait_deliveries(
        self, predicate, what: str, timeout: float = 20, **where: Any
    ) -> list[DeliveryRow]:
        async def met() -> bool:
            return bool(predicate(await self.deliveries(**where)))

        await eventually(met, timeout, what)
        return await self.deliveries(**where)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def notify_settings(smtp: SmtpReceiver) -> NotifySettings:
    return NotifySettings(
        smtp_port=smtp.port,
        webhook_timeout_s=10.0,
        backoff_base_s=0.05,
        backoff_max_s=0.2,
        max_attempts=4,
        webhook_keys=KEYS,
        webhook_allow_networks="127.0.0.0/8",  # the receivers listen on 127.0.0.1; production allows none
    )


@pytest.fixture
async def notify(database, smtp, notify_settings) -> AsyncIterator[Notify]:
    engine = create_engine(database.settings)
    sessions = create_session_factory(engine)
    clock = Clock()
    service = NotifyService(
        sessions, PREFIX, clock=clock, webhook_allow=notify_settings.webhook_allow_networks
    )
    loop = DeliveryLoop(
        sessions,
        Channels(notify_settings),
        notify_settings,
        PREFIX,
        clock=clock,
        jitter=lambda: 0.5,
        poll_interval=0.05,
    )
    try:
        yield Notify(service, loop, clock, smtp, notify_settings)
    finally:
        await loop.stop()
        await engine.dispose()
