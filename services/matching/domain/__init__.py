"""Matching rules as plain functions over plain values. No I/O, no clock: ``today`` is a parameter.

The rules in words are in docs/matching.md; this package is where they are decided. The
repository's candidate queries restate a few of them in SQL so PostgreSQL can filter (dates,
crisis, earmarks, capacity, declined pairs), using the constants here; the declined rule's SQL
is tested against :func:`declined` (tests/integration/matching/test_declined.py).

What lives where: the values in ``views.py``; whether a pledge may serve a need in
``eligibility.py``; ranking, allocation and trimming in ``allocation.py``; a need's coverage
and a match's lifecycle in ``lifecycle.py``. Import the names from here.

- :func:`eligibility` says whether a pledge may serve a need, and why (or why not);
- :func:`rank_needs` orders competing needs (urgency, deadline, age, with the fairness rule);
- :func:`rank_pledges` orders the pledges for one need (exact, distance, expiry, age);
- :func:`allocate` splits capacity: a need takes several pledges, a pledge serves several needs;
- :func:`trim` says which live matches give back how much when a need or pledge shrinks;
- :func:`need_status` and :func:`need_filled` are a need's coverage, as coordinators see it;
- :func:`transition` says which decision (or a lapse) moves a match from which status to which;
- :func:`released_by` says which live matches a withdrawn, closed or expired need or pledge releases;
- :func:`declined` says which ended matches keep their pair from being proposed again;
- :func:`settle` says what a fulfilment report (a short delivery too) does to the ledgers.
"""

from services.matching.domain.allocation import LiveMatch, allocate, rank_needs, rank_pledges, trim
from services.matching.domain.eligibility import distance_km, eligibility
from services.matching.domain.lifecycle import (
    DECLINED,
    LIVE,
    RELEASES,
    TRANSITIONS,
    MatchStatus,
    Move,
    NeedStatus,
    Settlement,
    decision_refusal,
    declined,
    delivered,
    held_in,
    need_filled,
    need_status,
    released_by,
    settle,
    transition,
)
from services.matching.domain.views import URGENCY_RANK, Eligible, NeedView, PledgeView, Proposal, SkillTree

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
    "Settlement",
    "SkillTree",
    "allocate",
    "decision_refusal",
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
    "settle",
    "transition",
    "trim",
]
