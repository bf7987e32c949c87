"""Crises under ``decide``: declared, updated and closed, with every reason to refuse or ignore one."""

from services.ingest.domain import close_needs
from tests.support import builders as b
from tests.unit.ingest.support import (
    COORD,
    ORG,
    accepted,
    active_crisis,
    closed_crisis,
    decide,
    rejected,
    stale,
    stored,
)


def test_a_declared_crisis_is_active_with_its_iso_areas_in_upper_case():
    outcome = decide("org.drx.crisis.declared", b.crisis(areas=["tr-27", "Hatay province"]), COORD)
    (record,) = accepted(outcome).records
    assert record.status == "active"
    assert record.source == COORD
    assert record.areas == ("TR-27", "Hatay province")  # a name is kept as written
    assert accepted(outcome).close_needs_of is None


def test_a_newer_revision_updates_an_active_crisis():
    outcome = decide(
        "org.drx.crisis.updated", b.crisis(revision=2, severity=4), COORD, stored=active_crisis()
    )
    (record,) = accepted(outcome).records
    assert (record.revision, record.severity) == (2, 4)


def test_a_revision_not_newer_than_the_stored_one_is_stale():
    current = stored(decide("org.drx.crisis.declared", b.crisis(revision=3), COORD))
    for revision in (2, 3):
        outcome = decide("org.drx.crisis.updated", b.crisis(revision=revision), COORD, stored=current)
        assert stale(outcome) == "crisis 'eq-tur-2026' is at revision 3"


def test_a_closed_crisis_cannot_be_updated():
    outcome = decide("org.drx.crisis.updated", b.crisis(revision=2), COORD, stored=closed_crisis())
    assert rejected(outcome) == "crisis 'eq-tur-2026' is closed; declare a new crisis instead"


def test_a_country_must_be_an_iso_code():
    outcome = decide("org.drx.crisis.declared", b.crisis(countries=["TUR", "XXX"]), COORD)
    assert rejected(outcome) == "data.countries[1]: 'XXX' is not an ISO 3166-1 alpha-3 country code"


def test_an_iso_area_must_be_a_subdivision_of_one_of_the_countries():
    outcome = decide("org.drx.crisis.declared", b.crisis(areas=["TR-27", "DE-BE"]), COORD)
    assert rejected(outcome) == "data.areas[1]: 'DE-BE' is not a subdivision of TUR, SYR"


def test_every_problem_of_a_crisis_is_named_at_once():
    outcome = decide("org.drx.crisis.declared", b.crisis(countries=["XXX"], areas=["DE-BE"]), COORD)
    assert rejected(outcome) == (
        "data.countries[0]: 'XXX' is not an ISO 3166-1 alpha-3 country code; "
        "data.areas[0]: 'DE-BE' is not a subdivision of XXX"
    )


def test_closing_a_crisis_records_it_closed_and_asks_to_close_its_needs():
    close = {"crisis_id": "eq-tur-2026", "revision": 2, "reason": "relief phase over"}
    outcome = accepted(decide("org.drx.crisis.closed", close, COORD, stored=active_crisis()))
    (record,) = outcome.records
    assert (record.status, record.revision, record.closed_reason) == ("closed", 2, "relief phase over")
    assert record.name == b.crisis()["name"]  # the rest of the state is kept
    assert outcome.close_needs_of == "eq-tur-2026"


def test_an_unknown_crisis_cannot_be_closed():
    outcome = decide("org.drx.crisis.closed", {"crisis_id": "c-never", "revision": 2}, COORD)
    assert rejected(outcome) == "unknown crisis 'c-never'"


def test_closing_with_a_revision_not_newer_is_stale():
    outcome = decide(
        "org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 1}, COORD, stored=active_crisis()
    )
    assert stale(outcome) == "crisis 'eq-tur-2026' is at revision 1"


def test_closing_a_closed_crisis_again_is_stale():
    outcome = decide(
        "org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, COORD, stored=closed_crisis()
    )
    assert stale(outcome) == "crisis 'eq-tur-2026' is already closed"


def test_a_closed_crisis_closes_its_open_needs_each_in_a_new_revision():
    def need(need_id, **changes):
        return stored(
            decide("org.drx.need.posted", b.need(need_id), ORG, crisis=active_crisis()), **changes
        ).state

    closed = close_needs([need("n-open", revision=3), need("n-withdrawn", status="withdrawn")])
    assert [(n.need_id, n.status, n.revision) for n in closed] == [("n-open", "closed", 4)]
