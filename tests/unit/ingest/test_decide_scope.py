"""A coordinator acts on crises within its scope; a need lies in one of its crisis's countries."""

from __future__ import annotations

import dataclasses

from services.ingest.domain import SourceInfo, Stored
from shared.scope import Scope
from tests.support import builders as b
from tests.unit.ingest.support import (
    COORD,
    NEPAL_COORD,
    ORG,
    REGISTRY,
    accepted,
    active_crisis,
    decide,
    rejected,
    stored,
)

NEPAL = b.crisis("eq-npl-2026", name="Earthquake in Nepal", countries=["NPL"], areas=[], glide=None)


def _with_scope(source: str, scope: Scope) -> dict[str, SourceInfo]:
    return {**REGISTRY, source: dataclasses.replace(REGISTRY[source], scope=scope)}


def _nepal() -> Stored:
    return stored(decide("org.drx.crisis.declared", NEPAL, NEPAL_COORD))


# --- declaring ---------------------------------------------------------------------------------


def test_a_coordinator_declares_a_crisis_in_its_countries():
    assert accepted(decide("org.drx.crisis.declared", NEPAL, NEPAL_COORD))


def test_a_crisis_reaching_a_country_outside_the_scope_is_refused_naming_both():
    spread = {**NEPAL, "countries": ["NPL", "IND"]}
    assert rejected(decide("org.drx.crisis.declared", spread, NEPAL_COORD)) == (
        "not authorised: urn:drx:coord:npl-desk may act only within crises [] and countries [NPL]; "
        "crisis eq-npl-2026 (NPL, IND) is outside it"
    )


def test_an_empty_scope_is_none_and_the_reason_says_how_to_assign_one():
    registry = _with_scope(NEPAL_COORD, Scope())
    reason = rejected(decide("org.drx.crisis.declared", NEPAL, NEPAL_COORD, registry=registry))
    assert reason == (
        "not authorised: urn:drx:coord:npl-desk has an empty scope and may act in no crisis or country; "
        "crisis eq-npl-2026 (NPL) is outside it (an operator assigns one with `drx sources scope`)"
    )


def test_a_global_coordinator_declares_anywhere():
    registry = _with_scope(NEPAL_COORD, Scope(everything=True))
    assert accepted(decide("org.drx.crisis.declared", b.crisis(), NEPAL_COORD, registry=registry))


# --- updating and closing --------------------------------------------------------------------


def test_a_coordinator_closes_a_crisis_whose_countries_are_all_in_scope():
    closed = decide(
        "org.drx.crisis.closed", {"crisis_id": "eq-npl-2026", "revision": 2}, NEPAL_COORD, stored=_nepal()
    )
    assert accepted(closed).close_needs_of == "eq-npl-2026"


def test_closing_a_crisis_outside_the_scope_is_refused():
    outcome = decide(
        "org.drx.crisis.closed",
        {"crisis_id": "eq-tur-2026", "revision": 2},
        NEPAL_COORD,
        stored=active_crisis(),
    )
    assert rejected(outcome) == (
        "not authorised: urn:drx:coord:npl-desk may act only within crises [] and countries [NPL]; "
        "crisis eq-tur-2026 (TUR, SYR) is outside it"
    )


def test_one_country_of_two_is_not_enough_to_close_a_crisis():
    registry = _with_scope(COORD, Scope.of(countries=("TUR",)))
    outcome = decide(
        "org.drx.crisis.closed",
        {"crisis_id": "eq-tur-2026", "revision": 2},
        COORD,
        stored=active_crisis(),
        registry=registry,
    )
    assert "crisis eq-tur-2026 (TUR, SYR) is outside it" in rejected(outcome)


def test_a_crisis_assigned_by_id_is_closed_and_updated_wherever_it_is():
    registry = _with_scope(COORD, Scope.of(crises=("eq-tur-2026",)))
    closing = {"crisis_id": "eq-tur-2026", "revision": 2}
    assert accepted(
        decide("org.drx.crisis.closed", closing, COORD, stored=active_crisis(), registry=registry)
    )
    spread = b.crisis(revision=2, countries=["TUR", "SYR", "IRQ"])
    assert accepted(
        decide("org.drx.crisis.updated", spread, COORD, stored=active_crisis(), registry=registry)
    )


def test_an_update_spreading_beyond_a_country_scope_is_refused():
    spread = b.crisis(revision=2, countries=["TUR", "SYR", "IRQ"])
    outcome = decide("org.drx.crisis.updated", spread, COORD, stored=active_crisis())
    assert "crisis eq-tur-2026 (TUR, SYR, IRQ) is outside it" in rejected(outcome)


def test_an_update_within_the_scope_is_accepted():
    assert accepted(
        decide("org.drx.crisis.updated", b.crisis(revision=2, severity=4), COORD, stored=active_crisis())
    )


# --- a need's place --------------------------------------------------------------------------


def test_a_need_in_paris_is_refused_for_the_nepal_earthquake_naming_both():
    need = b.need("n-paris", crisis_id="eq-npl-2026", place={"country": "FRA", "name": "Paris"})
    reason = rejected(decide("org.drx.need.posted", need, ORG, crisis=_nepal()))
    assert reason == (
        "data.place.country: the need is in Paris, FRA (France), outside crisis 'eq-npl-2026' "
        "(Earthquake in Nepal), which covers Nepal (NPL)"
    )


def test_a_need_in_one_of_the_crisis_countries_is_accepted():
    need = b.need("n-kathmandu", crisis_id="eq-npl-2026", place={"country": "NPL", "name": "Kathmandu"})
    assert accepted(decide("org.drx.need.posted", need, ORG, crisis=_nepal()))


def test_a_pledge_may_come_from_anywhere():
    pledge = b.pledge("p-berlin", crisis_id="eq-npl-2026", place={"country": "DEU", "name": "Berlin"})
    assert accepted(decide("org.drx.pledge.posted", pledge, b.DONOR[0], crisis=_nepal()))
