"""Matching cost per event as open needs and pledges grow: ``python -m benchmarks.matching_scale``.

Fills PostgreSQL with N open needs and N active (fully allocated, so inert) pledges spread over
many catalogue items, about 50 of each per item, as a real exchange with many crises would be.
Then it times the matching service handling new pledges that each meet a waiting need (lock,
indexed candidate query, allocation, match row, ledgers, outbox) and reports the median per
size, with the ratio to the smallest size measured in the same run. Flat means the cost depends
on how many needs share an item, not on how many there are in all.

``--family funds`` measures the other extreme: funds all share one match key, so every open
funds need is a candidate of every new funds pledge. The database holds N open funds needs
(mostly unmet: about 15% of each is proposed or confirmed) and N active funds pledges, small
beside the needs and fully allocated (the steady state when demand exceeds funds: free capacity
would already have been proposed), over three crises in three countries and 97 organisations.
It times, alternately, a new standing funds pledge (no crisis, no earmarks: its candidate query
returns and locks every open funds need; it is proposed to one) and a new funds need (its query
finds no pledge with capacity left; no proposal), and reports each kind on its own row.

Not a test: nothing here passes or fails. Results: JSON on stdout (or --json FILE) and a
markdown table with --markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
import uuid
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text

from benchmarks._events import distinct_items
from services.matching.mapping import need_row, pledge_row, skill_tree
from services.matching.service import MatchingService
from shared.config import DatabaseSettings
from shared.db.migrate import upgrade
from shared.db.models import MatchingCrisisRow, MatchingNeedRow, MatchingPledgeRow
from shared.db.session import create_engine, create_session_factory
from shared.events.canonical import NeedRecorded, PledgeRecorded
from shared.events.envelope import CloudEvent
from shared.infra.postgres import EmbeddedPostgres
from shared.intake.parsing import SourcePosition
from shared.reference import SupplyCatalogue, load_catalogue, load_skills

FAMILIES = ("supplies", "funds")
PER_ITEM = 50
TODAY = dt.datetime.now(dt.UTC).date()


def _offer(item: str, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "category": "supplies",
        "country": "TUR",
        "lat": 37.0,
        "lon": 37.3,
        "unit": "piece",
        "match_keys": [f"supplies:{item}"],
        "item_code": item,
        "revision": 1,
        "state": state,
    }


PLACE = {"country": "TUR", "lat": 37.0, "lon": 37.3, "admin_area": "Hatay", "name": "Antakya"}
NEED_STATE = {"title": "Shelter items", "organisation": {"id": "o", "name": "Org"}, "place": PLACE}
PLEDGE_STATE = {"title": "Shelter items", "donor": {"id": "d", "name": "Donors"}, "place": PLACE}


async def _fill(sessions: Any, size: int, items: list[str]) -> None:
    async with sessions.begin() as session:
        await session.execute(text("TRUNCATE m_needs, m_pledges, matches, outbox, processed_events CASCADE"))
        needs, pledges = [], []
        for index in range(size):
            item = items[index % len(items)]
            needs.append(
                {
                    **_offer(item, NEED_STATE),
                    "need_id": f"n{index}",
                    "crisis_id": "c",
                    "organisation_id": f"o{index % 97}",
                    "sector": "shelter",
                    "urgency": "high",
                    "needed_by": TODAY + dt.timedelta(days=30),
                    "status": "open",
                    "quantity": Decimal(100),
                }
            )
            pledges.append(
                {
                    **_offer(item, PLEDGE_STATE),
                    "pledge_id": f"p{index}",
                    "donor_id": "d",
                    "crisis_id": None,
                    "available_from": TODAY,
                    "expires_on": TODAY + dt.timedelta(days=90),
                    "status": "active",
                    "quantity": Decimal(100),
                    "allocated": Decimal(100),
                }
            )
        await _store(session, needs, pledges)
    await _analyze(sessions)


async def _store(session: Any, needs: list[dict[str, Any]], pledges: list[dict[str, Any]]) -> None:
    for chunk in range(0, len(needs), 5000):
        await session.execute(insert(MatchingNeedRow), needs[chunk : chunk + 5000])
        await session.execute(insert(MatchingPledgeRow), pledges[chunk : chunk + 5000])


async def _analyze(sessions: Any) -> None:
    async with sessions() as session:
        await session.execute(text("ANALYZE m_needs"))
        await session.execute(text("ANALYZE m_pledges"))
        await session.commit()


def _pledge_event(item: str) -> CloudEvent:
    pledge_id = f"bench-{uuid.uuid4().hex[:10]}"
    state = {
        "pledge_id": pledge_id,
        "donor": {"id": "d", "name": "D", "kind": "group"},
        "crisis_id": None,
        "title": "t",
        "earmarks": {},
        "available_from": str(TODAY),
        "expires_on": str(TODAY + dt.timedelta(days=60)),
        "place": {"country": "TUR", "lat": 37.0, "lon": 37.3},
        "spec": {
            "category": "supplies",
            "item_code": item,
            "quantity": "10",
            "unit": "piece",
            "base_quantity": "10",
            "base_unit": "piece",
        },
        "revision": 1,
        "status": "active",
        "source": "urn:bench",
    }
    return CloudEvent(
        specversion="1.0",
        id=pledge_id,
        source="urn:bench",
        type="org.drx.pledge.recorded",
        time=dt.datetime.now(dt.UTC),
        data=state,
    )


# --- funds: one match key for all ------------------------------------------------------------

CRISES = (
    ("c-tur", {"country": "TUR", "lat": 36.2, "lon": 36.16, "admin_area": "Hatay", "name": "Antakya"}),
    ("c-syr", {"country": "SYR", "lat": 36.2, "lon": 37.13, "name": "Aleppo"}),
    ("c-pak", {"country": "PAK", "lat": 27.7, "lon": 68.86, "admin_area": "Sindh", "name": "Sukkur"}),
)
SECTORS = ("shelter", "health", "wash", "food_security", "protection", "education")
URGENCIES = ("critical", "high", "high", "medium", "medium", "low")


def _funds(amount: Decimal) -> dict[str, Any]:
    return {
        "category": "funds",
        "amount": str(amount),
        "currency": "USD",
        "amount_usd": str(amount),
        "fx_date": str(TODAY),
    }


def _funds_need_state(need_id: str, index: int, amount: Decimal) -> dict[str, Any]:
    crisis_id, place = CRISES[index % len(CRISES)]
    return {
        "need_id": need_id,
        "crisis_id": crisis_id,
        "organisation": {"id": f"o{index % 97}", "name": f"Organisation {index % 97}"},
        "title": "Cash for shelter repairs",
        "sector": SECTORS[index % len(SECTORS)],
        "urgency": URGENCIES[index % len(URGENCIES)],
        "needed_by": str(TODAY + dt.timedelta(days=14 + index % 60)),
        "place": place,
        "spec": _funds(amount),
        "revision": 1,
        "status": "open",
        "source": "urn:bench",
    }


def _funds_pledge_state(pledge_id: str, index: int, amount: Decimal, *, standing: bool) -> dict[str, Any]:
    crisis_id, place = CRISES[index % len(CRISES)]
    return {
        "pledge_id": pledge_id,
        "donor": {"id": f"d{index % 500}", "name": f"Donors {index % 500}", "kind": "group"},
        "crisis_id": None if standing else crisis_id,
        "title": "Diaspora fund",
        "earmarks": {},
        "available_from": str(TODAY - dt.timedelta(days=10)),
        "expires_on": str(TODAY + dt.timedelta(days=30 + index % 150)),
        "place": place,
        "spec": _funds(amount),
        "revision": 1,
        "status": "active",
        "source": "urn:bench",
    }


async def _fill_funds(sessions: Any, size: int, catalogue: SupplyCatalogue) -> None:
    """N open funds needs, mostly unmet, and N small funds pledges, fully allocated to them."""
    needs, pledges = [], []
    for index in range(size):
        quantity = Decimal(10_000 + (index * 7919 % 91) * 1000)  # 10k to 100k USD
        need = _funds_need_state(f"n{index}", index, quantity)
        offered = Decimal(250 + (index * 31 % 20) * 100)  # 250 to 2,150 USD
        pledge = _funds_pledge_state(f"p{index}", index, offered, standing=index % 3 == 0)
        need_values = need_row(NeedRecorded.model_validate(need), catalogue)  # as ingest would publish it
        needs.append({**need_values, "proposed": quantity / 20, "confirmed": quantity / 10})
        pledges.append({**pledge_row(PledgeRecorded.model_validate(pledge), catalogue), "allocated": offered})
    async with sessions.begin() as session:
        await session.execute(
            text("TRUNCATE m_needs, m_pledges, m_crises, matches, outbox, processed_events CASCADE")
        )
        await session.execute(
            insert(MatchingCrisisRow),
            [{"crisis_id": c, "status": "active", "revision": 1} for c, _ in CRISES],
        )
        await _store(session, needs, pledges)
    await _analyze(sessions)


def _event(kind: str, state: dict[str, Any]) -> CloudEvent:
    key = f"{kind}_id"
    return CloudEvent(
        specversion="1.0",
        id=state[key],
        source="urn:bench",
        type=f"org.drx.{kind}.recorded",
        time=dt.datetime.now(dt.UTC),
        data=state,
    )


def _funds_events(index: int) -> list[tuple[str, CloudEvent, Collection[int]]]:
    """(kind, event, proposals allowed): a new standing pledge; a new need, for which no pledge is free.

    The pledge goes to the top-ranked need, or to two when it covers the rest of one.
    """
    pledge = _funds_pledge_state(f"bench-{uuid.uuid4().hex[:10]}", index, Decimal(1000), standing=True)
    need = _funds_need_state(f"bench-{uuid.uuid4().hex[:10]}", index, Decimal(25_000))
    pledged, needed = _event("pledge", pledge), _event("need", need)
    return [("new funds pledge", pledged, (1, 2)), ("new funds need", needed, (0,))]


# --- timing ----------------------------------------------------------------------------------


async def _timed(service: MatchingService, event: CloudEvent, proposals: Collection[int]) -> float:
    """Milliseconds for matching to handle ``event`` in its own transaction, commit included."""
    started = time.perf_counter()
    result = await service.handle(event, TODAY, position=SourcePosition("bench", 0, 0))
    elapsed = (time.perf_counter() - started) * 1000
    assert result.outcome == "applied", result
    assert result.proposals in proposals, result
    return elapsed


def _spread(timings: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
    }


async def measure(url: str, sizes: list[int], events: int, family: str = "supplies") -> list[dict[str, Any]]:
    """One row per size (supplies), or per size and kind of event (funds), with the ratio to the smallest."""
    if family not in FAMILIES:
        msg = f"family must be one of {FAMILIES}, not {family!r}"
        raise ValueError(msg)
    engine = create_engine(DatabaseSettings(url=url, pool_size=2))
    sessions = create_session_factory(engine)
    catalogue = load_catalogue()
    service = MatchingService(sessions, catalogue, skill_tree(load_skills()), "bench.")
    results: list[dict[str, Any]] = []
    try:
        if family == "supplies":
            items = distinct_items(max(sizes) // PER_ITEM + 1)
            for size in sizes:
                used = items[: max(size // PER_ITEM, 1)]
                await _fill(sessions, size, used)
                timings = [
                    await _timed(service, _pledge_event(used[i % len(used)]), (1,)) for i in range(events)
                ]
                shape: dict[str, Any] = {"open_needs": size, "active_pledges": size, "items": len(used)}
                results.append(shape | {"events": events} | _spread(timings))
        else:
            for size in sizes:
                await _fill_funds(sessions, size, catalogue)
                by_kind: dict[str, list[float]] = {}
                for index in range(events):  # alternately, as they would arrive
                    for kind, event, proposals in _funds_events(index):
                        by_kind.setdefault(kind, []).append(await _timed(service, event, proposals))
                for kind, timings in by_kind.items():
                    shape = {"family": "funds", "event": kind, "open_needs": size, "active_pledges": size}
                    results.append(shape | {"crises": len(CRISES), "events": events} | _spread(timings))
    finally:
        await engine.dispose()
    for row in results:
        base = next(r for r in results if r.get("event") == row.get("event"))["median_ms"]
        row["ratio_to_smallest"] = round(row["median_ms"] / base, 2)
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    if results and results[0].get("family") == "funds":
        lines = [
            "| event | open needs | active pledges | events | median ms/event | p95 ms | ratio to smallest |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {r['event']} | {r['open_needs']:,} | {r['active_pledges']:,} | {r['events']} | "
            f"{r['median_ms']} | {r['p95_ms']} | {r['ratio_to_smallest']} |"
            for r in results
        ]
        return "\n".join(lines)
    lines = [
        "| open needs | active pledges | items | events | median ms/event | p95 ms | ratio to smallest |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['open_needs']:,} | {r['active_pledges']:,} | {r['items']:,} | {r['events']} | "
        f"{r['median_ms']} | {r['p95_ms']} | {r['ratio_to_smallest']} |"
        for r in results
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated N")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="supplies",
        help="supplies: ~50 per match key; funds: one key for all",
    )
    parser.add_argument("--database-url", help="PostgreSQL to use (default: a throwaway embedded one)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    server = None
    url = args.database_url
    if url is None:
        server = EmbeddedPostgres()
        url = server.start()
    try:
        upgrade(url)
        results = asyncio.run(measure(url, sizes, args.events, args.family))
    finally:
        if server is not None:
            server.stop()
    document: dict[str, Any] = {"benchmark": "matching_scale", "date": str(TODAY), "results": results}
    if args.family != "supplies":
        document = {
            "benchmark": "matching_scale",
            "family": args.family,
            "date": str(TODAY),
            "results": results,
        }
    text_out = json.dumps(document, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:  # noqa: PTH123
            out.write(text_out + "\n")
    print(text_out)
    if args.markdown:
        print(markdown(results))


if __name__ == "__main__":
    main()
