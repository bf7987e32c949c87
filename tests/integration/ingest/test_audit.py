"""Ingest writes an audit record with every change it makes, and the records reach the audit topic."""

from __future__ import annotations

from sqlalchemy import select

from shared import audit
from shared.db.models import AuditRecordRow
from shared.kafka.topics import AUDIT, topic_name
from tests.support import builders as b
from tests.support.kafka import TopicReader, eventually

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)


async def _records(ingest) -> list[AuditRecordRow]:
    async with ingest.worker.sessions() as session:
        return list(await session.scalars(select(AuditRecordRow).order_by(AuditRecordRow.seq)))


async def _wait_records(ingest, count: int) -> list[AuditRecordRow]:
    async def enough() -> bool:
        return len(await _records(ingest)) >= count

    await eventually(enough, 30, f"{count} audit records")
    return await _records(ingest)


async def test_every_change_leaves_an_audit_record_on_the_chain_and_the_topic(ingest):
    await ingest.declare(b.crisis("c-audit"))
    need = b.need("n-audit", crisis_id="c-audit")
    posted = await ingest.post("org.drx.need.posted", need, ORG, event_id="n-audit-1")
    await ingest.wait_row("need", "n-audit")
    await ingest.post("org.drx.need.updated", {**need, "urgency": "critical", "revision": 2}, ORG)
    await ingest.wait_row("need", "n-audit", lambda r: r.revision == 2)
    await ingest.post("org.drx.pledge.posted", b.pledge("p-audit", crisis_id="c-audit"), DONOR)
    await ingest.wait_row("pledge", "p-audit")
    await ingest.send_raw("org.drx.need.posted", b"this is not an event")
    await ingest.post("org.drx.need.posted", b.need("n-foreign", crisis_id="c-audit"), OTHER_ORG)
    await ingest.wait_rejected(2)
    await ingest.post("org.drx.crisis.closed", {"crisis_id": "c-audit", "revision": 2}, COORD)

    sources = [s[0] for s in b.SOURCES]
    records = await _wait_records(ingest, len(sources) + 8)
    summary = [(r.actor, r.action, r.entity_type, r.entity_id) for r in records]
    user = audit.cli_actor()
    assert summary[: len(sources)] == [(user, "source.added", "source", s) for s in sources]
    rest = summary[len(sources) :]
    assert rest[:4] == [
        (COORD, "crisis.declared", "crisis", "c-audit"),
        (ORG, "need.accepted", "need", "n-audit"),
        (ORG, "need.revised", "need", "n-audit"),
        (DONOR, "pledge.accepted", "pledge", "p-audit"),
    ]
    rejected = rest[4:6]  # on two partitions of one topic: they may commit in either order
    needs_topic = ingest.topic("org.drx.need.posted")
    assert {r[:3] for r in rejected} == {
        (OTHER_ORG, "input.rejected", "input"),
        ("unknown", "input.rejected", "input"),
    }
    assert all(r[3].startswith(f"{needs_topic}/") for r in rejected)
    assert rest[6:] == [
        (COORD, "crisis.closed", "crisis", "c-audit"),
        (COORD, "need.closed", "need", "n-audit"),
    ]

    by_action = {(r.action, r.entity_id): r for r in records}
    accepted = by_action["need.accepted", "n-audit"]
    assert accepted.before is None
    assert accepted.after is not None
    assert accepted.after["status"] == "open"
    assert accepted.causing_event_id == posted["id"] == "n-audit-1"
    assert accepted.correlation_id == "n-audit-1"
    revised = by_action["need.revised", "n-audit"]
    assert ((revised.before or {})["urgency"], (revised.after or {})["urgency"]) == ("high", "critical")
    closed = by_action["need.closed", "n-audit"]
    assert ((closed.before or {})["status"], (closed.after or {})["status"]) == ("open", "closed")
    reasons = [(r.after or {})["reason"] for r in records if r.action == "input.rejected"]
    assert any(reason.startswith("not authorised") for reason in reasons)

    async with ingest.worker.sessions() as session:
        report = await audit.verify_database(session)
    assert report.problem is None
    assert report.count == len(records)

    topic = topic_name(ingest.settings.kafka.topic_prefix, AUDIT)
    async with TopicReader(ingest.settings.kafka.bootstrap_servers, topic) as reader:
        events = await reader.wait_for(lambda rs: len(rs) >= len(records), what="audit events")
    assert [e["id"] for e in events] == [f"audit:{r.seq}" for r in records]  # one partition, in order
    assert {e["type"] for e in events} == {"org.drx.audit.recorded"}
    assert [e["data"]["hash"] for e in events] == [r.hash for r in records]


async def test_a_redelivered_or_stale_event_records_nothing(ingest):
    await ingest.declare(b.crisis("c-once"))
    document = await ingest.post("org.drx.crisis.declared", b.crisis("c-once"), COORD)  # stale: same rev
    await ingest.post("org.drx.crisis.declared", b.crisis("c-once"), COORD, event_id=document["id"])  # dup
    await ingest.post("org.drx.crisis.updated", b.crisis("c-once", revision=2, severity=3), COORD)
    await ingest.wait_row("crisis", "c-once", lambda r: r.revision == 2)
    records = await _records(ingest)
    assert [r.action for r in records if r.entity_type == "crisis"] == ["crisis.declared", "crisis.revised"]
