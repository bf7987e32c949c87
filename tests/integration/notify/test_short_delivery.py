"""A short delivery on the real stack: 200 of a confirmed 250 arrive (issue 16, item 2).

The numbers people see must agree with the database: the match row, the ``match.fulfilled``
event, its audit record, the "Delivered: …" notices and ``drx matches`` all say 200 of 250, and
the ledgers follow docs/matching.md: the need lacks the 50 again, the pledge offers them again.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from shared.db.models import AuditRecordRow, MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.kafka.topics import MATCHES, NOTIFICATIONS, REJECTED
from tests.support import builders as b
from tests.support.cli import run_drx, settings_env
from tests.support.kafka import eventually
from tests.support.pipeline import running_pipeline

COORD, ORG, _, DONOR = (s[0] for s in b.SOURCES)
ORG_MAIL = "field@trc.example.org"


@pytest.fixture
async def pipeline(settings, notify_settings, smtp):
    settings = settings.model_copy(update={"notify": notify_settings})
    async with running_pipeline(settings, MATCHES, NOTIFICATIONS, REJECTED, notify=True) as pipeline:
        yield pipeline


async def test_a_short_delivery_reads_the_same_in_the_database_event_audit_notices_and_listing(
    pipeline, smtp
):
    await pipeline.post(
        "org.drx.subscription.set",
        {
            "subscription_id": "s-org",
            "recipient_id": "trc-gaziantep",
            "recipient_kind": "organisation",
            "channel": "email",
            "address": ORG_MAIL,
        },
        ORG,
    )
    await pipeline.post(
        "org.drx.subscription.set",
        {
            "subscription_id": "s-donor",
            "recipient_id": "hta-berlin",
            "recipient_kind": "donor",
            "channel": "kafka",
        },
        DONOR,
    )
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)  # 400 blankets
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250
    (proposal,) = await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    match_id = proposal["data"]["match_id"]
    await pipeline.post(
        "org.drx.match.decided", {"match_id": match_id, "decision": "confirm", "decided_by": "Leyla"}, COORD
    )
    await pipeline.wait_matches(lambda ms: any(m["data"]["status"] == "confirmed" for m in ms), "confirmed")
    await pipeline.post(
        "org.drx.match.decided",
        {"match_id": match_id, "decision": "fulfilled", "decided_by": "Leyla", "fulfilled_quantity": "200"},
        COORD,
    )
    # The 50 that did not arrive are demand on the need and capacity on the pledge again, so the
    # same pair is proposed again for them.
    matches = await pipeline.wait_matches(
        lambda ms: (
            any(m["data"]["status"] == "fulfilled" for m in ms)
            and any(m["data"]["match_id"] != match_id for m in ms)
        ),
        "the fulfilment and a proposal for the shortfall",
    )

    # The database.
    async with pipeline.worker.sessions() as session:
        match = await session.get(MatchRow, match_id)
        need = await session.get(MatchingNeedRow, "n-1")
        pledge = await session.get(MatchingPledgeRow, "p-1")
        (audit,) = await session.scalars(
            select(AuditRecordRow).where(
                AuditRecordRow.entity_id == match_id, AuditRecordRow.action == "match.fulfilled"
            )
        )
    assert match is not None
    assert need is not None
    assert pledge is not None
    assert (match.status, match.quantity, match.delivered_quantity) == ("fulfilled", 250, 200)
    assert (need.proposed, need.confirmed, need.fulfilled) == (50, 0, 200)
    assert pledge.allocated == 250  # 200 delivered and the 50 proposed again
    (again,) = [m for m in matches if m["data"]["match_id"] != match_id]
    assert (again["data"]["pledge_id"], Decimal(again["data"]["quantity"])) == ("p-1", 50)
    assert await pipeline.ledger_violations() == []

    # The event and the audit record.
    (fulfilled,) = pipeline.matches_of("fulfilled")
    assert Decimal(fulfilled["data"]["quantity"]) == match.quantity
    assert Decimal(fulfilled["data"]["delivered_quantity"]) == match.delivered_quantity
    assert audit.after is not None
    assert Decimal(audit.after["delivered_quantity"]) == match.delivered_quantity
    assert Decimal(audit.after["quantity"]) == match.quantity

    # The notices: the organisation's email and the donor's message on the notifications topic.
    await eventually(
        lambda: _now(any(m["Subject"].startswith("Delivered") for m in smtp.to(ORG_MAIL))), 30, "the email"
    )
    (mail,) = [m for m in smtp.to(ORG_MAIL) if m["Subject"].startswith("Delivered")]
    assert mail["Subject"].startswith("Delivered: 200 of 250 piece for ")
    body = mail.get_content()
    assert "200 of 250 piece delivered" in body
    assert "The other 50 piece are open again for this need" in body
    donor = await pipeline.out.wait_for(
        lambda rs: any(_delivered_notice(r) for r in rs), 30, "the donor's delivered notice"
    )
    (notice,) = [r for r in donor if _delivered_notice(r)]
    assert "200 of 250 piece delivered" in notice["data"]["text"]
    assert "The other 50 piece are offered again from your pledge" in notice["data"]["text"]

    # The listing.
    result = run_drx(
        "matches",
        "--status",
        "fulfilled",
        env=settings_env(pipeline.settings, DRX_LOG_LEVEL="WARNING", COLUMNS="250"),
    )
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if match_id in line]
    assert "200 of 250 piece" in row


def _delivered_notice(record: dict) -> bool:
    data = record["data"]
    return (
        record["type"] == "org.drx.notification.sent"
        and data["channel"] == "kafka"
        and data["subject"].startswith("Delivered")
    )


async def _now(value: bool) -> bool:
    return value
