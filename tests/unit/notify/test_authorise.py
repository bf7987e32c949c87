"""Who may manage a subscription (``domain.authorise``), on plain values: every refusal, every pass."""

import dataclasses
import datetime as dt

import pytest

from services.notify.domain import RegisteredSource, authorise

COORD = RegisteredSource("urn:drx:coord:iom-desk", "coordinator", "iom-desk")
ORG = RegisteredSource("urn:drx:org:trc-gaziantep", "organisation", "trc-gaziantep")
DONOR = RegisteredSource("urn:drx:donor:hta-berlin", "donor", "hta-berlin")


def _authorise(registered: RegisteredSource, kind: str | None, recipient: str | None) -> str | None:
    return authorise(registered.source, registered, kind, recipient)


def _only_its_own(registered: RegisteredSource) -> str:
    source, role, party = registered.source, registered.role, registered.party_id
    return f"source {source!r} is a {role} for {party!r}; it may manage only its own {role} subscriptions"


@pytest.mark.parametrize(("kind", "recipient"), [("organisation", "trc-gaziantep"), (None, None)])
def test_an_unregistered_source_may_manage_nothing(kind, recipient):
    reason = authorise("urn:drx:org:nobody", None, kind, recipient)
    assert reason == "source 'urn:drx:org:nobody' is not registered (drx sources add)"


@pytest.mark.parametrize(
    ("kind", "recipient"),
    [
        ("coordinator", "iom-desk"),
        ("coordinator", "someone-else"),
        ("organisation", "trc-gaziantep"),
        ("donor", "hta-berlin"),
        (None, None),  # removing a subscription that does not exist: refused later, as unknown
    ],
)
def test_a_coordinator_manages_any_subscription(kind, recipient):
    assert _authorise(COORD, kind, recipient) is None


@pytest.mark.parametrize(("registered", "kind"), [(ORG, "organisation"), (DONOR, "donor")])
def test_a_party_manages_its_own_subscriptions(registered, kind):
    assert _authorise(registered, kind, registered.party_id) is None


@pytest.mark.parametrize(
    ("registered", "kind", "recipient"),
    [
        (ORG, "organisation", "ahbap"),  # another organisation
        (DONOR, "donor", "other-hta"),  # another donor
        (DONOR, "coordinator", "hta-berlin"),  # its own id, as a coordinator
        (ORG, "donor", "trc-gaziantep"),  # its own id, as a donor
        (ORG, "coordinator", "iom-desk"),
        (DONOR, None, None),  # a subscription that does not exist is nobody's own
    ],
)
def test_a_party_may_not_manage_anyone_else_s_subscription(registered, kind, recipient):
    assert _authorise(registered, kind, recipient) == _only_its_own(registered)


@pytest.mark.parametrize(
    ("kind", "recipient"), [("organisation", "trc-gaziantep"), ("coordinator", "iom-desk")]
)
@pytest.mark.parametrize("registered", [COORD, ORG])
def test_a_revoked_source_may_manage_nothing_not_even_its_own(registered, kind, recipient):
    on = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    revoked = dataclasses.replace(registered, revoked_on=on, revoked_reason="principal leaked")
    reason = _authorise(revoked, kind, recipient)
    assert reason == f"source {registered.source!r} was revoked on 2026-03-02 09:30 UTC: principal leaked"
