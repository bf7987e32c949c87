"""Who goes first and how much: ranking, allocation, need status and trimming, on plain values."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain import (
    Eligible,
    LiveMatch,
    allocate,
    eligibility,
    rank_needs,
    rank_pledges,
    trim,
)
from tests.unit.matching.views import HATAY, SKILLS, TODAY, need, pledge, skills_need, skills_pledge


class TestRankNeeds:
    def test_urgency_then_deadline_then_age(self):
        a = need(need_id="a", urgency="medium", seq=1)
        b = need(need_id="b", urgency="critical", seq=2, organisation_id="o2")
        c = need(need_id="c", urgency="critical", seq=3, organisation_id="o3", needed_by=TODAY)
        d = need(need_id="d", urgency="medium", seq=0, organisation_id="o4")
        assert [n.need_id for n in rank_needs([a, b, c, d])] == ["c", "b", "d", "a"]

    def test_fairness_organisations_take_turns_within_an_urgency(self):
        busy = [need(need_id=f"busy-{i}", organisation_id="big", seq=i) for i in range(3)]
        quiet = need(need_id="quiet", organisation_id="small", seq=10)
        assert [n.need_id for n in rank_needs([*busy, quiet])] == ["busy-0", "quiet", "busy-1", "busy-2"]

    def test_fairness_never_beats_urgency(self):
        critical = [
            need(need_id=f"crit-{i}", organisation_id="big", urgency="critical", seq=i) for i in range(2)
        ]
        high = need(need_id="high", organisation_id="small", urgency="high", seq=0)
        assert [n.need_id for n in rank_needs([high, *critical])] == ["crit-0", "crit-1", "high"]

    def test_ties_broken_by_id(self):
        twins = [need(need_id="z"), need(need_id="y", organisation_id="o2")]
        assert [n.need_id for n in rank_needs(twins)] == ["y", "z"]


class TestRankPledges:
    def test_exact_before_substitute_before_distance(self):
        near_sub = pledge(pledge_id="near-sub", item_code="HSHEBLANCLT1", lat=HATAY[0], lon=HATAY[1])
        far_exact = pledge(pledge_id="far-exact")
        ranked = [p.pledge_id for p, _ in rank_pledges(need(), [near_sub, far_exact], TODAY, SKILLS)]
        assert ranked == ["far-exact", "near-sub"]

    def test_nearer_then_sooner_expiring_then_older(self):
        far = pledge(pledge_id="far")
        near = pledge(pledge_id="near", lat=HATAY[0], lon=HATAY[1])
        soon = pledge(pledge_id="soon", lat=HATAY[0], lon=HATAY[1], expires_on=TODAY + dt.timedelta(days=5))
        old = pledge(
            pledge_id="old", lat=HATAY[0], lon=HATAY[1], expires_on=TODAY + dt.timedelta(days=5), seq=0
        )
        ranked = [p.pledge_id for p, _ in rank_pledges(need(), [far, near, soon, old], TODAY, SKILLS)]
        assert ranked == ["old", "soon", "near", "far"]

    def test_unknown_distance_ranks_after_known(self):
        unknown = pledge(pledge_id="unknown", lat=None, lon=None)
        ranked = [p.pledge_id for p, _ in rank_pledges(need(), [unknown, pledge()], TODAY, SKILLS)]
        assert ranked == ["p1", "unknown"]


class TestAllocate:
    def test_a_need_takes_several_pledges(self):
        proposals = allocate([need()], [pledge(pledge_id="a"), pledge(pledge_id="b", seq=2)], TODAY, SKILLS)
        assert [(p.pledge_id, p.quantity) for p in proposals] == [("a", 250), ("b", 150)]

    def test_a_pledge_splits_across_needs(self):
        needs = [need(need_id="x", remaining=Decimal(100)), need(need_id="y", remaining=Decimal(100), seq=2)]
        proposals = allocate(needs, [pledge()], TODAY, SKILLS)
        assert [(p.need_id, p.quantity) for p in proposals] == [("x", 100), ("y", 100)]

    def test_skills_are_whole_people(self):
        proposals = allocate(
            [skills_need(remaining=Decimal(2))], [skills_pledge(remaining=Decimal(5))], TODAY, SKILLS
        )
        assert [p.quantity for p in proposals] == [2]

    def test_every_proposal_explains_itself(self):
        (proposal,) = allocate([need()], [pledge()], TODAY, SKILLS)
        assert proposal.explanation.startswith(
            "same item HSHEBLANWHT1; covers 250 of the 400 piece still needed"
        )

    def test_scarce_capacity_is_shared_between_organisations(self):
        busy = [
            need(need_id=f"busy-{i}", organisation_id="big", seq=i, remaining=Decimal(100)) for i in range(3)
        ]
        quiet = need(need_id="quiet", organisation_id="small", seq=9, remaining=Decimal(100))
        proposals = allocate([*busy, quiet], [pledge(remaining=Decimal(200))], TODAY, SKILLS)
        assert {p.need_id for p in proposals} == {"busy-0", "quiet"}


# --- properties ---------------------------------------------------------------------------------

_needs = st.lists(
    st.builds(
        lambda i, org, urg, rem, item, days: need(
            need_id=f"n{i}",
            organisation_id=f"o{org}",
            urgency=urg,
            remaining=Decimal(rem),
            seq=i,
            item_code=item,
            needed_by=TODAY + dt.timedelta(days=days),
        ),
        st.integers(0, 10_000),
        st.integers(0, 3),
        st.sampled_from(["critical", "high", "medium", "low"]),
        st.integers(0, 500),
        st.sampled_from(["HSHEBLANWHT1", "HSHEBLANCLT1"]),
        st.integers(-2, 20),
    ),
    max_size=12,
    unique_by=lambda n: n.need_id,
)
_pledges = st.lists(
    st.builds(
        lambda i, rem, item, days: pledge(
            pledge_id=f"p{i}",
            remaining=Decimal(rem),
            seq=i,
            item_code=item,
            expires_on=TODAY + dt.timedelta(days=days),
        ),
        st.integers(0, 10_000),
        st.integers(0, 500),
        st.sampled_from(["HSHEBLANWHT1", "HSHEBLANCLT1"]),
        st.integers(-2, 60),
    ),
    max_size=12,
    unique_by=lambda p: p.pledge_id,
)


@settings(max_examples=200, deadline=None)
@given(needs=_needs, pledges=_pledges)
def test_allocation_never_exceeds_and_leaves_nothing_eligible_unmatched(needs, pledges):
    proposals = allocate(needs, pledges, TODAY, SKILLS)
    given_to = {n.need_id: Decimal(0) for n in needs}
    taken_from = {p.pledge_id: Decimal(0) for p in pledges}
    for proposal in proposals:
        assert proposal.quantity > 0
        given_to[proposal.need_id] += proposal.quantity
        taken_from[proposal.pledge_id] += proposal.quantity
    for n in needs:
        assert given_to[n.need_id] <= n.remaining
    for p in pledges:
        assert taken_from[p.pledge_id] <= p.remaining
    # Maximal: with what is left, no eligible pair could still be matched.
    left_needs = [dataclasses.replace(n, remaining=n.remaining - given_to[n.need_id]) for n in needs]
    left_pledges = [dataclasses.replace(p, remaining=p.remaining - taken_from[p.pledge_id]) for p in pledges]
    for n in left_needs:
        for p in left_pledges:
            assert not isinstance(eligibility(n, p, TODAY, SKILLS), Eligible)
    assert allocate(needs, pledges, TODAY, SKILLS) == proposals  # deterministic


class TestNeedStatus:
    @pytest.mark.parametrize(
        ("status", "ledger", "expected"),
        [
            ("open", (0, 0, 0), "open"),
            ("open", (100, 0, 0), "partially covered"),
            ("open", (200, 100, 100), "covered"),
            ("closed", (0, 300, 100), "closed"),
            ("closed", (0, 100, 0), "closed with shortfall"),
            ("withdrawn", (0, 0, 0), "withdrawn"),
        ],
    )
    def test_status_from_the_ledger(self, status, ledger, expected):
        from services.matching.domain import need_status

        assert need_status(status, Decimal(400), *(Decimal(x) for x in ledger)) == expected


# --- trim: a need or pledge revised to less than it holds ----------------------------------------


def _live(match_id: str, status: str, quantity: int, hour: int) -> LiveMatch:
    return LiveMatch(match_id, status, Decimal(quantity), dt.datetime(2026, 12, 1, hour, tzinfo=dt.UTC))


def test_trim_takes_back_proposals_before_confirmed_matches_newest_first():
    old_proposal = _live("m-a", "proposed", 100, 9)
    new_proposal = _live("m-b", "proposed", 50, 11)
    confirmed = _live("m-c", "confirmed", 200, 12)  # the newest, but a promise
    cuts = trim([confirmed, old_proposal, new_proposal], Decimal(120))
    assert [(m.match_id, q) for m, q in cuts] == [("m-b", 50), ("m-a", 70)]


def test_trim_reaches_confirmed_matches_only_when_proposals_are_not_enough():
    cuts = trim([_live("m-a", "proposed", 30, 9), _live("m-c", "confirmed", 200, 8)], Decimal(80))
    assert [(m.match_id, q) for m, q in cuts] == [("m-a", 30), ("m-c", 50)]


def test_trim_gives_back_no_more_than_the_live_matches_hold():
    cuts = trim([_live("m-a", "proposed", 30, 9)], Decimal(500))  # the rest was delivered already
    assert [(m.match_id, q) for m, q in cuts] == [("m-a", 30)]
    assert trim([_live("m-a", "proposed", 30, 9)], Decimal(0)) == []


def test_trim_breaks_ties_of_time_by_match_id():
    cuts = trim([_live("m-b", "proposed", 10, 9), _live("m-a", "proposed", 10, 9)], Decimal(15))
    assert [(m.match_id, q) for m, q in cuts] == [("m-a", 10), ("m-b", 5)]
