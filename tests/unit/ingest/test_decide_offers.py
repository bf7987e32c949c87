"""Needs and pledges under ``decide``: crises, dates, places, specs, revisions and withdrawals.

Each reason ``decide`` can give a need or a pledge has a test that asserts its text; the accepting
cases check what is normalised for matching.
"""

import datetime as dt
from decimal import Decimal

import pytest

from services.ingest import domain
from shared.events import inbound
from tests.support import builders as b
from tests.unit.ingest.support import (
    DONOR,
    ORG,
    REF,
    REGISTRY,
    TODAY,
    accepted,
    active_crisis,
    closed_crisis,
    decide,
    rejected,
    stale,
    stored,
)

YESTERDAY = TODAY - dt.timedelta(days=1)
ACTIVE = active_crisis()


def _need(*, crisis=ACTIVE, **changes):
    return decide("org.drx.need.posted", b.need("n-1", **changes), ORG, crisis=crisis)


def _pledge(*, crisis=ACTIVE, earmarked=None, **changes):
    return decide(
        "org.drx.pledge.posted", b.pledge("p-1", **changes), DONOR, crisis=crisis, earmarked=earmarked
    )


def _spec(category, **changes):
    return {**b.need(category=category)["spec"], **changes}


# --- accepted, normalised ------------------------------------------------------------------------


def test_an_accepted_need_is_open_with_its_place_and_supplies_normalised():
    (record,) = accepted(_need(place={"country": "tur", "admin_area": "tr-27", "name": "Gaziantep"})).records
    assert (record.status, record.source) == ("open", ORG)
    assert (record.place.country, record.place.admin_area) == ("TUR", "TR-27")
    assert record.spec.item_code == b.SUPPLY_ITEM
    assert record.spec.base_quantity == Decimal(400)


def test_a_described_item_is_compared_as_stated():
    spec = {"category": "supplies", "item_description": "Tarpaulins", "quantity": "40", "unit": "Roll"}
    (record,) = accepted(_need(spec=spec)).records
    assert (record.spec.unit, record.spec.base_unit, record.spec.base_quantity) == ("roll", "roll", 40)


def test_funds_are_converted_to_usd_at_today_s_rate_and_say_the_day_of_that_rate():
    (record,) = accepted(_need(spec=_spec("funds"))).records
    assert record.spec.amount_usd == REF.fx.convert(Decimal(20000), "EUR", "USD", TODAY)
    assert record.spec.fx_date == REF.fx.rate_day("EUR", TODAY) <= TODAY


def test_languages_are_normalised_to_iso_639_3_without_duplicates():
    (record,) = accepted(_need(spec=_spec("skills", languages=["tr", "ar", "ara"]))).records
    assert record.spec.languages == ("tur", "ara")


def test_a_need_needed_by_today_is_still_accepted():
    assert accepted(_need(needed_by=str(TODAY)))


def test_a_standing_pledge_needs_no_crisis():
    (record,) = accepted(_pledge(crisis_id=None, crisis=None)).records
    assert (record.status, record.crisis_id) == ("active", None)


def test_a_pledge_may_be_earmarked_to_known_crises():
    earmarked = {"eq-tur-2026": ACTIVE}
    assert accepted(_pledge(earmarks={"crises": ["eq-tur-2026"], "countries": ["TUR"]}, earmarked=earmarked))


# --- crises and dates ----------------------------------------------------------------------------


def test_a_need_s_crisis_must_be_known():
    assert rejected(_need(crisis_id="c-never", crisis=None)) == "data.crisis_id: unknown crisis 'c-never'"


def test_a_need_s_crisis_must_be_active():
    assert rejected(_need(crisis=closed_crisis())) == "data.crisis_id: crisis 'eq-tur-2026' is closed"


def test_a_pledge_s_crisis_must_be_known_and_active():
    assert rejected(_pledge(crisis_id="c-never", crisis=None)) == "data.crisis_id: unknown crisis 'c-never'"
    assert rejected(_pledge(crisis=closed_crisis())) == "data.crisis_id: crisis 'eq-tur-2026' is closed"


def test_a_pledge_s_earmarked_crises_must_be_known():
    outcome = _pledge(earmarks={"crises": ["eq-tur-2026", "nope"]}, earmarked={"eq-tur-2026": ACTIVE})
    assert rejected(outcome) == "data.earmarks.crises[1]: unknown crisis 'nope'"


def test_a_pledge_s_earmarked_countries_must_be_iso_codes():
    outcome = _pledge(earmarks={"countries": ["XXX"]})
    assert rejected(outcome) == "data.earmarks.countries[0]: 'XXX' is not an ISO 3166-1 alpha-3 code"


def test_a_need_needed_by_yesterday_is_refused():
    assert rejected(_need(needed_by=str(YESTERDAY))) == f"data.needed_by: {YESTERDAY} is in the past"


def test_a_pledge_that_expired_yesterday_is_refused():
    outcome = _pledge(expires_on=str(YESTERDAY), available_from=str(YESTERDAY - dt.timedelta(days=9)))
    assert rejected(outcome) == f"data.expires_on: {YESTERDAY} is in the past"


def test_dates_are_judged_by_the_day_the_event_was_sent():
    posted = b.need("n-1", needed_by=str(YESTERDAY))
    assert accepted(decide("org.drx.need.posted", posted, ORG, crisis=ACTIVE, today=YESTERDAY))


# --- places and specs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ({"country": "XXX"}, "data.place.country: 'XXX' is not an ISO 3166-1 alpha-3 country code"),
        (
            {"country": "TUR", "admin_area": "SY-01"},
            "data.place.admin_area: 'SY-01' is not a subdivision of TUR",
        ),
    ],
)
def test_the_place_must_exist(place, expected):
    assert rejected(_need(place=place)) == expected
    assert rejected(_pledge(place=place)) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"category": "funds", "amount": "5", "currency": "XQZ"},
            "data.spec.currency: 'XQZ' is not an ISO 4217 currency code",
        ),
        (
            {"category": "funds", "amount": "5", "currency": "XAU"},
            "data.spec.currency: no exchange rate for XAU in the rate table",
        ),
        (
            _spec("supplies", item_code="NOPE-1"),
            "data.spec.item_code: 'NOPE-1' is not in the supplies catalogue",
        ),
        (
            _spec("skills", skills=["juggling.fire"]),
            "data.spec.skills[0]: 'juggling.fire' is not in the skills taxonomy",
        ),
        (
            _spec("skills", languages=["tr", "qq"]),
            "data.spec.languages[1]: 'qq' is not an ISO 639 language code",
        ),
    ],
)
def test_the_spec_must_use_the_reference_data(spec, expected):
    assert rejected(_need(spec=spec)) == expected


def test_a_unit_must_be_one_the_catalogue_converts():
    reason = rejected(_need(spec=_spec("supplies", unit="barrel")))
    assert reason.startswith(f"data.spec.unit: 'barrel' is not a unit for {b.SUPPLY_ITEM}")


def test_a_skills_period_must_not_be_over():
    period = {"start": str(TODAY - dt.timedelta(days=9)), "end": str(YESTERDAY)}
    outcome = _need(spec=_spec("skills", period=period))
    assert rejected(outcome) == f"data.spec.period.end: {YESTERDAY} is in the past"


def test_every_problem_of_a_need_is_named_at_once():
    outcome = _need(
        needed_by=str(YESTERDAY),
        place={"country": "XXX"},
        spec=_spec("supplies", item_code="NOPE-1"),
        crisis=None,
    )
    assert rejected(outcome).split("; ") == [
        "data.crisis_id: unknown crisis 'eq-tur-2026'",
        f"data.needed_by: {YESTERDAY} is in the past",
        "data.place.country: 'XXX' is not an ISO 3166-1 alpha-3 country code",
        "data.spec.item_code: 'NOPE-1' is not in the supplies catalogue",
    ]


# --- revisions -----------------------------------------------------------------------------------


def test_a_newer_revision_of_an_open_need_is_accepted():
    current = stored(_need())
    update = b.need("n-1", revision=2, title="Blankets, more of them")
    (record,) = accepted(decide("org.drx.need.updated", update, ORG, stored=current, crisis=ACTIVE)).records
    assert (record.revision, record.title) == (2, "Blankets, more of them")


@pytest.mark.parametrize(("kind", "post", "source"), [("need", _need, ORG), ("pledge", _pledge, DONOR)])
def test_a_revision_not_newer_is_stale(kind, post, source):
    current = stored(post(revision=2))
    document = b.need("n-1", revision=2) if kind == "need" else b.pledge("p-1", revision=2)
    outcome = decide(f"org.drx.{kind}.updated", document, source, stored=current, crisis=ACTIVE)
    assert stale(outcome) == f"{kind} '{kind[0]}-1' is at revision 2; revision 2 is not newer"


@pytest.mark.parametrize(
    ("kind", "post", "source", "status"),
    [
        ("need", _need, ORG, "withdrawn"),
        ("need", _need, ORG, "expired"),
        ("pledge", _pledge, DONOR, "expired"),
    ],
)
def test_a_need_or_pledge_no_longer_live_cannot_be_updated(kind, post, source, status):
    current = stored(post(), status=status)
    document = b.need("n-1", revision=2) if kind == "need" else b.pledge("p-1", revision=2)
    outcome = decide(f"org.drx.{kind}.updated", document, source, stored=current, crisis=ACTIVE)
    assert rejected(outcome) == f"{kind} '{kind[0]}-1' is {status}; post a new {kind} instead"


def test_a_need_cannot_move_to_another_crisis():
    current = stored(_need())
    update = b.need("n-1", revision=2, crisis_id="fl-pak-2026")
    outcome = decide("org.drx.need.updated", update, ORG, stored=current, crisis=active_crisis("fl-pak-2026"))
    assert rejected(outcome) == "need 'n-1' belongs to crisis 'eq-tur-2026'; it cannot move"


# --- withdrawals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "post", "source"), [("need", _need, ORG), ("pledge", _pledge, DONOR)])
def test_a_withdrawal_records_the_reason_in_a_new_revision(kind, post, source):
    withdrawal = {f"{kind}_id": f"{kind[0]}-1", "revision": 2, "reason": "filled elsewhere"}
    outcome = decide(f"org.drx.{kind}.withdrawn", withdrawal, source, stored=stored(post()))
    (record,) = accepted(outcome).records
    assert (record.status, record.revision, record.withdrawn_reason) == ("withdrawn", 2, "filled elsewhere")


@pytest.mark.parametrize("kind", ["need", "pledge"])
def test_an_unknown_need_or_pledge_cannot_be_withdrawn(kind):
    outcome = decide(f"org.drx.{kind}.withdrawn", {f"{kind}_id": "x-never", "revision": 2}, ORG)
    assert rejected(outcome) == f"unknown {kind} 'x-never'"


@pytest.mark.parametrize(("kind", "post", "source"), [("need", _need, ORG), ("pledge", _pledge, DONOR)])
def test_a_withdrawal_not_newer_is_stale(kind, post, source):
    withdrawal = {f"{kind}_id": f"{kind[0]}-1", "revision": 1}
    outcome = decide(f"org.drx.{kind}.withdrawn", withdrawal, source, stored=stored(post()))
    assert stale(outcome) == f"{kind} '{kind[0]}-1' is at revision 1; revision 1 is not newer"


@pytest.mark.parametrize(("kind", "post", "source"), [("need", _need, ORG), ("pledge", _pledge, DONOR)])
def test_withdrawing_twice_is_stale(kind, post, source):
    withdrawn = stored(post(), status="withdrawn")
    outcome = decide(
        f"org.drx.{kind}.withdrawn", {f"{kind}_id": f"{kind[0]}-1", "revision": 2}, source, stored=withdrawn
    )
    assert stale(outcome) == f"{kind} '{kind[0]}-1' is already withdrawn"


# --- what ingest does not handle -----------------------------------------------------------------


def test_an_event_ingest_does_not_handle_is_refused():
    data = inbound.SubscriptionRemoved(subscription_id="s-1")
    outcome = domain.decide(
        "org.drx.subscription.removed",
        data,
        ORG,
        source=REGISTRY[ORG],
        stored=None,
        crisis=None,
        earmarked_crises={},
        today=TODAY,
        ref=REF,
    )
    assert rejected(outcome) == "event type 'org.drx.subscription.removed' is not handled by ingest"
