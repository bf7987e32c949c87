"""Audit records the delivery loop writes name the event that planned the delivery (issue 5).

A delivery is planned when its match event is consumed and sent or dead-lettered later, by the
loop, in another transaction; the cause travels on the delivery row. A digest has no causing
event and its own delivery id as correlation id (docs/notify.md).
"""

from __future__ import annotations

from sqlalchemy import select

from shared.db.models import AuditRecordRow, OutboxMessage
from shared.events.envelope import CloudEvent
from shared.kafka.topics import NOTIFICATIONS, topic_name
from tests.integration.notify.conftest import PREFIX, match_event
from tests.support.receivers import HttpReceiver

ORG = "trc-gaziantep"


async def _records(notify, entity_id: str) -> dict[str, AuditRecordRow]:
    async with notify.service._sessions() as session:
        rows = await session.scalars(select(AuditRecordRow).where(AuditRecordRow.entity_id == entity_id))
        return {row.action: row for row in rows}


async def _sent_events(notify) -> list[CloudEvent]:
    topic = topic_name(PREFIX, NOTIFICATIONS)
    async with notify.service._sessions() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic))
        return [CloudEvent.model_validate_json(row.payload) for row in rows]


async def test_a_sent_email_is_audited_with_the_match_event_and_its_correlation(notify):
    await notify.coordinator_email()
    event = match_event().model_copy(update={"correlationid": "flow-need-0"})
    await notify.service.handle(event)
    await notify.loop.start()
    (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "the email sent")

    records = await _records(notify, row.delivery_id)
    assert set(records) == {"notification.pending", "notification.sent"}
    for action, record in records.items():
        assert (record.causing_event_id, record.correlation_id) == (event.id, "flow-need-0"), action
    (sent,) = await _sent_events(notify)
    assert (sent.id, sent.correlationid) == (row.delivery_id, "flow-need-0")


async def test_a_dead_letter_is_audited_with_the_match_event_and_falls_back_to_its_id(notify):
    async with HttpReceiver(status=410) as receiver:
        await notify.organisation_webhook(receiver)
        event = match_event()
        assert event.correlationid is None
        await notify.service.handle(event)
        await notify.loop.start()
        (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")

    dead = (await _records(notify, row.delivery_id))["notification.dead_lettered"]
    assert (dead.causing_event_id, dead.correlation_id) == (event.id, event.id)
    assert dead.after is not None
    assert "410" in dead.after["last_error"]


async def test_a_digest_has_no_cause_and_its_own_id_as_correlation(notify):
    await notify.coordinator_email(digest="hourly")
    events = [match_event(match_id=f"m-{n}") for n in range(2)]
    for event in events:
        await notify.service.handle(event)
    held = await notify.deliveries(status="held")
    assert {(d.causing_event_id, d.correlation_id) for d in held} == {(e.id, e.id) for e in events}
    notify.clock.advance(hours=1)
    assert await notify.loop.send_digests() == 1
    await notify.loop.start()
    (digest,) = await notify.wait_deliveries(
        lambda ds: ds and ds[0].status == "sent", "the digest sent", kind="digest"
    )

    records = await _records(notify, digest.delivery_id)
    assert set(records) == {"notification.digested", "notification.sent"}
    for action, record in records.items():
        assert (record.causing_event_id, record.correlation_id) == (None, digest.delivery_id), action
