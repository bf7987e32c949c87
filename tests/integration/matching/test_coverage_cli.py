"""The numbers ``drx coverage`` prints equal sums taken straight from matching's rows.

Two crises; a standing funds pledge that may serve two sector rows of one crisis and a row of
the other; a supplies pledge earmarked to one crisis and sector; one for the second crisis only.
"""

import json
from decimal import Decimal

from sqlalchemy import select

from services.matching.domain.coverage import ALL_SECTORS
from shared.db.models import MatchingNeedRow, MatchingPledgeRow
from tests.support import builders as b
from tests.support.cli import run_drx, settings_env

EQ, FL = "eq-tur-2026", "fl-tur-2026"


async def test_coverage_adds_up_against_the_database(pipeline):
    await pipeline.declare(b.crisis(EQ))
    await pipeline.declare(
        b.crisis(FL, name="Floods in Hatay", kind="flood", glide="FL-2026-000200-TUR", severity=3)
    )
    needs = [
        b.need("n-eq-blankets", crisis_id=EQ),
        b.need("n-eq-shelter-funds", crisis_id=EQ, category="funds"),
        b.need("n-eq-wash-funds", crisis_id=EQ, category="funds", sector="wash"),
        b.need("n-fl-blankets", crisis_id=FL, spec=b.supplies(b.SUPPLY_ITEM, 100)),
        b.need("n-fl-wash-funds", crisis_id=FL, category="funds", sector="wash"),
    ]
    for need in needs:
        await pipeline.post("org.drx.need.posted", need, b.ORGANISATION[0])
    for need in needs:
        await pipeline.wait_matching("need", need["need_id"])

    standing = b.pledge("p-standing", category="funds")
    standing.pop("crisis_id")
    standing["spec"] = {**standing["spec"], "amount": "100000"}
    earmarked = b.pledge(
        "p-eq-shelter",
        earmarks={"countries": ["TUR"], "sectors": ["shelter"]},
        spec=b.supplies(b.SUPPLY_ITEM, 500),
    )
    flood_only = b.pledge("p-fl", crisis_id=FL, spec=b.supplies(b.SUPPLY_ITEM, 300))
    for pledge in (standing, earmarked, flood_only):
        await pipeline.post("org.drx.pledge.posted", pledge, b.DONOR[0])
    for pledge in (standing, earmarked, flood_only):
        await pipeline.wait_matching("pledge", pledge["pledge_id"])
    await pipeline.wait_matches(lambda ms: len(ms) >= 5, "a proposal for each of the five needs")

    result = run_drx(
        "coverage", "--format", "json", env=settings_env(pipeline.settings, DRX_LOG_LEVEL="WARNING")
    )
    assert result.returncode == 0, result.stderr
    printed = {(r["crisis_id"], r["sector"], r["category"]): r for r in json.loads(result.stdout)}

    async with pipeline.worker.sessions() as session:
        need_rows = [n for n in await session.scalars(select(MatchingNeedRow)) if n.crisis_id in (EQ, FL)]
        pledge_rows = {p.pledge_id: p for p in await session.scalars(select(MatchingPledgeRow))}
    free = {pid: p.quantity - p.allocated for pid, p in pledge_rows.items() if p.status == "active"}

    # Which pledges may serve which row follows from the scenario, not from the code under test.
    serves = {
        (EQ, "shelter", "supplies"): {"p-eq-shelter"},
        (EQ, "shelter", "funds"): {"p-standing"},
        (EQ, "wash", "funds"): {"p-standing"},
        (FL, "shelter", "supplies"): {"p-fl"},
        (FL, "wash", "funds"): {"p-standing"},
    }
    for crisis in (EQ, FL):
        for category in ("supplies", "funds"):
            members = [k for k in serves if k[0] == crisis and k[2] == category]
            serves[crisis, ALL_SECTORS, category] = set().union(*(serves[k] for k in members))

    assert {k for k in printed if k[0] in (EQ, FL)} == set(serves)
    for key, pledges in serves.items():
        crisis, sector, category = key
        rows = [
            n
            for n in need_rows
            if n.crisis_id == crisis and n.category == category and sector in (ALL_SECTORS, n.sector)
        ]
        line = printed[key]
        sums = {
            name: sum((getattr(n, name) for n in rows), Decimal(0))
            for name in ("quantity", "proposed", "confirmed", "fulfilled")
        }
        assert Decimal(line["needed"]) == sums["quantity"], key
        for name in ("proposed", "confirmed", "fulfilled"):
            assert Decimal(line[name]) == sums[name], (key, name)
        assert Decimal(line["covered"]) == sums["confirmed"] + sums["fulfilled"], key
        assert Decimal(line["available"]) == sum((free[p] for p in pledges), Decimal(0)), key
        assert line["pledges"] == len({p for p in pledges if free[p] > 0}), key

    # the standing pledge is available to two rows of the earthquake and counted once in its total
    eq_funds_total = Decimal(printed[EQ, ALL_SECTORS, "funds"]["available"])
    assert eq_funds_total == free["p-standing"] > 0
    assert Decimal(printed[EQ, "shelter", "funds"]["available"]) == eq_funds_total
