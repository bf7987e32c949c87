"""Matching quality: ``python -m benchmarks.quality``.

How much urgency-weighted demand does our allocation cover, compared with the best possible
allocation of the same instance? The best is solved offline as a linear program (HiGHS through
``scipy.optimize.linprog``): one variable per eligible (need, pledge) pair, at most each need's
and each pledge's remaining quantity, maximising the sum of urgency weight times quantity. The
constraint matrix is a bipartite incidence matrix, so the LP optimum is integral and is also the
optimum in whole persons for skills.

Eligibility is ours (``services.matching.domain.eligibility``): the optimum may only use pairs our
rules allow, so the ratio measures the allocation strategy, not the rules. Ours is run two ways:

- ``batch``: one ``allocate`` over the whole instance (every need and pledge known at once);
- ``online``: what the service does, event by event in a random arrival order: a new need takes
  from the pledges already there, a new pledge serves the needs already there.

Not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import statistics
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from scipy.optimize import linprog  # type: ignore[import-untyped]
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]

from services.matching.domain import (
    Eligible,
    NeedView,
    PledgeView,
    Proposal,
    SkillTree,
    allocate,
    eligibility,
)
from services.matching.mapping import skill_tree
from shared.reference import load_catalogue, load_skills

__all__ = ["FAMILIES", "SIZES", "URGENCY_WEIGHT", "markdown", "measure"]

URGENCY_WEIGHT = {"critical": 8, "high": 4, "medium": 2, "low": 1}
"""Weight of one unit of demand by urgency: each level counts twice the next."""

TODAY = dt.date(2026, 12, 1)
URGENCIES = ("critical", "high", "medium", "low")
URGENCY_MIX = (0.15, 0.3, 0.35, 0.2)
CRISES = ("eq-tur", "fl-syr")
COUNTRIES = {"eq-tur": "TUR", "fl-syr": "SYR"}
# Needs are placed around these centres (latitude, longitude), volunteers anywhere in the region.
CENTRES = {"TUR": (37.0, 37.4), "SYR": (36.2, 37.1)}
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"needs": 20, "seeds": 1},
    "small": {"needs": 80, "seeds": 3},
    "full": {"needs": 300, "seeds": 10},
}


@dataclasses.dataclass(frozen=True)
class Instance:
    needs: list[NeedView]
    pledges: list[PledgeView]


def _place(rng: random.Random, country: str, spread: float) -> tuple[float, float]:
    lat, lon = CENTRES[country]
    return lat + rng.uniform(-spread, spread), lon + rng.uniform(-spread, spread)


def _need(rng: random.Random, index: int, **fields: Any) -> NeedView:
    crisis = rng.choice(CRISES)
    country = COUNTRIES[crisis]
    lat, lon = _place(rng, country, 1.5)
    return NeedView(
        need_id=f"n{index}",
        crisis_id=crisis,
        organisation_id=f"org{rng.randrange(8)}",
        sector="shelter",
        urgency=rng.choices(URGENCIES, URGENCY_MIX)[0],
        needed_by=TODAY + dt.timedelta(days=rng.randint(3, 40)),
        seq=index,
        country=country,
        lat=lat,
        lon=lon,
        **fields,
    )


def _pledge(rng: random.Random, index: int, **fields: Any) -> PledgeView:
    standing = rng.random() < 0.4
    crisis = None if standing else rng.choice(CRISES)
    earmark = frozenset({rng.choice(("TUR", "SYR"))}) if rng.random() < 0.3 else frozenset()
    return PledgeView(
        pledge_id=f"p{index}",
        donor_id=f"donor{rng.randrange(20)}",
        crisis_id=crisis,
        available_from=TODAY + dt.timedelta(days=rng.randint(0, 20)),
        expires_on=TODAY + dt.timedelta(days=rng.randint(5, 90)),
        seq=10_000 + index,
        country="DEU",
        lat=None,
        lon=None,
        earmark_countries=earmark,
        **fields,
    )


def _supplies(
    rng: random.Random, needs: int, supply_ratio: float, items: Sequence[tuple[str, str | None]]
) -> Instance:
    """Supply needs over ``items`` (code, substitution group); pledges worth ``supply_ratio`` of demand."""
    need_rows = []
    for index in range(needs):
        code, group = rng.choice(items)
        quantity = Decimal(rng.choice((50, 100, 200, 400, 800)))
        need_rows.append(
            _need(
                rng,
                index,
                category="supplies",
                remaining=quantity,
                unit="piece",
                item_code=code,
                substitution_group=group,
            )
        )
    demand = sum(n.remaining for n in need_rows)
    pledge_rows: list[PledgeView] = []
    supplied = Decimal(0)
    while supplied < demand * Decimal(str(supply_ratio)):
        code, group = rng.choice(items)
        quantity = Decimal(rng.choice((25, 50, 100, 250, 500)))
        supplied += quantity
        pledge_rows.append(
            _pledge(
                rng,
                len(pledge_rows),
                category="supplies",
                remaining=quantity,
                unit="piece",
                item_code=code,
                substitution_group=group,
            )
        )
    return Instance(need_rows, pledge_rows)


def _plain_items(count: int) -> list[tuple[str, str | None]]:
    catalogue = [i for i in load_catalogue() if i.substitution_group is None and i.base_unit == "piece"]
    return [(i.code, None) for i in catalogue[:count]]


def _substitutable_items() -> list[tuple[str, str | None]]:
    groups = ("blanket", "jerrycan", "mosquito_net")
    return [
        (i.code, i.substitution_group)
        for i in load_catalogue()
        if i.substitution_group in groups and i.base_unit == "piece"
    ]


def scarce(rng: random.Random, needs: int) -> Instance:
    """Pledges cover 40% of demand: who gets the little there is decides the score."""
    return _supplies(rng, needs, 0.4, _plain_items(6))


def abundant(rng: random.Random, needs: int) -> Instance:
    """Pledges worth twice the demand, though earmarks and dates still rule some pairs out."""
    return _supplies(rng, needs, 2.0, _plain_items(6))


def substitutes(rng: random.Random, needs: int) -> Instance:
    """Items of three substitution groups, 80% supply: exact or substitute, and for whom."""
    return _supplies(rng, needs, 0.8, _substitutable_items())


SKILL_NEEDS = (
    "health.medicine",
    "health.medicine.surgery",
    "health.medicine.surgery.orthopaedic",
    "health.medicine.emergency",
    "health.nursing",
)
SKILL_OFFERS = (
    "health.medicine.general_practice",
    "health.medicine.surgery.general",
    "health.medicine.surgery.orthopaedic",
    "health.medicine.emergency",
    "health.nursing",
    "health.nursing.emergency",
)
LANGUAGES = ("tr", "ar", "en", "ku")


def skills(rng: random.Random, needs: int) -> Instance:
    """On-site medical needs; volunteers with specialisms, languages and a travel radius."""
    known = {s.code for s in load_skills()}
    wanted = [code for code in SKILL_NEEDS if code in known]
    offered = [code for code in SKILL_OFFERS if code in known]
    period = (TODAY, TODAY + dt.timedelta(days=30))
    need_rows = [
        _need(
            rng,
            index,
            category="skills",
            remaining=Decimal(rng.randint(1, 4)),
            unit="person",
            skills=(rng.choice(wanted),),
            languages=tuple(rng.sample(LANGUAGES, 2)),
            mode="on_site",
            period=period,
        )
        for index in range(needs)
    ]
    pledge_rows = []
    for index in range(int(needs * 1.2)):
        country = rng.choice(("TUR", "SYR"))
        lat, lon = _place(rng, country, 3.0)
        pledge_rows.append(
            dataclasses.replace(
                _pledge(
                    rng,
                    index,
                    category="skills",
                    remaining=Decimal(rng.randint(1, 2)),
                    unit="person",
                    skills=(rng.choice(offered),),
                    languages=tuple(rng.sample(LANGUAGES, rng.randint(1, 2))),
                    mode=rng.choice(("on_site", "either")),
                    period=period,
                    travel_radius_km=float(rng.choice((50, 150, 300, 600))),
                ),
                country=country,
                lat=lat,
                lon=lon,
            )
        )
    return Instance(need_rows, pledge_rows)


FAMILIES: dict[str, Callable[[random.Random, int], Instance]] = {
    "scarce supply": scarce,
    "abundant supply": abundant,
    "many substitutes": substitutes,
    "skills with distance": skills,
}


def _value(instance: Instance, proposals: Sequence[Proposal]) -> float:
    weight = {n.need_id: URGENCY_WEIGHT[n.urgency] for n in instance.needs}
    return float(sum(weight[p.need_id] * p.quantity for p in proposals))


def _online(instance: Instance, rng: random.Random, tree: SkillTree) -> list[Proposal]:
    """The service's order of work: each arrival is matched against what is already there."""
    arrivals: list[NeedView | PledgeView] = [*instance.needs, *instance.pledges]
    rng.shuffle(arrivals)
    need_left: dict[str, NeedView] = {}
    pledge_left: dict[str, PledgeView] = {}
    made: list[Proposal] = []
    for item in arrivals:
        if isinstance(item, NeedView):
            need_left[item.need_id] = item
            proposals = allocate([item], list(pledge_left.values()), TODAY, tree)
        else:
            pledge_left[item.pledge_id] = item
            proposals = allocate(list(need_left.values()), [item], TODAY, tree)
        for p in proposals:
            n, q = need_left[p.need_id], pledge_left[p.pledge_id]
            need_left[p.need_id] = dataclasses.replace(n, remaining=n.remaining - p.quantity)
            pledge_left[p.pledge_id] = dataclasses.replace(q, remaining=q.remaining - p.quantity)
        made += proposals
    return made


def optimum(instance: Instance, tree: SkillTree) -> tuple[float, int]:
    """The LP optimum of urgency-weighted quantity, and how many eligible pairs it chose from."""
    pairs = [
        (i, j)
        for i, n in enumerate(instance.needs)
        for j, p in enumerate(instance.pledges)
        if isinstance(eligibility(n, p, TODAY, tree), Eligible)
    ]
    if not pairs:
        return 0.0, 0
    needs, pledges = len(instance.needs), len(instance.pledges)
    columns = np.arange(len(pairs))
    rows = np.concatenate([[i for i, _ in pairs], [needs + j for _, j in pairs]])
    matrix = coo_matrix(
        (np.ones(2 * len(pairs)), (rows, np.concatenate([columns, columns]))),
        shape=(needs + pledges, len(pairs)),
    )
    bounds = [float(n.remaining) for n in instance.needs] + [float(p.remaining) for p in instance.pledges]
    cost = [-URGENCY_WEIGHT[instance.needs[i].urgency] for i, _ in pairs]
    solved = linprog(cost, A_ub=matrix.tocsr(), b_ub=bounds, bounds=(0, None), method="highs")
    if solved.status != 0:
        msg = f"HiGHS did not solve the instance: {solved.message}"
        raise RuntimeError(msg)
    return -float(solved.fun), len(pairs)


def measure(size: str = "small") -> list[dict[str, Any]]:
    tree = skill_tree(load_skills())
    needs, seeds = SIZES[size]["needs"], SIZES[size]["seeds"]
    results = []
    for family, build in FAMILIES.items():
        rows = []
        for seed in range(seeds):
            instance = build(random.Random(seed), needs)
            best, pairs = optimum(instance, tree)
            batch = _value(instance, allocate(instance.needs, instance.pledges, TODAY, tree))
            online = _value(instance, _online(instance, random.Random(1000 + seed), tree))
            demand = sum(URGENCY_WEIGHT[n.urgency] * float(n.remaining) for n in instance.needs)
            rows.append((best, batch, online, demand, pairs, len(instance.pledges)))
        results.append(
            {
                "family": family,
                "instances": seeds,
                "needs": needs,
                "pledges": round(statistics.mean(r[5] for r in rows)),
                "eligible_pairs": round(statistics.mean(r[4] for r in rows)),
                "optimum_share_of_demand": round(statistics.mean(r[0] / r[3] for r in rows), 3),
                "batch_ratio": round(statistics.mean(r[1] / r[0] if r[0] else 1.0 for r in rows), 3),
                "batch_ratio_min": round(min(r[1] / r[0] if r[0] else 1.0 for r in rows), 3),
                "online_ratio": round(statistics.mean(r[2] / r[0] if r[0] else 1.0 for r in rows), 3),
                "online_ratio_min": round(min(r[2] / r[0] if r[0] else 1.0 for r in rows), 3),
            }
        )
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        (
            "| family | instances | needs | pledges | eligible pairs | optimum covers "
            "| batch / optimum (worst) | online / optimum (worst) |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['family']} | {r['instances']} | {r['needs']} | {r['pledges']} | {r['eligible_pairs']:,} | "
        f"{r['optimum_share_of_demand']:.1%} | {r['batch_ratio']} ({r['batch_ratio_min']}) | "
        f"{r['online_ratio']} ({r['online_ratio_min']}) |"
        for r in results
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    args = parser.parse_args()
    results = measure(args.size)
    print(json.dumps({"benchmark": "quality", "size": args.size, "results": results}, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
