"""Matching cost per event as open needs and pledges grow: ``python -m benchmarks.matching_scale``.

Fills PostgreSQL with N open needs and N active (fully allocated, so inert) pledges spread over
many catalogue items, about 50 of each per item, as a real exchange with many crises would be.
Then it times the matching service handling new pledges that each meet a waiting need (lock,
indexed candidate query, allocation, match row, ledgers, outbox) and reports the median per
size, with the ratio to the smallest size measured in the same run. Flat means the cost depends
on how many needs share an item, not on how many there are in all.

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
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text

from services.matching.mapping import skill_tree
from services.matching.service import MatchingService
from shared.config import DatabaseSettings
from shared.db.migrate import upgrade
from shared.db.models import MatchingNeedRow, MatchingPledgeRow
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.infra.postgres import EmbeddedPostgres
from shared.reference import load_catalogue, load_skills

PER_ITEM = 50
TODAY = dt.datetime.now(dt.UTC).date()


def _items(count: int) -> list[str]:
    """Catalogue items without substitution group (their match key is the item itself)."""
    codes = [i.code for i in load_catalogue() if i.substitution_group is None and i.base_unit == "piece"]
    return codes[:count]


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
        for chunk in range(0, size, 5000):
            await session.execute(insert(MatchingNeedRow), needs[chunk : chunk + 5000])
            await session.execute(insert(MatchingPledgeRow), pledges[chunk : chunk + 5000])
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


async def measure(url: str, sizes: list[int], events: int) -> list[dict[str, Any]]:
    engine = create_engine(DatabaseSettings(url=url, pool_size=2))
    sessions = create_session_factory(engine)
    service = MatchingService(sessions, load_catalogue(), skill_tree(load_skills()), "bench.")
    items = _items(max(sizes) // PER_ITEM + 1)
    results = []
    try:
        for size in sizes:
            used = items[: max(size // PER_ITEM, 1)]
            await _fill(sessions, size, used)
            timings = []
            for index in range(events):
                event = _pledge_event(used[index % len(used)])
                started = time.perf_counter()
                result = await service.handle(event, TODAY, position="bench/0/0")
                timings.append((time.perf_counter() - started) * 1000)
                assert result.proposals == 1, result
            results.append(
                {
                    "open_needs": size,
                    "active_pledges": size,
                    "items": len(used),
                    "events": events,
                    "median_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
                }
            )
    finally:
        await engine.dispose()
    base = results[0]["median_ms"]
    for row in results:
        row["ratio_to_smallest"] = round(row["median_ms"] / base, 2)
    return results


def markdown(results: list[dict[str, Any]]) -> str:
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
        results = asyncio.run(measure(url, sizes, args.events))
    finally:
        if server is not None:
            server.stop()
    text_out = json.dumps({"benchmark": "matching_scale", "date": str(TODAY), "results": results}, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:  # noqa: PTH123
            out.write(text_out + "\n")
    print(text_out)
    if args.markdown:
        print(markdown(results))


if __name__ == "__main__":
    main()
