from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.channels import Channels
from services.notify.delivery import DeliveryLoop
from services.notify.service import NotifyService
from services.notify.subscriptions import set_subscription
from services.notify.webhook_secrets import Issued, keyring_of, reveal_secret, rotate_secret
from shared.config import NotifySettings
from shared.db.models import DeliveryRow
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.events.examples import EXAMPLES
from shared.events.inbound import SubscriptionSet
from tests.support.kafka import eventually
from tests.support.receivers import HttpReceiver, SmtpReceiver

SECRETS_KEY = base64.b64encode(b"notify-tests-sealing-key-32bytes").decode()
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

    async def subscribe(
        self, subscription_id: str, *, receiver: HttpReceiver | None = None, **fields: Any
    ) -> Issued | None:
        """Store a subscription as ``drx subscribe add`` does; a new webhook one's secret is
        returned, and handed to ``receiver``, which then is that subscription's receiver."""
        sub = SubscriptionSet.model_validate({"subscription_id": subscription_id, **fields})
        keyring = keyring_of(self.settings.sealing_keys())
        async with self.service._sessions.begin() as session:  # tests share the factory
            issued = await set_subscription(session, PREFIX, sub, actor="test", keyring=keyring, reveal=True)
        if issued is not None and receiver is not None:
            receiver.hold_secret(subscription_id, issued.secret)
        return issued

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

    async def organisation_webhook(
        self, receiver: HttpReceiver | str, organisation_id: str = "trc-gaziantep"
    ) -> Issued | None:
        """The need's organisation (``match_event``'s) subscribed as ``s-org`` with a webhook to
        ``receiver``, which is given the subscription's secret (a bare URL is given nothing)."""
        return await self.subscribe(
            "s-org",
            receiver=receiver if isinstance(receiver, HttpReceiver) else None,
            recipient_id=organisation_id,
            recipient_kind="organisation",
            channel="webhook",
            address=receiver.url if isinstance(receiver, HttpReceiver) else receiver,
        )

    async def reveal(self, subscription_id: str, receiver: HttpReceiver | None = None) -> Issued:
        """What ``drx subscribe secret reveal`` does, the secret handed to ``receiver``."""
        return await reveal_to(self.service._sessions, self.settings, subscription_id, receiver)

    async def rotate(self, subscription_id: str, overlap: dt.timedelta) -> Issued:
        """What ``drx subscribe secret rotate`` does, at the notify clock's time."""
        keyring = keyring_of(self.settings.sealing_keys())
        assert keyring is not None
        async with self.service._sessions.begin() as session:
            return await rotate_secret(
                session, PREFIX, keyring, subscription_id, overlap=overlap, actor="operator", now=self.clock()
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


async def reveal_to(
    sessions: async_sessionmaker[AsyncSession],
    settings: NotifySettings,
    subscription_id: str,
    receiver: HttpReceiver | None = None,
    prefix: str = PREFIX,
) -> Issued:
    """What ``drx subscribe secret reveal`` does, the secret handed to ``receiver``."""
    keyring = keyring_of(settings.sealing_keys())
    assert keyring is not None
    async with sessions.begin() as session:
        issued = await reveal_secret(
            session, prefix, keyring, subscription_id, actor="operator", now=dt.datetime.now(dt.UTC)
        )
    if receiver is not None:
        receiver.hold_secret(subscription_id, issued.secret)
    return issued


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
        secrets_key=SECRETS_KEY,
        webhook_allow_networks="127.0.0.0/8",  # the receivers listen on 127.0.0.1; production allows none
    )


@pytest.fixture
async def notify(database, smtp, notify_settings) -> AsyncIterator[Notify]:
    engine = create_engine(database.settings)
    sessions = create_session_factory(engine)
    clock = Clock()
    service = NotifyService(
        sessions,
        PREFIX,
        clock=clock,
        webhook_allow=notify_settings.webhook_allow_networks,
        keyring=keyring_of(notify_settings.sealing_keys()),
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
