"""Matching rules as plain functions over plain values. No I/O, no clock: ``today`` is a parameter.

The rules in words are in docs/matching.md; this module is where they are decided. The
repository's candidate queries restate a few of them in SQL so PostgreSQL can filter (dates,
crisis, earmarks, capacity, declined pairs), using the constants here; the declined rule's SQL
is tested against :func:`declined` (tests/integration/matching/test_declined.py).


- :func:`eligibility` says whether a pledge may serve a need, and why (or why not);
- :func:`rank_needs` orders competing needs (urgency, deadline, age, with the fairness rule);
- :func:`rank_pledges` orders the pledges for one need (exact, distance, expiry, age);
- :func:`allocate` splits capacity: a need takes several pledges, a pledge serves several needs;
- :func:`trim` says which live matches give back how much when a need or pledge shrinks;
- :func:`need_status` and :func:`need_filled` are a need's coverage, as coordinators see it;
- :func:`transition` says which decision (or a lapse) moves a match from which status to which;
- :func:`released_by` says which live matches a withdrawn, closed or expired need or pledge releases;
- :func:`declined` says which ended matches keep their pair from being proposed again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = [
    "DECLINED",
    "LIVE",
    "RELEASES",
    "TRANSITIONS",
    "URGENCY_RANK",
    "Eligible",
    "LiveMatch",
    "MatchStatus",
    "Move",
    "NeedStatus",
    "NeedView",
    "PledgeView",
    "Proposal",
    "SkillTree",
    "allocate",
    "declined",
    "delivered",
    "distance_km",
    "eligibility",
    "held_in",
    "need_filled",
    "need_status",
    "rank_needs",
    "rank_pledges",
    "released_by",
    "transition",
    "trim",
]

URGENCY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
Category = Literal["funds", "supplies", "skills"]
Mode = Literal["on_site", "remote", "either"]


class SkillTree:
    """What matching needs to know of the skills taxonomy: is one code within another."""

    def __init__(self, parents: dict[str, str | None]) -> None:
        self._parents = parents

    def is_within(self, code: str, ancestor: str) -> bool:
        current: str | None = code
        while current is not None:
            if current == ancestor:
                return True
            current = self._parents.get(current)
        return False


@dataclass(frozen=True, slots=True)
class NeedView:
    """A need as matching sees it; ``remaining`` is what is not yet proposed, confirmed or fulfilled."""

    need_id: str
    crisis_id: str
    organisation_id: str
    category: Category
    sector: str
    urgency: str
    needed_by: dt.date
    seq: int  # arrival order, for "older first"
    country: str
    lat: float | None
    lon: float | None
    remaining: Decimal
    unit: str  # USD, a base unit, or "person"
    item_code: str | None = None
    item_description: str | None = None
    substitution_group: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    mode: Mode = "either"
    period: tuple[dt.date, dt.date] | None = None


@dataclass(frozen=True, slots=True)
class PledgeView:
    pledge_id: str
    donor_id: str
    crisis_id: str | None  # None: a standing pledge
    category: Category
    available_from: dt.date
    expires_on: dt.date
    seq: int
    country: str
    lat: float | None
    lon: float | None
    remaining: Decimal
    unit: str
    earmark_crises: frozenset[str] = frozenset()
    earmark_countries: frozenset[str] = frozenset()
    earmark_sectors: frozenset[str] = frozenset()
    item_code: str | None = None
    item_description: str | None = None
    substitution_group: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    mode: Mode = "either"
    period: tuple[dt.date, dt.date] | None = None
    travel_radius_km: float | None = None


@dataclass(frozen=True, slots=True)
class Eligible:
    """A pledge may serve a need. ``exact`` and ``distance`` rank it; ``reasons`` explain it."""

    exact: bool
    distance: float | None
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Proposal:
    need_id: str
    pledge_id: str
    quantity: Decimal
    unit: str
    explanation: str


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _distance(need: NeedView, pledge: PledgeView) -> float | None:
    if None in (need.lat, need.lon, pledge.lat, pledge.lon):
        return None
    return distance_km(need.lat, need.lon, pledge.lat, pledge.lon)  # type: ignore[arg-type]


def _overlap(a: tuple[dt.date, dt.date] | None, b: tuple[dt.date, dt.date] | None) -> bool:
    return a is None or b is None or (a[0] <= b[1] and b[0] <= a[1])


def _ineligible(need: NeedView, pledge: PledgeView, today: dt.date) -> str | None:
    """The category-independent rules: capacity, dates, crisis, earmarks, units."""
    if need.category != pledge.category:
        return "different category"
    if need.remaining <= 0 or pledge.remaining <= 0:
        return "no capacity left"
    if need.needed_by < today:
        return "the need's date has passed"
    if pledge.expires_on < today:
        return "the pledge has expired"
    if pledge.available_from > need.needed_by:
        return "the pledge is available only after the need's date"
    if pledge.crisis_id is not None and pledge.crisis_id != need.crisis_id:
        return "the pledge is for another crisis"
    if pledge.earmark_crises and need.crisis_id not in pledge.earmark_crises:
        return "earmarked for other crises"
    if pledge.earmark_countries and need.country not in pledge.earmark_countries:
        return "earmarked for other countries"
    if pledge.earmark_sectors and need.sector not in pledge.earmark_sectors:
        return "earmarked for other sectors"
    if need.unit != pledge.unit:
        return f"counted in {pledge.unit}, the need in {need.unit}"
    return None


def eligibility(need: NeedView, pledge: PledgeView, today: dt.date, skills: SkillTree) -> Eligible | str:
    """An :class:`Eligible` when the pledge may serve the need, else the reason it may not."""
    if (reason := _ineligible(need, pledge, today)) is not None:
        return reason
    distance = _distance(need, pledge)
    match need.category:
        case "funds":
            return Eligible(exact=True, distance=None, reasons=("funds in USD terms",))
        case "supplies":
            return _supplies(need, pledge, distance)
        case "skills":
            return _skills(need, pledge, distance, skills)
    return "unknown category"  # pragma: no cover


def _supplies(need: NeedView, pledge: PledgeView, distance: float | None) -> Eligible | str:
    if need.item_code is not None and need.item_code == pledge.item_code:
        return Eligible(exact=True, distance=distance, reasons=(f"same item {need.item_code}",))
    if need.item_code is None and pledge.item_code is None:
        wanted, offered = (need.item_description or "").casefold(), (pledge.item_description or "").casefold()
        if wanted and wanted == offered:
            return Eligible(exact=True, distance=distance, reasons=(f"same item ({need.item_description})",))
        return "a different item"
    if need.substitution_group is not None and need.substitution_group == pledge.substitution_group:
        return Eligible(
            exact=False, distance=distance, reasons=(f"{pledge.item_code} may substitute {need.item_code}",)
        )
    return "a different item"


def _skills(need: NeedView, pledge: PledgeView, distance: float | None, tree: SkillTree) -> Eligible | str:
    served = [(p, n) for n in need.skills for p in pledge.skills if tree.is_within(p, n)]
    if not served:
        return "no offered skill serves the needed skills"
    if need.languages and not set(need.languages) & set(pledge.languages):
        return "no common language"
    if not _overlap(need.period, pledge.period):
        return "the periods do not overlap"
    if "either" not in (need.mode, pledge.mode) and need.mode != pledge.mode:
        return f"the need is {need.mode.replace('_', '-')}, the volunteer {pledge.mode.replace('_', '-')}"
    reasons = []
    offered, wanted = served[0]
    reasons.append(f"skill {offered}" + ("" if offered == wanted else f" serves {wanted}"))
    on_site = need.mode == "on_site" or (need.mode == "either" and pledge.mode == "on_site")
    if on_site:
        if distance is not None and pledge.travel_radius_km is not None:
            if distance > pledge.travel_radius_km:
                return f"{distance:.0f} km away, beyond the volunteer's {pledge.travel_radius_km:.0f} km"
            reasons.append(f"{distance:.0f} km away, within reach")
        elif pledge.country != need.country:
            return "on-site work in another country and no travel radius or coordinates to check reach"
        else:
            reasons.append("same country")
    exact = offered == wanted
    return Eligible(exact, distance, tuple(reasons))


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


NeedStatus = Literal["open", "partially covered", "covered", "closed", "closed with shortfall", "withdrawn"]


def need_status(
    status: str, quantity: Decimal, proposed: Decimal, confirmed: Decimal, fulfilled: Decimal
) -> NeedStatus:
    """A need's coverage status from its ledger, as coordinators see it.

    Covered counts proposals too: a proposed pledge is on its way to a decision.
    """
    if status == "withdrawn":
        return "withdrawn"
    if status in ("closed", "expired"):
        return "closed" if need_filled(quantity, confirmed, fulfilled) else "closed with shortfall"
    allocated = proposed + confirmed + fulfilled
    if allocated >= quantity:
        return "covered"
    return "partially covered" if allocated > 0 else "open"


def need_filled(quantity: Decimal, confirmed: Decimal, fulfilled: Decimal) -> bool:
    """Filled: confirmed and fulfilled reach the quantity (proposals do not: they may be refused)."""
    return confirmed + fulfilled >= quantity


# --- a match's lifecycle ---------------------------------------------------------------------------

MatchStatus = Literal["proposed", "confirmed", "fulfilled", "rejected", "cancelled", "expired"]
Move = Literal["confirm", "reject", "fulfilled", "cancel", "lapse"]
LIVE: tuple[MatchStatus, ...] = ("proposed", "confirmed")  # what the ledgers hold

# What moves a match, from which statuses, to which: a coordinator's decision, or "lapse" (no
# decision before the proposal's time ran out). Anything else from any other status is refused.
TRANSITIONS: dict[Move, tuple[tuple[MatchStatus, ...], MatchStatus]] = {
    "confirm": (("proposed",), "confirmed"),
    "reject": (("proposed",), "rejected"),
    "fulfilled": (("confirmed",), "fulfilled"),
    "cancel": (("proposed", "confirmed"), "cancelled"),
    "lapse": (("proposed",), "expired"),
}


def transition(move: Move, status: str) -> MatchStatus | None:
    """The status ``move`` takes a match in ``status`` to, or None when it may not move it."""
    allowed, target = TRANSITIONS[move]
    return target if status in allowed else None


def delivered(quantity: Decimal, reported: Decimal | None) -> Decimal:
    """How much of a fulfilled match counts as delivered: the report, at most the match (none: all)."""
    return min(reported or quantity, quantity)


def held_in(status: str) -> Literal["proposed", "confirmed"]:
    """The need's ledger column a live match's quantity sits in."""
    return "proposed" if status == "proposed" else "confirmed"


# Which live matches a need or pledge in each status releases (they become cancelled). Withdrawn:
# everything live. Closed with its crisis, or expired: only proposals; confirmed help still comes.
RELEASES: dict[str, tuple[MatchStatus, ...]] = {
    "open": (),
    "active": (),
    "withdrawn": LIVE,
    "closed": ("proposed",),
    "expired": ("proposed",),
}


def released_by(status: str) -> tuple[MatchStatus, ...]:
    """The statuses of the live matches a need or pledge now in ``status`` releases."""
    return RELEASES[status]


# A pair whose match ended in one of these is not proposed again: a coordinator said no (or let
# the proposal lapse, or cancelled it), and the same offer for the same need would be noise.
DECLINED: tuple[MatchStatus, ...] = ("rejected", "expired", "cancelled")


def declined(status: str, *, trimmed: bool) -> bool:
    """A match that ended declined: rejected, expired or cancelled, but not trimmed away.

    A match cancelled by a trim (its need or pledge shrank) is no decline: the pair may meet
    again. ``repository.declined`` says the same in SQL, for the candidate queries.
    """
    return status in DECLINED and not trimmed
