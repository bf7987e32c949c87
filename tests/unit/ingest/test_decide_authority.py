"""Who may post what (``decide``'s authority rules): every "not authorised" reason, and who is let in."""

import pytest

from services.ingest.domain import Stored
from shared.events import canonical
from tests.support import builders as b
from tests.unit.ingest.support import (
    COORD,
    DONOR,
    NEPAL_COORD,
    ORG,
    OTHER_DONOR,
    OTHER_ORG,
    REGISTRY,
    UNREGISTERED,
    accepted,
    active_crisis,
    decide,
    rejected,
    stored,
)

HINT = "register it with `drx sources add`"
DECISION = {"match_id": "m-1", "decision": "confirm", "decided_by": "desk officer"}


@pytest.mark.parametrize(
    ("event_type", "document"),
    [
        ("org.drx.crisis.declared", b.crisis()),
        ("org.drx.crisis.updated", b.crisis(revision=2)),
        ("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}),
        ("org.drx.need.posted", b.need()),
        ("org.drx.pledge.posted", b.pledge()),
        ("org.drx.match.decided", DECISION),
        ("org.drx.need.withdrawn", {"need_id": "n-1", "revision": 2}),
        ("org.drx.pledge.withdrawn", {"pledge_id": "p-1", "revision": 2}),
    ],
)
def test_an_unregistered_source_is_refused_with_the_hint_to_register_it(event_type, document):
    # A withdrawal too: a source deleted from the registry may not withdraw what it had posted.
    posted = stored(decide("org.drx.need.posted", b.need("n-1"), ORG, crisis=active_crisis()))
    owned = Stored(UNREGISTERED, posted.revision, posted.status, posted.state)
    reason = rejected(decide(event_type, document, UNREGISTERED, stored=owned, crisis=active_crisis()))
    assert reason == f"not authorised: source {UNREGISTERED!r} is not registered; {HINT}"


CRISES = "coordinator sources may declare, update or close crises"


@pytest.mark.parametrize(
    ("event_type", "document", "source", "only", "registered_as"),
    [
        ("org.drx.crisis.declared", b.crisis(), ORG, CRISES, "organisation"),
        ("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, DONOR, CRISES, "donor"),
        ("org.drx.need.posted", b.need(), DONOR, "organisation sources may post needs", "donor"),
        ("org.drx.need.posted", b.need(), COORD, "organisation sources may post needs", "coordinator"),
        ("org.drx.pledge.posted", b.pledge(), ORG, "donor sources may post pledges", "organisation"),
        ("org.drx.match.decided", DECISION, DONOR, "coordinator sources may decide on matches", "donor"),
    ],
)
def test_a_source_of_the_wrong_role_is_refused(event_type, document, source, only, registered_as):
    reason = rejected(decide(event_type, document, source, crisis=active_crisis()))
    assert reason == f"not authorised: only {only}; {source!r} is registered as {registered_as}"


def test_an_organisation_posts_needs_only_for_itself():
    reason = rejected(
        decide("org.drx.need.posted", b.need(organisation={"id": "ahbap", "name": "Ahbap"}), ORG)
    )
    assert reason == f"not authorised: source {ORG!r} posts for organisation 'trc-gaziantep', not 'ahbap'"


def test_a_donor_posts_pledges_only_for_itself():
    reason = rejected(
        decide("org.drx.pledge.posted", b.pledge(donor={"id": "other-hta", "name": "Another"}), DONOR)
    )
    assert reason == f"not authorised: source {DONOR!r} posts for donor 'hta-berlin', not 'other-hta'"


def test_a_need_is_updated_only_by_the_source_that_posted_it():
    owned = stored(decide("org.drx.need.posted", b.need("n-1"), ORG, crisis=active_crisis()))
    update = b.need("n-1", organisation={"id": "ahbap", "name": "Ahbap"}, revision=2)
    reason = rejected(decide("org.drx.need.updated", update, OTHER_ORG, stored=owned, crisis=active_crisis()))
    assert reason == "not authorised: need 'n-1' was posted by another source"


def test_a_pledge_is_updated_only_by_the_source_that_posted_it():
    owned = stored(decide("org.drx.pledge.posted", b.pledge("p-1"), DONOR, crisis=active_crisis()))
    update = b.pledge("p-1", donor={"id": "other-hta", "name": "Another"}, revision=2)
    outcome = decide("org.drx.pledge.updated", update, OTHER_DONOR, stored=owned, crisis=active_crisis())
    assert rejected(outcome) == "not authorised: pledge 'p-1' was posted by another source"


def test_a_need_is_withdrawn_only_by_the_source_that_posted_it():
    owned = stored(decide("org.drx.need.posted", b.need("n-1"), ORG, crisis=active_crisis()))
    outcome = decide("org.drx.need.withdrawn", {"need_id": "n-1", "revision": 2}, OTHER_ORG, stored=owned)
    assert rejected(outcome) == "not authorised: need 'n-1' was posted by another source"


def test_a_pledge_is_withdrawn_only_by_the_source_that_posted_it():
    owned = stored(decide("org.drx.pledge.posted", b.pledge("p-1"), DONOR, crisis=active_crisis()))
    outcome = decide(
        "org.drx.pledge.withdrawn", {"pledge_id": "p-1", "revision": 2}, OTHER_DONOR, stored=owned
    )
    assert rejected(outcome) == "not authorised: pledge 'p-1' was posted by another source"


def test_each_role_is_let_in_for_what_it_may_do():
    assert accepted(decide("org.drx.crisis.declared", b.crisis(), COORD))
    assert accepted(decide("org.drx.need.posted", b.need(), ORG, crisis=active_crisis()))
    assert accepted(decide("org.drx.pledge.posted", b.pledge(), DONOR, crisis=active_crisis()))


def test_a_coordinator_s_decision_is_recorded_with_its_source_and_registered_name():
    (record,) = accepted(decide("org.drx.match.decided", DECISION, COORD)).records
    name = REGISTRY[COORD].display_name
    scope = {"crises": [], "countries": ["SYR", "TUR"], "all": False}
    assert record == canonical.DecisionRecorded(**{**DECISION, "decided_by": name}, source=COORD, scope=scope)


def test_a_decision_carries_the_coordinators_scope_for_matching_to_check():
    """Ingest cannot tell a match's crisis; matching can, with the scope from the registry."""
    (record,) = accepted(decide("org.drx.match.decided", DECISION, NEPAL_COORD)).records
    assert record.scope == canonical.DeciderScope(countries=("NPL",))


def test_decided_by_in_the_data_is_ignored_whoever_it_names():
    forged = {**DECISION, "decided_by": "Head of the UN, personally"}
    (record,) = accepted(decide("org.drx.match.decided", forged, COORD)).records
    assert record.decided_by == REGISTRY[COORD].display_name != forged["decided_by"]
