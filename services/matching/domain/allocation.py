"""Who gets what: ranking, allocation, and what live matches give back when a side shrinks.

- :func:`rank_needs` orders competing needs (urgency, deadline, age, with the fairness rule);
- :func:`rank_pledges` orders the pledges for one need (exact, distance, expiry, age);
- :func:`allocate` splits capacity: a need takes several pledges, a pledge serves several needs;
- :func:`trim` says which live matches give back how much when a need or pledge shrinks.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.matching.domain.eligibility import eligibility
from services.matching.domain.views import (
    URGENCY_RANK,
    Category,
    Eligible,
    NeedView,
    PledgeView,
    Proposal,
    SkillTree,
)

__all__ = ["LiveMatch", "allocate", "rank_needs", "rank_pledges", "trim"]


def rank_needs(needs: Iterable[NeedView]) -> list[NeedView]:
    """Most urgent first, then soonest needed, then oldest.

    Fairness: within one urgency, organisations take turns. An organisation's second need in a
    tier ranks after every other organisation's first need of that tier, and so on, so one
    organisation posting many needs cannot absorb scarce capacity before the others get any.
    """
    base = sorted(needs, key=lambda n: (URGENCY_RANK[n.urgency], n.needed_by, n.seq, n.need_id))
    turns: dict[tuple[int, str], int] = {}
    keyed = []
    for need in base:
        tier = URGENCY_RANK[need.urgency]
        turn = turns.get((tier, need.organisation_id), 0)
        turns[(tier, need.organisation_id)] = turn + 1
        keyed.append(((tier, turn, need.needed_by, need.seq, need.need_id), need))
    return [need for _, need in sorted(keyed, key=lambda pair: pair[0])]


def rank_pledges(
    need: NeedView, pledges: Iterable[PledgeView], today: dt.date, skills: SkillTree
) -> list[tuple[PledgeView, Eligible]]:
    """Eligible pledges for ``need``: exact before substitute, nearer, sooner-expiring, older."""
    ranked = []
    for pledge in pledges:
        verdict = eligibility(need, pledge, today, skills)
        if isinstance(verdict, Eligible):
            distance = verdict.distance if verdict.distance is not None else math.inf
            key = (not verdict.exact, distance, pledge.expires_on, pledge.seq, pledge.pledge_id)
            ranked.append((key, pledge, verdict))
    ranked.sort(key=lambda item: item[0])
    return [(pledge, verdict) for _, pledge, verdict in ranked]


def _quantity(category: Category, need_left: Decimal, pledge_left: Decimal) -> Decimal:
    quantity = min(need_left, pledge_left)
    return quantity.to_integral_value(rounding="ROUND_FLOOR") if category == "skills" else quantity


def allocate(
    needs: Sequence[NeedView], pledges: Sequence[PledgeView], today: dt.date, skills: SkillTree
) -> list[Proposal]:
    """Greedy allocation in priority order: for each need, its best pledges until it is covered.

    Never proposes more than a need's or a pledge's remaining quantity. Deterministic: the same
    inputs give the same proposals in the same order.
    """
    need_left = {n.need_id: n.remaining for n in needs}
    pledge_left = {p.pledge_id: p.remaining for p in pledges}
    proposals: list[Proposal] = []
    for need in rank_needs(needs):
        for pledge, verdict in rank_pledges(need, pledges, today, skills):
            if need_left[need.need_id] <= 0:
                break
            quantity = _quantity(need.category, need_left[need.need_id], pledge_left[pledge.pledge_id])
            if quantity <= 0:
                continue
            before = need_left[need.need_id]
            need_left[need.need_id] -= quantity
            pledge_left[pledge.pledge_id] -= quantity
            proposals.append(
                Proposal(
                    need.need_id,
                    pledge.pledge_id,
                    quantity,
                    need.unit,
                    _explain(need, pledge, verdict, quantity, before),
                )
            )
    return proposals


def _explain(
    need: NeedView, pledge: PledgeView, verdict: Eligible, quantity: Decimal, before: Decimal
) -> str:
    parts = [*verdict.reasons]
    covered = "covers all" if quantity >= before else f"covers {quantity:f} of"
    parts.append(f"{covered} the {before:f} {need.unit} still needed ({need.urgency}, by {need.needed_by})")
    parts.append(f"pledge expires {pledge.expires_on}")
    if pledge.crisis_id is None:
        parts.append("standing pledge")
    return "; ".join(parts) + "."


@dataclass(frozen=True, slots=True)
class LiveMatch:
    """A proposed or confirmed match, as :func:`trim` sees it."""

    match_id: str
    status: str
    quantity: Decimal
    created: dt.datetime


def trim(matches: Sequence[LiveMatch], excess: Decimal) -> list[tuple[LiveMatch, Decimal]]:
    """Which live matches give back how much, when their need or pledge shrinks by ``excess``.

    Proposals give back before confirmed matches (a proposal is not a promise yet), the newest
    first within each (the oldest commitments stand longest), each at most its whole quantity,
    until the excess is gone. What no live match can give back (delivered already) stays.
    """
    order = sorted(matches, key=lambda m: (m.status != "proposed", -m.created.timestamp(), m.match_id))
    cuts: list[tuple[LiveMatch, Decimal]] = []
    for match in order:
        if excess <= 0:
            break
        give_back = min(match.quantity, excess)
        cuts.append((match, give_back))
        excess -= give_back
    return cuts
