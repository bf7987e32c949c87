"""The whole path on real Kafka and PostgreSQL: post a need and pledges, and the right people hear.

Ingest, matching and notify run as workers; subscriptions arrive as events; email goes to a real
SMTP server, webhooks to a real HTTP receiver that checks signatures, and Kafka readers get the
notifications topic.
"""

from __future__ import annotations

import pytest

from shared.kafka.topics import MATCHES, NOTIFICATIONS, REJECTED, topic_name
from tests.integration.notify.conftest import reveal_to
from tests.support import builders as b
from tests.support.kafka import eventually
from tests.support.pipeline import running_pipeline
from tests.support.receivers import HttpReceiver

COORD, ORG, _, DONOR = (s[0] for s in b.SOURCES)
COORD_MAIL = "leyla@example.org"


@pytest.fixture
async def stack(settings, notify_settings, smtp):
    settings = settings.model_copy(update={"notify": notify_settings})
    async with (
        running_pipeline(settings, MATCHES, NOTIFICATIONS, REJECTED, notify=True) as pipeline,
        HttpReceiver() as receiver,
    ):
        yield pipeline, pipeline.notify, receiver


async def _subscribe(pipeline, sub_id: str, source: str, **fields) -> None:
    await pipeline.post("org.drx.subscription.set", {"subscription_id": sub_id, **fields}, source)


async def test_coordinator_organisation_and_donor_each_hear_once_on_their_channel(stack, smtp):
    pipeline, _notify, receiver = stack
    await _subscribe(
        pipeline,
        "s-coord",
        COORD,
        recipient_id="iom-desk",
        recipient_kind="coordinator",
        channel="email",
        address=COORD_MAIL,
        country="TUR",
        sector="shelter",
    )
    await _subscribe(
        pipeline,
        "s-org",
        ORG,
        recipient_id="trc-gaziantep",
        recipient_kind="organisation",
        channel="webhook",
        address=receiver.url,
    )
    await _subscribe(
        pipeline, "s-donor", DONOR, recipient_id="hta-berlin", recipient_kind="donor", channel="kafka"
    )
    # A donor may not subscribe as a coordinator, and a subscriber names no signing key.
    await _subscribe(
        pipeline, "s-sneaky", DONOR, recipient_id="hta-berlin", recipient_kind="coordinator", channel="kafka"
    )
    await _subscribe(
        pipeline,
        "s-keyed",
        COORD,
        recipient_id="iom-desk",
        recipient_kind="coordinator",
        channel="webhook",
        address=receiver.url,
        key_id="k1",  # the old scheme: a key id the operator configured, which anyone could name
    )
    rejected = await pipeline.wait_rejected(2)
    reasons = sorted(r["data"]["reason"] for r in rejected)
    assert any("key_id is no longer accepted: drx generates each webhook subscription" in r for r in reasons)
    assert any("may manage only its own donor subscriptions" in r for r in reasons)
    assert _notify is not None
    prefix = pipeline.settings.kafka.topic_prefix
    await reveal_to(_notify.sessions, pipeline.settings.notify, "s-org", receiver, prefix)

    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)  # 400 blankets
    await pipeline.wait_matching("need", "n-1")
    for pledge_id in ("p-1", "p-2"):  # 250 each
        await pipeline.post("org.drx.pledge.posted", b.pledge(pledge_id), DONOR)
    proposals = await pipeline.wait_matches(lambda ms: len(ms) >= 2, "two proposals")

    await eventually(
        lambda: _sync(len(smtp.to(COORD_MAIL)) >= 2 and len(receiver.accepted) >= 2), 30, "alerts"
    )
    donor_alerts = await pipeline.out.wait_for(
        lambda rs: (
            len(
                [
                    r
                    for r in rs
                    if r["type"] == "org.drx.notification.sent" and r["data"]["channel"] == "kafka"
                ]
            )
            >= 2
        ),
        30,
        "the donor's alerts on the notifications topic",
    )
    assert all(r.verified is None for r in receiver.requests)

    # Redelivering a match event (a replayed partition, say) alerts nobody again.
    first = proposals[0]
    for _ in range(2):
        await pipeline.send_raw(
            topic_name(pipeline.settings.kafka.topic_prefix, MATCHES),
            _encode(first),
            key=first["data"]["need_id"],
        )
    for proposal in proposals:
        await pipeline.post(
            "org.drx.match.decided",
            {"match_id": proposal["data"]["match_id"], "decision": "confirm", "decided_by": "Leyla"},
            COORD,
        )
    # Confirming both fills the need: the coordinator and the organisation hear it is filled.
    await eventually(
        lambda: _sync(any(m["Subject"].startswith("Filled") for m in smtp.to(COORD_MAIL))), 30, "filled"
    )
    await eventually(
        lambda: _sync(any(r.json["data"].get("kind") == "need.filled" for r in receiver.accepted)),
        30,
        "filled webhook",
    )
    subjects = [m["Subject"] for m in smtp.to(COORD_MAIL)]
    assert sorted(s.split(":")[0] for s in subjects) == ["Filled", "Proposed", "Proposed"]
    kinds = sorted(r.json["data"]["kind"] for r in receiver.accepted)
    assert kinds == ["match.confirmed", "match.confirmed", "match.proposed", "match.proposed", "need.filled"]
    assert len({r.delivery_id for r in receiver.accepted}) == 5
    assert len([r for r in donor_alerts if r["type"] == "org.drx.notification.sent"]) >= 2


def _encode(document: dict) -> bytes:
    return b.encode(document)


async def _sync(value: bool) -> bool:
    return value
