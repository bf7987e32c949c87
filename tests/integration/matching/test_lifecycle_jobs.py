"""Scheduled lifecycle jobs of ingest and matching, on the real pipeline with a hand-moved clock.

Each test builds two job runners (two instances, two engines) over the running workers' jobs,
so every job is also shown to run once per due slot however many instances check it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, text

from shared.db.models import AuditRecordRow, MatchingPledgeRow, MatchRow
from tests.support import builders as b
from tests.support.clock import ManualClock
from tests.support.jobs import run_once, two_instances
from tests.support.kafka import eventually

ORG, DONOR, COORD = b.ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]


def _clock_at(day: dt.date, hour: int = 9) -> ManualClock:
    return ManualClock(dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC))


async def test_owners_are_reminded_once_then_needs_expire_and_release_their_proposals(pipeline):
    today = b.today()
    await pipeline.declare(b.crisis())
    await pipeline.post(
        "org.drx.need.posted", b.need("n-1", needed_by=str(today + dt.timedelta(days=2))), ORG
    )
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)
    (proposal,) = await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    clock = _clock_at(today)
    async with two_instances(pipeline.worker, clock) as runners:
        assert (await run_once(runners, "ingest.remind-expiring")).count == 1
        reminder = await pipeline.out.wait_for(
            lambda rs: any(r["type"] == "org.drx.need.expiring" for r in rs), 30, "the reminder"
        )
        (event,) = [r for r in reminder if r["type"] == "org.drx.need.expiring"]
        assert event["data"]["owner_id"] == b.ORGANISATION[2]
        assert event["data"]["days_left"] == 2
        clock.advance(hours=1)
        assert (await run_once(runners, "ingest.remind-expiring")).count == 0  # once per need
        assert (await run_once(runners, "ingest.expire")).count == 0  # still needed tomorrow

        clock.advance(days=3)  # the day after needed-by
        assert (await run_once(runners, "ingest.expire")).count == 1
    expired = await pipeline.wait_row("need", "n-1", lambda row: row.status == "expired")
    assert expired.revision == 2
    released = await pipeline.wait_matches(
        lambda ms: any(m["data"]["status"] == "cancelled" for m in ms), "the proposal released"
    )
    cancelled = next(m for m in released if m["data"]["status"] == "cancelled")
    assert cancelled["data"]["match_id"] == proposal["data"]["match_id"]
    assert cancelled["data"]["reason"] == "need expired"
    assert await pipeline.ledger_violations() == []
    async with pipeline.worker.sessions() as session:
        actors = await session.scalars(
            select(AuditRecordRow.actor).where(AuditRecordRow.action == "need.expired")
        )
        assert list(actors) == ["urn:drx:service:ingest:scheduler"]


async def test_a_pledge_past_its_date_expires_but_its_confirmed_match_stands(pipeline):
    today = b.today()
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1", expires_on=str(today)), DONOR)
    (proposal,) = await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    match_id = proposal["data"]["match_id"]
    await pipeline.post(
        "org.drx.match.decided", {"match_id": match_id, "decision": "confirm", "decided_by": "c"}, COORD
    )
    await pipeline.wait_matches(lambda ms: any(m["data"]["status"] == "confirmed" for m in ms), "confirmed")
    clock = _clock_at(today + dt.timedelta(days=1))
    async with two_instances(pipeline.worker, clock) as runners:
        assert (await run_once(runners, "ingest.expire")).count == 1
    await pipeline.wait_row("pledge", "p-1", lambda row: row.status == "expired")

    async def matching_saw_it() -> bool:
        async with pipeline.worker.sessions() as session:
            return (await session.get(MatchingPledgeRow, "p-1")).status == "expired"

    await eventually(matching_saw_it, 30, "matching to hold the expired pledge")
    async with pipeline.worker.sessions() as session:
        assert (await session.get(MatchRow, match_id)).status == "confirmed"


async def test_undecided_proposals_are_reminded_once_then_expire_and_capacity_moves_on(pipeline):
    matcher = pipeline.matchers[0]
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1", urgency="critical"), ORG)
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250, all to n-1
    (proposal,) = await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    await pipeline.post("org.drx.need.posted", b.need("n-2"), ORG)  # nothing left for it yet
    await pipeline.wait_matching("need", "n-2")
    ttl = dt.timedelta(hours=matcher.settings.schedule.proposal_ttl_h)
    remind_after = dt.timedelta(hours=matcher.settings.schedule.proposal_reminder_h)
    clock = ManualClock(dt.datetime.now(dt.UTC))
    async with two_instances(matcher, clock) as runners:
        assert (await run_once(runners, "matching.remind-proposals")).count == 0  # too early
        clock.advance(seconds=remind_after.total_seconds() + 60)
        assert (await run_once(runners, "matching.remind-proposals")).count == 1
        clock.advance(minutes=5)
        assert (await run_once(runners, "matching.remind-proposals")).count == 0  # once per proposal
        assert (await run_once(runners, "matching.expire-proposals")).count == 0  # not yet
        clock.advance(seconds=(ttl - remind_after).total_seconds())
        assert (await run_once(runners, "matching.expire-proposals")).count == 1

    matches = await pipeline.wait_matches(
        lambda ms: (
            any(m["data"]["status"] == "expired" for m in ms)
            and any(m["data"]["need_id"] == "n-2" for m in ms)
        ),
        "the expiry and a proposal to the other need",
    )
    reminders = pipeline.out.of_type("org.drx.match.reminder")
    assert [r["data"]["match_id"] for r in reminders] == [proposal["data"]["match_id"]]
    expired = next(m for m in matches if m["data"]["status"] == "expired")
    assert expired["data"]["match_id"] == proposal["data"]["match_id"]
    assert [m["data"]["pledge_id"] for m in matches if m["data"]["need_id"] == "n-2"] == ["p-1"]
    assert not [m for m in pipeline.matches_of("proposed")[1:] if m["data"]["need_id"] == "n-1"]
    assert await pipeline.ledger_violations() == []


async def test_the_sweep_finds_what_the_event_path_missed_and_counts_it(pipeline):
    matcher = pipeline.matchers[0]
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)  # 400
    await pipeline.wait_matching("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250
    await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    clock = ManualClock(dt.datetime.now(dt.UTC))
    async with two_instances(matcher, clock) as runners:
        assert (await run_once(runners, "matching.sweep")).count == 0  # the event path did its job

        # A pledge that reached matching's table without its event being processed (a bug).
        async with matcher.sessions.begin() as session:
            row = await session.get(MatchingPledgeRow, "p-1")
            columns = {c.key: getattr(row, c.key) for c in MatchingPledgeRow.__table__.columns}
            await session.execute(
                insert(MatchingPledgeRow).values(
                    {
                        **columns,
                        "pledge_id": "p-missed",
                        "allocated": 0,
                        "state": {**row.state, "pledge_id": "p-missed"},
                    }
                )
            )
        clock.advance(minutes=matcher.settings.schedule.sweep_every_min)
        assert (await run_once(runners, "matching.sweep")).count == 1
        clock.advance(minutes=matcher.settings.schedule.sweep_every_min)
        assert (await run_once(runners, "matching.sweep")).count == 0
    await pipeline.wait_matches(
        lambda ms: any(m["data"]["pledge_id"] == "p-missed" for m in ms), "the missed proposal"
    )
    assert await pipeline.ledger_violations() == []


async def test_old_idempotency_records_are_pruned_and_recent_ones_kept(pipeline):
    matcher = pipeline.matchers[0]
    async with matcher.sessions.begin() as session:
        await session.execute(
            text(
                "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES "
                "('matching', 'old', now() - interval '40 days'), ('matching', 'recent', now()), "
                "('ingest', 'old-ingest', now() - interval '40 days')"
            )
        )
    clock = ManualClock(dt.datetime.now(dt.UTC))
    async with two_instances(matcher, clock) as runners:
        assert (await run_once(runners, "matching.prune-idempotency")).count == 1
    async with matcher.sessions() as session:
        left = set(await session.scalars(text("SELECT event_id FROM processed_events")))
    assert {"recent", "old-ingest"} <= left
    assert "old" not in left
