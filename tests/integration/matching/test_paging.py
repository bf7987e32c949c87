"""Candidates in pages: more than one page of needs or funds pledges, on real PostgreSQL.

Matching loads, locks and ranks at most ``PAGE`` candidates at a time, PostgreSQL choosing
which (``repository.needs_for``, ``pledges_for``), so one event's cost does not grow with the
number of open needs and pledges. These tests cross a page boundary and check the order and
the fairness rule still hold.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.matching.domain import rank_needs
from services.matching.mapping import need_view
from services.matching.unit import PAGE
from shared.db.models import MatchingNeedRow
from shared.kafka.topics import CRISES_IN, NEEDS_IN, PLEDGES_IN
from shared.sources import add_source
from tests.support import builders as b
from tests.support.invariants import ledger_violations

ORG, OTHER_ORG, DONOR, COORD = b.ORGANISATION[0], b.OTHER_ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]
TODAY = b.today()


def _blankets(quantity: int) -> dict:
    return {**b.need()["spec"], "quantity": str(quantity)}


def _dollars(amount: int) -> dict:
    return {**b.need(category="funds")["spec"], "amount": str(amount), "currency": "USD"}


SPECS = {"supplies": _blankets, "funds": _dollars}


async def _post(stack, spec, event_type: str, data: dict, source: str) -> None:
    await stack.matching.handle_batch(await stack.canonical(spec, event_type, data, source))


async def _needs(
    stack, count: int, *, category: str, source: str = ORG, org: tuple = b.ORGANISATION, first_day: int = 1
) -> None:
    for number in range(count):
        data = b.need(
            f"{org[2]}-{number:03}",
            category=category,
            urgency="critical",
            needed_by=str(TODAY + dt.timedelta(days=first_day + number)),
            organisation={"id": org[2], "name": org[3]},
            spec=SPECS[category](1),
        )
        await _post(stack, NEEDS_IN, "org.drx.need.posted", data, source)


def _pledge(pledge_id: str, category: str, quantity: int) -> dict:
    spec = SPECS[category](quantity)
    if category == "supplies":
        spec = {**b.pledge()["spec"], "quantity": str(quantity)}
    return b.pledge(pledge_id, category=category, spec=spec)


@pytest.mark.parametrize("category", ["supplies", "funds"])
async def test_a_pledge_larger_than_a_page_of_needs_serves_them_in_order_across_pages(in_process, category):
    stack = in_process
    await _post(stack, CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    await _needs(stack, PAGE + 50, category=category)  # one unit each, one day apart
    await _post(stack, PLEDGES_IN, "org.drx.pledge.posted", _pledge("p-big", category, PAGE + 20), DONOR)

    served = sorted(m.need_id for m in await stack.matches())
    assert served == [f"{b.ORGANISATION[2]}-{n:03}" for n in range(PAGE + 20)]  # the soonest needed
    assert await ledger_violations(stack.sessions) == []


@pytest.mark.parametrize("category", ["supplies", "funds"])
async def test_organisations_take_turns_even_when_one_posts_more_than_a_page(in_process, category):
    stack = in_process
    await _post(stack, CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    await _needs(stack, PAGE + 20, category=category)  # the first organisation: all needed sooner
    await _needs(stack, 1, category=category, source=OTHER_ORG, org=b.OTHER_ORGANISATION, first_day=PAGE + 30)
    await _post(stack, PLEDGES_IN, "org.drx.pledge.posted", _pledge("p-two", category, 2), DONOR)

    served = sorted(m.need_id for m in await stack.matches())
    assert served == sorted([f"{b.ORGANISATION[2]}-000", f"{b.OTHER_ORGANISATION[2]}-000"])  # one each


async def test_a_funds_need_takes_pledges_soonest_expiring_first_across_pages(in_process):
    stack = in_process
    await _post(stack, CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    count = PAGE + 30
    for number in range(count):  # 10 EUR each, the later-numbered expiring sooner
        spec = {**b.pledge(category="funds")["spec"], "amount": "10"}
        expires = str(TODAY + dt.timedelta(days=10 + count - number))
        data = b.pledge(f"p-{number:03}", category="funds", spec=spec, expires_on=expires)
        await _post(stack, PLEDGES_IN, "org.drx.pledge.posted", data, DONOR)
    need = b.need("n-funds", category="funds", spec={**b.need(category="funds")["spec"], "amount": "1150"})
    await _post(stack, NEEDS_IN, "org.drx.need.posted", need, ORG)

    matches = await stack.matches()
    assert sum(m.quantity for m in matches) > 0
    used = sorted(int(m.pledge_id.removeprefix("p-")) for m in matches)
    assert used == list(range(count - len(used), count))  # the soonest-expiring pledges, none skipped
    assert len(used) > PAGE  # it took more than one page
    assert sum(m.quantity for m in matches) <= Decimal(1150) * 2  # in USD, at the rate table's rate
    assert await ledger_violations(stack.sessions) == []


async def test_funds_needs_chosen_by_postgresql_are_the_ones_the_rules_rank_first(in_process, settings):
    """Organisations, urgencies and dates mixed: the page PostgreSQL picks for a funds pledge is
    exactly the head of :func:`domain.rank_needs` over every open need."""
    stack = in_process
    await _post(stack, CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    rng = random.Random(7)
    organisations = [(f"urn:drx:org:o{n}", f"org-{n}", f"Organisation {n}") for n in range(5)]
    for source, party, name in organisations:
        await add_source(settings, source, "organisation", party, name)
    for number in range(PAGE + 40):  # one organisation posts more than half of them
        source, org_id, name = organisations[0] if rng.random() < 0.6 else rng.choice(organisations[1:])
        data = b.need(
            f"n-{number:03}",
            category="funds",
            urgency=rng.choice(["critical", "high", "medium", "low"]),
            needed_by=str(TODAY + dt.timedelta(days=rng.randint(1, 30))),
            organisation={"id": org_id, "name": name},
            spec=_dollars(1),
        )
        await _post(stack, NEEDS_IN, "org.drx.need.posted", data, source)
    async with stack.sessions() as session:
        views = [need_view(row) for row in await session.scalars(select(MatchingNeedRow))]
    expected = sorted(n.need_id for n in rank_needs(views)[:PAGE])

    await _post(stack, PLEDGES_IN, "org.drx.pledge.posted", _pledge("p-page", "funds", PAGE), DONOR)
    assert sorted(m.need_id for m in await stack.matches()) == expected
