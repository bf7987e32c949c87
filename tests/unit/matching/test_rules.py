"""Every matching rule and tie-break, on plain values."""

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.matching.domain import (
    Eligible,
    LiveMatch,
    NeedView,
    PledgeView,
    SkillTree,
    allocate,
    distance_km,
    eligibility,
    rank_needs,
    rank_pledges,
    trim,
)

TODAY = dt.date(2026, 12, 1)
SKILLS = SkillTree(
    {
        "health": None,
        "health.medicine": "health",
        "health.medicine.surgery": "health.medicine",
        "health.medicine.surgery.orthopaedic": "health.medicine.surgery",
        "translation": None,
    }
)
GAZIANTEP = (37.066, 37.383)
HATAY = (36.202, 36.160)
BERLIN = (52.52, 13.405)


def need(**kw) -> NeedView:
    values: dict[str, Any] = {
        "need_id": "n1",
        "crisis_id": "c1",
        "organisation_id": "o1",
        "category": "supplies",
        "sector": "shelter",
        "urgency": "high",
        "needed_by": TODAY + dt.timedelta(days=10),
        "seq": 1,
        "country": "TUR",
        "lat": GAZIANTEP[0],
        "lon": GAZIANTEP[1],
        "remaining": Decimal(400),
        "unit": "piece",
        "item_code": "HSHEBLANWHT1",
        "substitution_group": "HSHEBLAN/BLANKET",
    }
    values.update(kw)
    return NeedView(**values)


def pledge(**kw) -> PledgeView:
    values: dict[str, Any] = {
        "pledge_id": "p1",
        "donor_id": "d1",
        "crisis_id": "c1",
        "category": "supplies",
        "available_from": TODAY,
        "expires_on": TODAY + dt.timedelta(days=60),
        "seq": 1,
        "country": "DEU",
        "lat": BERLIN[0],
        "lon": BERLIN[1],
        "remaining": Decimal(250),
        "unit": "piece",
        "item_code": "HSHEBLANWHT1",
        "substitution_group": "HSHEBLAN/BLANKET",
    }
    values.update(kw)
    return PledgeView(**values)


def skills_need(**kw) -> NeedView:
    values = {
        "category": "skills",
        "unit": "person",
        "remaining": Decimal(3),
        "item_code": None,
        "substitution_group": None,
        "skills": ("health.medicine.surgery",),
        "languages": ("tur", "ara"),
        "mode": "on_site",
        "period": (TODAY, TODAY + dt.timedelta(days=14)),
        "sector": "health",
    }
    values.update(kw)
    return need(**values)


def skills_pledge(**kw) -> PledgeView:
    values = {
        "category": "skills",
        "unit": "person",
        "remaining": Decimal(1),
        "item_code": None,
        "substitution_group": None,
        "skills": ("health.medicine.surgery.orthopaedic",),
        "languages": ("tur", "deu"),
        "mode": "on_site",
        "period": (TODAY + dt.timedelta(days=3), TODAY + dt.timedelta(days=30)),
        "travel_radius_km": 3000.0,
    }
    values.update(kw)
    return pledge(**values)


def why_not(n, p) -> str:
    verdict = eligibility(n, p, TODAY, SKILLS)
    assert isinstance(verdict, str), verdict
    return verdict


def ok(n, p) -> Eligible:
    verdict = eligibility(n, p, TODAY, SKILLS)
    assert isinstance(verdict, Eligible), verdict
    return verdict


class TestCommonRules:
    def test_same_category_only(self):
        assert why_not(need(), pledge(category="funds", unit="piece")) == "different category"

    def test_need_past_its_date(self):
        assert why_not(need(needed_by=TODAY - dt.timedelta(days=1)), pledge()) == "the need's date has passed"

    def test_expired_pledge(self):
        assert why_not(need(), pledge(expires_on=TODAY - dt.timedelta(days=1))) == "the pledge has expired"

    def test_pledge_available_too_late(self):
        late = pledge(available_from=TODAY + dt.timedelta(days=30))
        assert why_not(need(), late) == "the pledge is available only after the need's date"

    def test_pledge_for_another_crisis(self):
        assert why_not(need(), pledge(crisis_id="c2")) == "the pledge is for another crisis"

    def test_standing_pledge_serves_any_crisis(self):
        assert ok(need(crisis_id="c9"), pledge(crisis_id=None))

    @pytest.mark.parametrize(
        ("earmark", "reason"),
        [
            ({"earmark_crises": frozenset({"c2"})}, "earmarked for other crises"),
            ({"earmark_countries": frozenset({"SYR"})}, "earmarked for other countries"),
            ({"earmark_sectors": frozenset({"health"})}, "earmarked for other sectors"),
        ],
    )
    def test_earmarks(self, earmark, reason):
        assert why_not(need(), pledge(crisis_id=None, **earmark)) == reason

    def test_satisfied_earmarks(self):
        earmarks = {
            "earmark_crises": frozenset({"c1"}),
            "earmark_countries": frozenset({"TUR"}),
            "earmark_sectors": frozenset({"shelter"}),
        }
        assert ok(need(), pledge(crisis_id=None, **earmarks))

    def test_units_must_agree(self):
        assert why_not(need(unit="kg"), pledge()) == "counted in piece, the need in kg"

    def test_no_capacity(self):
        assert why_not(need(remaining=Decimal(0)), pledge()) == "no capacity left"


class TestSupplies:
    def test_exact_item(self):
        assert ok(need(), pledge()).exact

    def test_substitute_in_the_same_group(self):
        verdict = ok(need(), pledge(item_code="HSHEBLANCLT1"))
        assert not verdict.exact
        assert "may substitute" in verdict.reasons[0]

    def test_other_group_never(self):
        assert (
            why_not(need(), pledge(item_code="HSHETENTF16C", substitution_group=None)) == "a different item"
        )

    def test_described_items_match_by_description(self):
        described = {
            "item_code": None,
            "substitution_group": None,
            "item_description": "Baby formula, stage 1",
        }
        assert ok(
            need(**described), pledge(**{**described, "item_description": "baby formula, STAGE 1"})
        ).exact
        assert why_not(need(**described), pledge(**{**described, "item_description": "diapers"}))


class TestFunds:
    def test_funds_compare_in_usd(self):
        assert ok(
            need(category="funds", unit="USD", item_code=None),
            pledge(category="funds", unit="USD", item_code=None),
        )


class TestSkills:
    def test_a_specialist_serves_a_general_need(self):
        verdict = ok(skills_need(), skills_pledge())
        assert not verdict.exact
        assert "health.medicine.surgery.orthopaedic serves health.medicine.surgery" in verdict.reasons[0]

    def test_a_generalist_does_not_serve_a_specialist_need(self):
        specialist = skills_need(skills=("health.medicine.surgery.orthopaedic",))
        generalist = skills_pledge(skills=("health.medicine",))
        assert why_not(specialist, generalist) == "no offered skill serves the needed skills"

    def test_exact_skill(self):
        assert ok(skills_need(), skills_pledge(skills=("health.medicine.surgery",))).exact

    def test_languages_must_overlap(self):
        assert why_not(skills_need(), skills_pledge(languages=("fra",))) == "no common language"

    def test_no_languages_required(self):
        assert ok(skills_need(languages=()), skills_pledge(languages=()))

    def test_periods_must_overlap(self):
        later = (TODAY + dt.timedelta(days=20), TODAY + dt.timedelta(days=40))
        assert why_not(skills_need(), skills_pledge(period=later)) == "the periods do not overlap"

    def test_remote_volunteer_for_on_site_need(self):
        assert (
            why_not(skills_need(), skills_pledge(mode="remote"))
            == "the need is on-site, the volunteer remote"
        )

    def test_either_matches_both(self):
        assert ok(skills_need(mode="either"), skills_pledge(mode="remote"))

    def test_on_site_beyond_travel_radius(self):
        assert "beyond the volunteer's 500 km" in why_not(
            skills_need(), skills_pledge(travel_radius_km=500.0)
        )

    def test_on_site_within_reach(self):
        assert any("within reach" in r for r in ok(skills_need(), skills_pledge()).reasons)

    def test_without_coordinates_same_country_is_required(self):
        nowhere = {"lat": None, "lon": None}
        assert why_not(skills_need(), skills_pledge(**nowhere)).startswith("on-site work in another country")
        assert ok(skills_need(), skills_pledge(country="TUR", **nowhere))


class TestDistance:
    def test_haversine(self):
        assert distance_km(*GAZIANTEP, *BERLIN) == pytest.approx(2580, rel=0.03)
        assert distance_km(*GAZIANTEP, *GAZIANTEP) == 0


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
