"""``drx deliveries retry`` on real PostgreSQL with a real HTTP receiver and notify's delivery loop.

The receiver answers 500 until it is fixed, so the delivery dead-letters; after the fix one
retry makes it arrive exactly once, and a second retry answers that it was already sent.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess

from sqlalchemy import select

from shared.db.models import AuditRecordRow, OutboxMessage
from tests.integration.notify.conftest import PREFIX, match_event
from tests.support.cli import run_drx
from tests.support.receivers import HttpReceiver


async def drx(database, command: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, off the event loop so the delivery loop keeps running."""
    env = {
        "DRX_DATABASE_URL": database.url,
        "DRX_KAFKA_TOPIC_PREFIX": PREFIX,
        "DRX_LOG_LEVEL": "WARNING",
        "COLUMNS": "400",
    }
    return await asyncio.to_thread(run_drx, *shlex.split(command), env=env)


async def test_a_dead_letter_retried_after_the_fix_arrives_once_and_a_second_retry_says_it_was_sent(
    database, notify
):
    async with HttpReceiver(status=500) as receiver:
        url = receiver.url
        await notify.organisation_webhook(receiver)
        await notify.loop.start()
        await notify.service.handle(match_event())
        (dead,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")
        assert len(receiver.requests) == notify.settings.max_attempts

        receiver.status = 200  # the receiver's owner fixed it
        first = await drx(database, f"deliveries retry {dead.delivery_id} --actor operator")
        assert first.returncode == 0, first.stderr
        assert f"{dead.delivery_id}: retried" in first.stdout
        (sent,) = await notify.wait_deliveries(
            lambda ds: ds and ds[0].status == "sent", "sent after the retry"
        )
        assert sent.attempts == 1

        second = await drx(database, f"deliveries retry {dead.delivery_id}")
        assert second.returncode == 0, second.stderr
        assert f"{dead.delivery_id}: not retried, it is sent already" in second.stdout
    assert [r.delivery_id for r in receiver.accepted] == [dead.delivery_id]  # arrived once

    async with notify.service._sessions() as session:
        records = list(
            await session.scalars(
                select(AuditRecordRow).where(
                    AuditRecordRow.entity_id == dead.delivery_id, AuditRecordRow.action == "delivery.retried"
                )
            )
        )
        sent_events = [
            m
            for m in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic == f"{PREFIX}notifications")
            )
            if dead.delivery_id.encode() in m.payload
        ]
    assert len(sent_events) == 1  # one org.drx.notification.sent for Kafka, as for any delivery
    assert len(records) == 1  # the second retry changed nothing
    (record,) = records
    assert record.actor == "operator"
    text = json.dumps([record.before, record.after])
    assert url not in text
    assert "127.0.0.1" not in text


async def test_unknown_ids_exit_2_after_the_known_ones_are_answered(database, notify):
    async with HttpReceiver(status=500) as receiver:
        await notify.organisation_webhook(receiver)
        await notify.loop.start()
        await notify.service.handle(match_event())
        (dead,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")
        await notify.loop.stop()
    result = await drx(database, f"deliveries retry {dead.delivery_id} d-nonesuch")
    assert result.returncode == 2
    assert f"{dead.delivery_id}: retried" in result.stdout
    assert "d-nonesuch: no such delivery" in result.stdout
    again = await drx(database, f"deliveries retry {dead.delivery_id}")
    assert f"{dead.delivery_id}: not retried, it is pending already" in again.stdout


async def test_all_dead_needs_a_time_with_its_zone(database, notify):
    missing = await drx(database, "deliveries retry --all-dead")
    assert missing.returncode == 2
    assert "--all-dead needs --since" in missing.stderr
    naive = await drx(database, "deliveries retry --all-dead --since 2026-12-01T00:00")
    assert naive.returncode == 2
    assert "has no time zone" in naive.stderr
    none = await drx(database, "deliveries retry --all-dead --since 2026-12-01T00:00Z")
    assert none.returncode == 0, none.stderr
    assert "no dead letters created since" in none.stdout
