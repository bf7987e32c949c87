"""Who may manage a subscription (``domain.authorise``), on plain values: every refusal, every pass."""

import dataclasses
import datetime as dt

import pytest

from services.notify.domain import Bounds, HeldSubscription, Party, RegisteredSource, authorise
from shared.scope import Scope

COORD = RegisteredSource("urn:drx:coord:iom-desk", "coordinator", "iom-desk", scope=Scope(everything=True))
SCOPED = RegisteredSource(
    "urn:drx:coord:npl-desk",
    "coordinator",
    "npl-desk",
    scope=Scope.of(crises=("eq-npl",), countries=("NPL",)),
)
ORG = RegisteredSource("urn:drx:org:trc-gaziantep", "organisation", "trc-gaziantep")
DONOR = RegisteredSource("urn:drx:donor:hta-berlin", "donor", "hta-berlin")


def _party(registered: RegisteredSource) -> Party:
    return Party(registered.role, registered.party_id)


def _held(owner: str | None, recipient: Party, subscription_id: str = "s-1") -> HeldSubscription:
    return HeldSubscription(subscription_id, owner, recipient)


def _only_its_own(registered: RegisteredSource) -> str:
    source, role, party = registered.source, registered.role, registered.party_id
    return f"source {source!r} is a {role} for {party!r}; it may manage only its own {role} subscriptions"


def _someone_else_s(subscription_id: str) -> str:
    return (
        f"subscription {subscription_id!r} was created by another source; only that source or a "
        "coordinator whose scope covers it may replace or remove it (choose another subscription id)"
    )


@pytest.mark.parametrize(("wanted", "held"), [(Party("organisation", "trc-gaziantep"), None), (None, None)])
def test_an_unregistered_source_may_manage_nothing(wanted, held):
    reason = authorise("urn:drx:org:nobody", None, wanted=wanted, held=held)
    assert reason == "source 'urn:drx:org:nobody' is not registered (drx sources add)"


@pytest.mark.parametrize(
    ("wanted", "held"),
    [
        (Party("coordinator", "iom-desk"), None),
        (Party("coordinator", "someone-else"), None),
        (Party("organisation", "trc-gaziantep"), _held(ORG.source, _party(ORG))),  # replaces the org's
        (Party("donor", "hta-berlin"), _held(DONOR.source, _party(DONOR))),
        (None, _held(ORG.source, _party(ORG))),  # removes the org's
        (None, None),  # removing a subscription that does not exist: refused later, as unknown
    ],
)
def test_a_global_coordinator_manages_any_subscription(wanted, held):
    assert authorise(COORD.source, COORD, wanted=wanted, held=held) is None


@pytest.mark.parametrize("registered", [ORG, DONOR])
def test_a_party_subscribes_itself_and_replaces_or_removes_what_it_created(registered):
    own = _party(registered)
    mine = _held(registered.source, own)
    assert authorise(registered.source, registered, wanted=own, held=None) is None
    assert authorise(registered.source, registered, wanted=own, held=mine) is None
    assert authorise(registered.source, registered, wanted=None, held=mine) is None


@pytest.mark.parametrize(
    ("registered", "wanted"),
    [
        (ORG, Party("organisation", "ahbap")),  # another organisation
        (DONOR, Party("donor", "other-hta")),  # another donor
        (DONOR, Party("coordinator", "hta-berlin")),  # its own id, as a coordinator
        (ORG, Party("donor", "trc-gaziantep")),  # its own id, as a donor
        (ORG, Party("coordinator", "iom-desk")),
    ],
)
def test_a_party_subscribes_no_one_but_itself(registered, wanted):
    assert authorise(registered.source, registered, wanted=wanted, held=None) == _only_its_own(registered)


def test_a_donor_cannot_take_over_an_organisation_s_subscription_id_even_as_its_own_recipient():
    """The attack of issue 15: the new recipient is the donor itself, but the id is the org's."""
    organisation_s = _held(ORG.source, _party(ORG), "s-org")
    reason = authorise(DONOR.source, DONOR, wanted=_party(DONOR), held=organisation_s)
    assert reason == _someone_else_s("s-org")
    assert authorise(DONOR.source, DONOR, wanted=None, held=organisation_s) == _someone_else_s("s-org")


def test_another_source_of_the_same_party_did_not_create_it():
    """Ownership is the creating source's: another integration of the organisation asks a coordinator."""
    second = RegisteredSource("urn:drx:org:trc-gaziantep-2", "organisation", "trc-gaziantep")
    held = _held(ORG.source, _party(ORG))
    assert authorise(second.source, second, wanted=_party(second), held=held) == _someone_else_s("s-1")


def test_an_operator_s_subscription_is_managed_by_operators_and_coordinators_only():
    by_operator = _held("cli:alice", _party(ORG))
    assert authorise(ORG.source, ORG, wanted=None, held=by_operator) == _someone_else_s("s-1")
    assert authorise(COORD.source, COORD, wanted=None, held=by_operator) is None


def test_a_subscription_from_before_owners_were_kept_is_its_recipient_s():
    legacy = _held(None, _party(ORG))
    assert authorise(ORG.source, ORG, wanted=_party(ORG), held=legacy) is None
    assert authorise(ORG.source, ORG, wanted=None, held=legacy) is None
    assert authorise(DONOR.source, DONOR, wanted=_party(DONOR), held=legacy) == _only_its_own(DONOR)


@pytest.mark.parametrize("registered", [ORG, DONOR])
def test_nothing_to_remove_is_nobody_s_own(registered):
    assert authorise(registered.source, registered, wanted=None, held=None) == _only_its_own(registered)


@pytest.mark.parametrize("registered", [COORD, ORG])
def test_a_revoked_source_may_manage_nothing_not_even_its_own(registered):
    on = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    revoked = dataclasses.replace(registered, revoked_on=on, revoked_reason="principal leaked")
    reason = authorise(revoked.source, revoked, wanted=_party(registered), held=None)
    assert reason == f"source {registered.source!r} was revoked on 2026-03-02 09:30 UTC: principal leaked"


# --- a coordinator's scope -----------------------------------------------------------------------


def _coordinator_held(owner: str | None, crisis_id: str | None, country: str | None) -> HeldSubscription:
    return HeldSubscription("s-c", owner, Party("coordinator", "someone"), Bounds(crisis_id, country))


@pytest.mark.parametrize(("crisis_id", "country"), [("eq-npl", None), (None, "NPL"), ("eq-other", "NPL")])
def test_a_scoped_coordinator_replaces_or_removes_a_subscription_its_scope_covers(crisis_id, country):
    held = _coordinator_held("urn:drx:coord:other", crisis_id, country)
    wanted, bounds = Party("coordinator", "npl-desk"), Bounds(crisis_id, country)
    assert authorise(SCOPED.source, SCOPED, wanted=wanted, held=held, wanted_bounds=bounds) is None
    assert authorise(SCOPED.source, SCOPED, wanted=None, held=held) is None


def test_a_scoped_coordinator_is_refused_a_subscription_outside_its_scope_with_the_reason():
    held = _coordinator_held("urn:drx:coord:other", "eq-tur-2026", "TUR")
    assert authorise(SCOPED.source, SCOPED, wanted=None, held=held) == (
        "urn:drx:coord:npl-desk may act only within crises [eq-npl] and countries [NPL]; subscription "
        "'s-c' (for coordinator someone, crisis eq-tur-2026, country TUR) is outside it; only the source "
        "that created it or a coordinator whose scope covers it may replace or remove it"
    )


def test_a_scoped_coordinator_may_not_take_an_organisations_subscription():
    """A party is bound to no crisis or country: only a global coordinator covers its subscriptions."""
    reason = authorise(SCOPED.source, SCOPED, wanted=None, held=_held(ORG.source, _party(ORG)))
    assert reason is not None
    assert "subscription 's-1' (for organisation trc-gaziantep) is outside it" in reason
    reason = authorise(SCOPED.source, SCOPED, wanted=_party(ORG), held=None)
    assert reason is not None
    assert reason.endswith("a subscription for organisation trc-gaziantep is outside it")


@pytest.mark.parametrize(("crisis_id", "country"), [(None, None), ("eq-tur-2026", None), (None, "TUR")])
def test_a_scoped_coordinators_own_subscriptions_must_lie_in_its_scope(crisis_id, country):
    wanted, bounds = Party("coordinator", "npl-desk"), Bounds(crisis_id, country)
    reason = authorise(SCOPED.source, SCOPED, wanted=wanted, held=None, wanted_bounds=bounds)
    assert reason == (
        "urn:drx:coord:npl-desk may act only within crises [eq-npl] and countries [NPL]; a subscription "
        f"for coordinator npl-desk, crisis {crisis_id or 'any'}, country {country or 'any'} is outside it"
    )


def test_a_coordinator_removes_what_it_created_even_once_outside_its_scope():
    held = _coordinator_held(SCOPED.source, "eq-tur-2026", None)
    assert authorise(SCOPED.source, SCOPED, wanted=None, held=held) is None


def test_a_coordinator_with_an_empty_scope_manages_only_what_it_created():
    empty = dataclasses.replace(SCOPED, scope=Scope())
    reason = authorise(
        empty.source, empty, wanted=None, held=_coordinator_held("urn:drx:coord:x", None, "NPL")
    )
    assert reason is not None
    assert "has an empty scope" in reason
