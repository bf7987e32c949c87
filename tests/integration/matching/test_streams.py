"""Hypothesis-made event streams through the matching service on real PostgreSQL.

Needs, pledges, withdrawals, revised quantities (up or down, below what is held) and
coordinator decisions (deliveries short of the match included) in random order; after every event the
ledgers must equal the live matches and stay within quantities, and at the end nothing eligible
may be left unmatched. Each example has its own crisis, so examples cannot match each other.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from services.matching.domain import Eligible, eligibility
from services.matching.mapping import need_view, pledge_view, skill_tree
from services.matching.service import MatchingService
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.intake.parsing import SourcePosition
from shared.reference import load_catalogue, load_skills
from tests.integration.matching.conftest import declined_pairs
from tests.support import builders as b

ITEMS = ["HSHEBLANWHT1", "HSHEBLANCLT1", "HSHETENTF16C"]
TODAY = b.today()

_op = st.one_of(
    st.tuples(
        st.just("need"), st.sampled_from(ITEMS), st.integers(1, 300), st.sampled_from(["critical", "low"])
    ),
    st.tuples(st.just("pledge"), st.sampled_from(ITEMS), st.integers(1, 300), st.booleans()),
    st.tuples(st.just("withdraw_need"), st.integers(0, 20)),
    st.tuples(st.just("withdraw_pledge"), st.integers(0, 20)),
    st.tuples(st.just("resize_need"), st.integers(0, 20), st.integers(1, 300)),
    st.tuples(st.just("resize_pledge"), st.integers(0, 20), st.integers(1, 300)),
    st.tuples(
        st.just("decide"),
        st.sampled_from(["confirm", "reject", "cancel", "fulfilled"]),
        st.integers(0, 20),
        st.one_of(st.none(), st.integers(1, 300)),  # delivered, for "fulfilled"; None: all of it
    ),
)


@pytest.fixture
async def service(database):
    engine = create_engine(database.settings)
    sessions = create_session_factory(engine)
    yield MatchingService(sessions, load_catalogue(), skill_tree(load_skills()), "drx."), sessions
    await engine.dispose()


def _supplies(item: str, quantity: int) -> dict:
    return {
        "category": "supplies",
        "item_code": item,
        "quantity": str(quantity),
        "unit": "piece",
        "base_quantity": str(quantity),
        "base_unit": "piece",
    }


def _event(kind: str, data: dict) -> CloudEvent:
    return CloudEvent(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source="urn:drx:service:ingest",
        type=f"org.drx.{kind}.recorded",
        time=dt.datetime.now(dt.UTC),
        data=data,
    )


async def _check_ledgers(sessions, crisis: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for need in await session.scalars(select(MatchingNeedRow).where(MatchingNeedRow.crisis_id == crisis)):
            live = await session.scalar(
                select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                    MatchRow.need_id == need.need_id, MatchRow.status.in_(("proposed", "confirmed"))
                )
            )
            assert need.proposed + need.confirmed == live, need.need_id
            assert need.proposed + need.confirmed + need.fulfilled <= need.quantity
        pledges = select(MatchingPledgeRow).where(MatchingPledgeRow.earmark_crises.contains([crisis]))
        for pledge in await session.scalars(pledges):
            held = func.coalesce(
                MatchRow.delivered_quantity, MatchRow.quantity
            )  # a fulfilled match: what arrived
            live = await session.scalar(
                select(func.coalesce(func.sum(held), 0)).where(
                    MatchRow.pledge_id == pledge.pledge_id,
                    MatchRow.status.in_(("proposed", "confirmed", "fulfilled")),
                )
            )
            assert pledge.allocated == live, pledge.pledge_id
            assert pledge.allocated <= pledge.quantity


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, min_size=5, max_size=30))
async def test_random_event_streams_keep_every_invariant(service, ops):
    matching, sessions = service
    crisis = f"c-{uuid.uuid4().hex[:8]}"
    needs: list[dict] = []
    pledges: list[dict] = []
    position = SourcePosition("drx.canonical", 0, 0)
    for op in ops:
        match op:
            case ("need", item, quantity, urgency):
                state = {
                    **b.need(f"{crisis}-n{len(needs)}", crisis_id=crisis, urgency=urgency),
                    "spec": _supplies(item, quantity),
                    "status": "open",
                    "source": "urn:x",
                    "revision": 1,
                }
                needs.append(state)
                await matching.handle(_event("need", state), TODAY, position=position)
            case ("pledge", item, quantity, standing):
                state = {
                    **b.pledge(
                        f"{crisis}-p{len(pledges)}",
                        crisis_id=None if standing else crisis,
                        earmarks={"crises": [crisis]},
                    ),
                    "spec": _supplies(item, quantity),
                    "status": "active",
                    "source": "urn:y",
                    "revision": 1,
                }
                pledges.append(state)
                await matching.handle(_event("pledge", state), TODAY, position=position)
            case ("withdraw_need", index) if needs:
                state = needs[index % len(needs)]
                state.update(status="withdrawn", revision=state["revision"] + 1)
                await matching.handle(_event("need", dict(state)), TODAY, position=position)
            case ("withdraw_pledge", index) if pledges:
                state = pledges[index % len(pledges)]
                state.update(status="withdrawn", revision=state["revision"] + 1)
                await matching.handle(_event("pledge", dict(state)), TODAY, position=position)
            case ("resize_need", index, quantity) if needs:
                state = needs[index % len(needs)]
                state.update(
                    spec=_supplies(state["spec"]["item_code"], quantity), revision=state["revision"] + 1
                )
                await matching.handle(_event("need", dict(state)), TODAY, position=position)
            case ("resize_pledge", index, quantity) if pledges:
                state = pledges[index % len(pledges)]
                state.update(
                    spec=_supplies(state["spec"]["item_code"], quantity), revision=state["revision"] + 1
                )
                await matching.handle(_event("pledge", dict(state)), TODAY, position=position)
            case ("decide", decision, index, delivered):
                async with sessions() as session:
                    ids = list(
                        await session.scalars(
                            select(MatchRow.match_id)
                            .where(MatchRow.crisis_id == crisis)
                            .order_by(MatchRow.match_id)
                        )
                    )
                if ids:
                    data = {
                        "match_id": ids[index % len(ids)],
                        "decision": decision,
                        "decided_by": "c",
                        "source": "urn:coord",
                    }
                    if decision == "fulfilled" and delivered is not None:
                        data["fulfilled_quantity"] = str(delivered)
                    await matching.handle(_event("decision", data), TODAY, position=position)
        await _check_ledgers(sessions, crisis)

    tree = skill_tree(load_skills())
    async with sessions() as session:
        open_needs = [
            need_view(n)
            for n in await session.scalars(
                select(MatchingNeedRow).where(
                    MatchingNeedRow.crisis_id == crisis, MatchingNeedRow.status == "open"
                )
            )
        ]
        active = [
            pledge_view(p)
            for p in await session.scalars(
                select(MatchingPledgeRow).where(
                    MatchingPledgeRow.earmark_crises.contains([crisis]), MatchingPledgeRow.status == "active"
                )
            )
        ]
        declined = await declined_pairs(session)
    left = [
        (n.need_id, p.pledge_id)
        for n in open_needs
        for p in active
        if isinstance(eligibility(n, p, TODAY, tree), Eligible) and (n.need_id, p.pledge_id) not in declined
    ]
    assert left == []
