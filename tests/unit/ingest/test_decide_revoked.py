"""A revoked source may do nothing (``decide``'s first check): every event refused with the reason.

Its own earlier needs and pledges included: a withdrawal is otherwise authorised by ownership
alone. Enabled again (no ``revoked_on``), the same source is let in as before.
"""

import dataclasses
import datetime as dt

import pytest

from tests.support import builders as b
from tests.unit.ingest.support import (
    COORD,
    DONOR,
    ORG,
    REGISTRY,
    accepted,
    active_crisis,
    decide,
    rejected,
    stored,
)

REVOKED_ON = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
REASON = "principal leaked"
DECISION = {"match_id": "m-1", "decision": "confirm", "decided_by": "desk officer"}


def _revoked(*sources: str, reason: str | None = REASON) -> dict:
    revoked = {
        s: dataclasses.replace(REGISTRY[s], revoked_on=REVOKED_ON, revoked_reason=reason) for s in sources
    }
    return {**REGISTRY, **revoked}


NEED = stored(decide("org.drx.need.posted", b.need("n-1"), ORG, crisis=active_crisis()))
PLEDGE = stored(decide("org.drx.pledge.posted", b.pledge("p-1"), DONOR, crisis=active_crisis()))


@pytest.mark.parametrize(
    ("event_type", "document", "source", "owned"),
    [
        ("org.drx.crisis.declared", b.crisis(), COORD, None),
        ("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, COORD, None),
        ("org.drx.match.decided", DECISION, COORD, None),
        ("org.drx.need.posted", b.need("n-2"), ORG, None),
        ("org.drx.need.updated", b.need("n-1", revision=2), ORG, NEED),
        ("org.drx.need.withdrawn", {"need_id": "n-1", "revision": 2}, ORG, NEED),
        ("org.drx.pledge.posted", b.pledge("p-2"), DONOR, None),
        ("org.drx.pledge.withdrawn", {"pledge_id": "p-1", "revision": 2}, DONOR, PLEDGE),
    ],
)
def test_a_revoked_source_is_refused_everything_with_when_and_why(event_type, document, source, owned):
    outcome = decide(
        event_type, document, source, stored=owned, crisis=active_crisis(), registry=_revoked(source)
    )
    assert rejected(outcome) == (
        f"not authorised: source {source!r} was revoked on 2026-03-02 09:30 UTC: {REASON}"
    )


def test_a_revocation_without_a_reason_says_when():
    withdrawal = {"need_id": "n-1", "revision": 2}
    outcome = decide(
        "org.drx.need.withdrawn", withdrawal, ORG, stored=NEED, registry=_revoked(ORG, reason=None)
    )
    assert rejected(outcome) == f"not authorised: source {ORG!r} was revoked on 2026-03-02 09:30 UTC"


def test_revoking_one_source_leaves_the_others_alone():
    registry = _revoked(ORG)
    withdrawal = {"pledge_id": "p-1", "revision": 2}
    assert accepted(decide("org.drx.pledge.withdrawn", withdrawal, DONOR, stored=PLEDGE, registry=registry))


def test_an_enabled_source_withdraws_its_own_need_again():
    withdrawal = {"need_id": "n-1", "revision": 2}
    (record,) = accepted(decide("org.drx.need.withdrawn", withdrawal, ORG, stored=NEED)).records
    assert record.status == "withdrawn"
