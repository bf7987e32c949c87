"""Scenarios: the packaged default is the generator's output, valid, and made of real codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pycountry
import pytest

from services.demo.generate import generate_scenario
from services.demo.places import AFFECTED, DIASPORA
from services.demo.scenario import (
    WEBHOOK_URL,
    DecisionStep,
    EventStep,
    RawStep,
    ScenarioError,
    default_scenario_path,
    load_scenario,
    resolve,
)
from shared.reference import is_subdivision, load_catalogue, load_skills

TODAY = dt.date(2026, 12, 2)


class TestDefaultScenario:
    def test_the_packaged_file_is_what_the_generator_writes(self):
        """Regenerate: `python -m services.demo.generate > services/demo/scenarios/<the file>.json`."""
        committed = json.loads(default_scenario_path().read_text(encoding="utf-8"))
        assert committed == generate_scenario()

    def test_it_is_a_few_hundred_needs_and_pledges_with_invalid_input(self):
        scenario = load_scenario()
        types = [e.type for p in scenario.phases for e in p.events if isinstance(e, EventStep)]
        assert types.count("org.drx.need.posted") >= 200
        assert types.count("org.drx.pledge.posted") >= 100
        assert {"org.drx.need.withdrawn", "org.drx.pledge.withdrawn", "org.drx.crisis.declared"} <= set(types)
        assert 5 <= scenario.invalid_count <= 12
        decisions = {d.decision for p in scenario.phases for d in p.decisions}
        assert decisions == {"confirm", "reject", "fulfilled", "cancel"}
        assert len({s.source for s in scenario.sources if s.role == "organisation"}) >= 24

    def test_every_valid_event_fits_its_contract(self):
        load_scenario().check(TODAY)

    def test_codes_are_real(self):
        catalogue, skills = load_catalogue(), load_skills()
        scenario = load_scenario()
        for phase in scenario.phases:
            for step in phase.events:
                if not isinstance(step, EventStep) or step.expect_rejected or "spec" not in step.data:
                    continue
                spec = step.data["spec"]
                if spec["category"] == "supplies":
                    assert catalogue.get(spec["item_code"]) is not None, spec
                if spec["category"] == "skills":
                    assert all(code in skills for code in spec["skills"]), spec
                place = step.data["place"]
                if "admin_area" in place:
                    assert is_subdivision(place["admin_area"], place["country"]), place

    def test_pledges_are_standing_earmarked_and_some_expire_within_days(self):
        pledges = [
            e.data
            for p in load_scenario().phases
            for e in p.events
            if isinstance(e, EventStep) and e.type == "org.drx.pledge.posted" and not e.expect_rejected
        ]
        assert any(p["crisis_id"] is None for p in pledges)
        assert any(p["earmarks"].get("sectors") for p in pledges)
        assert any(p["expires_on"] in {"today+2", "today+3"} for p in pledges)

    def test_the_generator_is_deterministic_and_seeded(self):
        assert generate_scenario(seed=5, needs=20, pledges=10) == generate_scenario(
            seed=5, needs=20, pledges=10
        )
        assert generate_scenario(seed=5, needs=20, pledges=10) != generate_scenario(
            seed=6, needs=20, pledges=10
        )


class TestPlaces:
    @pytest.mark.parametrize("place", AFFECTED, ids=lambda p: p.name)
    def test_affected_places_are_in_their_iso_admin_area(self, place):
        assert is_subdivision(place.admin_area, place.country)
        # south-east Türkiye and north-west Syria
        assert 35 < place.lat < 39
        assert 35 < place.lon < 41

    @pytest.mark.parametrize("place", DIASPORA, ids=lambda p: p.name)
    def test_diaspora_cities_have_a_country_and_a_currency(self, place):
        assert pycountry.countries.get(alpha_3=place.country) is not None
        assert pycountry.currencies.get(alpha_3=place.currency) is not None


class TestFormat:
    def test_relative_dates_and_the_webhook_url_are_resolved_everywhere(self):
        data = {
            "a": ["today", "today+3", "today-1"],
            "b": {"address": WEBHOOK_URL},
            "c": "today is fine",
            "d": 4,
        }
        assert resolve(data, TODAY, "http://127.0.0.1:9/h") == {
            "a": ["2026-12-02", "2026-12-05", "2026-12-01"],
            "b": {"address": "http://127.0.0.1:9/h"},
            "c": "today is fine",
            "d": 4,
        }

    def test_an_unknown_event_type_is_refused_with_the_choices(self):
        with pytest.raises(ValueError, match=r"org\.drx\.need\.posted"):
            EventStep(type="org.drx.need.exploded", source="s", data={})

    def test_raw_input_goes_to_an_intake_topic_only(self):
        with pytest.raises(ValueError, match="not an intake topic"):
            RawStep(raw="x", topic="matches", expect_rejected="JSON")

    def test_a_decision_names_one_selector(self):
        with pytest.raises(ValueError, match="exactly one"):
            DecisionStep(decision="confirm", source="s", by="b", count=2, share=0.5)

    def test_check_names_the_step_whose_data_does_not_fit(self, tmp_path: Path):
        document = {
            "format": "drx-demo/1",
            "name": "broken",
            "phases": [{"name": "p", "events": [{"type": "org.drx.need.posted", "source": "s", "data": {}}]}],
        }
        path = tmp_path / "s.json"
        path.write_text(json.dumps(document))
        with pytest.raises(ScenarioError, match=r"phases\[0\]\.events\[0\]"):
            load_scenario(path).check(TODAY)

    def test_a_file_that_is_not_json_is_a_scenario_error(self, tmp_path: Path):
        path = tmp_path / "s.json"
        path.write_text("phases:\n  - yaml")
        with pytest.raises(ScenarioError, match="is not JSON"):
            load_scenario(path)
