"""Who may post what: the source's role and party, a coordinator's scope, the owner of a stored
entity, its revision."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from services.ingest.domain.values import Outcome, Reject, Role, SourceInfo, Stale, Stored
from shared.scope import outside

__all__ = [
    "UNREGISTERED_HINT",
    "authorise_crisis",
    "authorise_owner",
    "authorise_party",
    "authorise_role",
    "check_standing",
    "check_update",
]

UNREGISTERED_HINT = "register it with `drx sources add`"


def check_standing(source: SourceInfo | None, envelope_source: str) -> Reject | None:
    """The source is registered and not revoked: the first check of every event, withdrawals included.

    A withdrawal is otherwise authorised by ownership alone (the stored entity's source), so
    without this a revoked or deleted source could still withdraw what it had posted.
    """
    if source is None:
        return Reject(f"not authorised: source {envelope_source!r} is not registered; {UNREGISTERED_HINT}")
    if source.revoked_on is not None:
        on = f"{source.revoked_on.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        why = f": {source.revoked_reason}" if source.revoked_reason else ""
        return Reject(f"not authorised: source {envelope_source!r} was revoked on {on}{why}")
    return None


def authorise_role(source: SourceInfo | None, envelope_source: str, role: Role, what: str) -> Reject | None:
    if source is None:
        return Reject(f"not authorised: source {envelope_source!r} is not registered; {UNREGISTERED_HINT}")
    if source.role != role:
        registered = f"{envelope_source!r} is registered as {source.role}"
        return Reject(f"not authorised: only {role} sources may {what}; {registered}")
    return None


def authorise_crisis(
    source: SourceInfo, crisis_id: str, countries: tuple[str, ...], stored: Stored | None
) -> Reject | None:
    """A coordinator declares, updates or closes a crisis only within its scope.

    Declaring: every country of the crisis in scope. Updating or closing: the crisis assigned by
    id, or every country it had in scope; an update's new countries too, unless it is assigned by
    id (a coordinator assigned one crisis runs it, wherever it spreads).
    """
    scope = source.scope
    before = tuple(stored.state.get("countries", ())) if stored is not None else ()
    covered = (
        scope.covers_crisis(crisis_id, before)
        and (crisis_id in scope.crises or scope.covers_countries(countries))
        if stored is not None
        else scope.covers_countries(countries)
    )
    if covered:
        return None
    named = ", ".join(dict.fromkeys((*before, *countries)))
    return Reject(f"not authorised: {outside(source.source, scope, f'crisis {crisis_id} ({named})')}")


def authorise_owner(stored: Stored, envelope_source: str, kind: str, entity_id: str) -> Reject | None:
    if stored.source != envelope_source:
        return Reject(f"not authorised: {kind} {entity_id!r} was posted by another source")
    return None


def authorise_party(
    source: SourceInfo | None, envelope_source: str, role: Literal["organisation", "donor"], party_id: str
) -> Reject | None:
    """The source has the role, and posts for the organisation or donor named in the data."""
    what = "post needs" if role == "organisation" else "post pledges"
    if refused := authorise_role(source, envelope_source, role, what):
        return refused
    assert source is not None
    if party_id != source.party_id:
        posts_for = f"posts for {role} {source.party_id!r}, not {party_id!r}"
        return Reject(f"not authorised: source {envelope_source!r} {posts_for}")
    return None


def check_update(
    kind: str, entity_id: str, revision: int, stored: Stored | None, envelope_source: str, *, live_status: str
) -> Outcome | None:
    """For an entity already stored: same source, newer revision, still live."""
    if stored is None:
        return None
    if refused := authorise_owner(stored, envelope_source, kind, entity_id):
        return refused
    if revision <= stored.revision:
        return Stale(
            f"{kind} {entity_id!r} is at revision {stored.revision}; revision {revision} is not newer"
        )
    if stored.status != live_status:
        return Reject(f"{kind} {entity_id!r} is {stored.status}; post a new {kind} instead")
    return None
