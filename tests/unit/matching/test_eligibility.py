"""When a pledge may serve a need, and why (or why not): every eligibility rule, on plain values."""

import datetime as dt
from decimal import Decimal

import pytest

from services.matching.domain import Eligible, distance_km, eligibility
from tests.unit.matching.views import (
    BERLIN,
    GAZIANTEP,
    SKILLS,
    TODAY,
    need,
    pledge,
    skills_need,
    skills_pledge,
)


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
