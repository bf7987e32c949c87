"""Reminders and expiry notices, and notify's scheduled jobs (digests, due retries), on real servers."""

from __future__ import annotations

import datetime as dt

from services.notify.app import NotifyWorker
from shared.events.envelope import CloudEvent
from shared.events.examples import EXAMPLES
from tests.integration.notify.conftest import match_event
from tests.support.clock import ManualClock
from tests.support.jobs import run_once, two_instances
from tests.support.kafka import eventually

ORG, DONOR = "trc-gaziantep", "hta-berlin"
COORD_MAIL = "leyla@example.org"


async def _subscribe_all(notify, **coordinator):
    await notify.subscribe(
        "s-coord",
        recipient_id="coord-leyla",
        recipient_kind="coordinator",
        channel="email",
        address=COORD_MAIL,
        **coordinator,
    )
    await notify.subscribe(
        "s-org", recipient_id=ORG, recipient_kind="organisation", channel="email", address="org@example.org"
    )
    await notify.subscribe(
        "s-donor", recipient_id=DONOR, recipient_kind="donor", channel="email", address="donor@example.org"
    )


def _event(event_type: str, **envelope) -> CloudEvent:
    return CloudEvent.model_validate({**EXAMPLES[event_type], **envelope})


async def test_a_reminder_reaches_the_coordinators_only_and_only_once(notify):
    await _subscribe_all(notify)
    await notify.service.handle(match_event())
    reminder = _event("org.drx.match.reminder")
    assert (await notify.service.handle(reminder)).deliveries == 1
    assert (await notify.service.handle(reminder.model_copy(update={"id": "again"}))).deliveries == 0
    reminded = await notify.deliveries(kind="match.reminder")
    assert [d.recipient_id for d in reminded] == ["coord-leyla"]
    assert reminded[0].subject.startswith("Waiting for a decision: 250 piece")
    assert "drx decide confirm m-3f2a9c" in reminded[0].text


async def test_an_owner_hears_that_a_need_or_a_pledge_ends_soon(notify):
    await _subscribe_all(notify)
    for event_type in ("org.drx.need.expiring", "org.drx.pledge.expiring"):
        assert (await notify.service.handle(_event(event_type))).deliveries == 1
    assert (await notify.service.handle(_event("org.drx.need.recorded"))).outcome == "ignored"
    (need,) = await notify.deliveries(kind="need.expiring")
    (pledge,) = await notify.deliveries(kind="pledge.expiring")
    assert (need.recipient_id, pledge.recipient_id) == (ORG, DONOR)
    assert need.subject == "Needed by 2026-12-20 (in 3 days): Blankets for the Gaziantep tent camp"
    assert "--action updated" in pledge.text


async def test_digests_and_due_deliveries_go_out_through_the_scheduled_jobs(
    notify, settings, notify_settings
):
    worker = NotifyWorker(settings.model_copy(update={"notify": notify_settings}))
    await notify.subscribe(
        "s-coord",
        recipient_id="coord-leyla",
        recipient_kind="coordinator",
        channel="email",
        address=COORD_MAIL,
        digest="hourly",
    )
    for number in range(3):
        await worker.service.handle(match_event(match_id=f"m-{number}"))
    clock = ManualClock(dt.datetime.now(dt.UTC))
    await worker.delivery._channels.start()  # the channels only: no loop of its own sending meanwhile
    try:
        async with two_instances(worker, clock) as runners:
            assert (await run_once(runners, "notify.digests")).count == 0  # the hour is still open
            assert (await run_once(runners, "notify.retry-due")).count == 0  # all held for the digest
            clock.advance(hours=1, minutes=1)
            assert (await run_once(runners, "notify.digests")).count == 1
            assert (await run_once(runners, "notify.retry-due")).count == 1

            async def mailed() -> bool:
                return len(notify.smtp.to(COORD_MAIL)) == 1

            await eventually(mailed, 20, "the digest email")
        assert str(notify.smtp.to(COORD_MAIL)[0]["Subject"]).startswith("drx digest: 3 updates")
        await notify.wait_deliveries(
            lambda ds: len(ds) == 1 and ds[0].status == "sent", "sent", kind="digest"
        )
    finally:
        await worker.delivery.stop()
        await worker.engine.dispose()
