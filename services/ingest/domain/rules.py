"""Ingest's acceptance rules: what one valid inbound event does, given the state it touches.

:func:`decide` is a plain function of values (the event's data, the registered source, the stored
entity and crises, ``today``, the reference data): no I/O and no clock, so a replayed message is
judged by when it was sent, and every reason it can give is unit-tested without a server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from services.ingest.domain.authority import (
    authorise_crisis,
    authorise_owner,
    authorise_party,
    authorise_role,
    check_standing,
    check_update,
)
from services.ingest.domain.checks import (
    ISO_SUBDIVISION,
    check_crisis_ref,
    check_place,
    check_spec,
    normal_place,
    normal_spec,
)
from services.ingest.domain.values import (
    Accept,
    Outcome,
    Problems,
    Reference,
    Reject,
    SourceInfo,
    Stale,
    Stored,
)
from shared.events import canonical, inbound
from shared.events.common import Place
from shared.reference import country_name, is_country, is_subdivision

__all__ = ["decide"]


@dataclass(frozen=True, slots=True)
class _Given:
    """What :func:`decide` was given besides the event: the state it touches, the day, the reference data."""

    source: SourceInfo | None
    stored: Stored | None
    crisis: Stored | None
    earmarked_crises: dict[str, Stored | None]
    today: dt.date
    ref: Reference


def decide(
    event_type: str,
    data: BaseModel,
    envelope_source: str,
    *,
    source: SourceInfo | None,
    stored: Stored | None,
    crisis: Stored | None,
    earmarked_crises: dict[str, Stored | None],
    today: dt.date,
    ref: Reference,
) -> Outcome:
    """What one valid inbound event does, given the stored state it touches.

    ``stored`` is the entity the event is about (crisis, need or pledge), ``crisis`` the crisis a
    need or pledge refers to, ``earmarked_crises`` the crises a pledge is earmarked to.
    """
    if refused := check_standing(source, envelope_source):
        return refused
    given = _Given(source, stored, crisis, earmarked_crises, today, ref)
    match data:
        case inbound.CrisisClosed():
            return _decide_crisis_closed(data, envelope_source, source, stored)
        case inbound.CrisisDeclared():
            return _decide_crisis(data, envelope_source, source, stored)
        case inbound.NeedWithdrawn():
            return _decide_withdrawal("need", data.need_id, data, envelope_source, stored)
        case inbound.NeedPosted():
            return _decide_need(data, envelope_source, given)
        case inbound.PledgeWithdrawn():
            return _decide_withdrawal("pledge", data.pledge_id, data, envelope_source, stored)
        case inbound.PledgePosted():
            return _decide_pledge(data, envelope_source, given)
        case inbound.MatchDecided():
            return _decide_match(data, envelope_source, source)
    return Reject(f"event type {event_type!r} is not handled by ingest")  # the registry guards the topics


def _decide_match(data: inbound.MatchDecided, envelope_source: str, source: SourceInfo | None) -> Outcome:
    """A coordinator's decision, with ``decided_by`` from the registry (the data's is ignored).

    The data's ``decided_by`` is free text anyone can fill in; the registered source is who
    actually decided, so its registered name is what matching, notifications and the audit log
    name (the record's ``source`` keeps its id).

    Its scope is checked by matching, not here: a decision names only a match id, and matches
    (with the need, crisis and country they are for) live in matching's tables, which ingest
    neither holds nor reads. So the coordinator's scope travels in the canonical
    ``decision.recorded``, and matching refuses a decision outside it onto the rejected topic,
    with the reason, as it refuses a decision on an unknown match.
    """
    if refused := authorise_role(source, envelope_source, "coordinator", "decide on matches"):
        return refused
    assert source is not None
    decided_by = source.display_name or envelope_source
    scope = source.scope
    carried = {"crises": sorted(scope.crises), "countries": sorted(scope.countries), "all": scope.everything}
    state = {**data.model_dump(), "decided_by": decided_by, "source": envelope_source, "scope": carried}
    return Accept((canonical.DecisionRecorded.model_validate(state),))


def _decide_crisis(
    data: inbound.CrisisDeclared,
    envelope_source: str,
    source: SourceInfo | None,
    stored: Stored | None,
) -> Outcome:
    refused = authorise_role(source, envelope_source, "coordinator", "declare, update or close crises")
    if refused:
        return refused
    problems = Problems()
    for index, country in enumerate(data.countries):
        if not is_country(country):
            problems.add(f"data.countries[{index}]", f"{country!r} is not an ISO 3166-1 alpha-3 country code")
    for index, area in enumerate(data.areas):
        if ISO_SUBDIVISION.match(area) and not any(is_subdivision(area.upper(), c) for c in data.countries):
            problems.add(
                f"data.areas[{index}]", f"{area!r} is not a subdivision of {', '.join(data.countries)}"
            )
    if rejected := problems.reject():
        return rejected
    assert source is not None
    if refused := authorise_crisis(source, data.crisis_id, data.countries, stored):
        return refused
    if stored is not None:
        if data.revision <= stored.revision:
            return Stale(f"crisis {data.crisis_id!r} is at revision {stored.revision}")
        if stored.status == "closed":
            return Reject(f"crisis {data.crisis_id!r} is closed; declare a new crisis instead")
    areas = tuple(a.upper() if ISO_SUBDIVISION.match(a) else a for a in data.areas)
    record = canonical.CrisisRecorded(
        **{**data.model_dump(), "areas": areas}, status="active", source=envelope_source
    )
    return Accept((record,))


def _decide_crisis_closed(
    data: inbound.CrisisClosed, envelope_source: str, source: SourceInfo | None, stored: Stored | None
) -> Outcome:
    refused = authorise_role(source, envelope_source, "coordinator", "declare, update or close crises")
    if refused:
        return refused
    if stored is None:
        return Reject(f"unknown crisis {data.crisis_id!r}")
    assert source is not None
    if refused := authorise_crisis(source, data.crisis_id, tuple(stored.state["countries"]), stored):
        return refused
    if data.revision <= stored.revision:
        return Stale(f"crisis {data.crisis_id!r} is at revision {stored.revision}")
    if stored.status == "closed":
        return Stale(f"crisis {data.crisis_id!r} is already closed")
    state = {**stored.state, "revision": data.revision, "status": "closed", "closed_reason": data.reason}
    return Accept((canonical.CrisisRecorded.model_validate(state),), close_needs_of=data.crisis_id)


def _decide_need(data: inbound.NeedPosted, envelope_source: str, given: _Given) -> Outcome:
    stored = given.stored
    refused = authorise_party(
        given.source, envelope_source, "organisation", data.organisation.id
    ) or check_update("need", data.need_id, data.revision, stored, envelope_source, live_status="open")
    if refused:
        return refused
    if stored is not None and stored.state["crisis_id"] != data.crisis_id:
        return Reject(
            f"need {data.need_id!r} belongs to crisis {stored.state['crisis_id']!r}; it cannot move"
        )
    problems = Problems()
    check_crisis_ref(data.crisis_id, given.crisis, "data.crisis_id", problems)
    if given.crisis is not None:
        _check_place_in_crisis(data.place, data.crisis_id, given.crisis, problems)
    if data.needed_by < given.today:
        problems.add("data.needed_by", f"{data.needed_by} is in the past")
    return _accept_offer(
        canonical.NeedRecorded, data, given, status="open", envelope_source=envelope_source, problems=problems
    )


def _check_place_in_crisis(place: Place, crisis_id: str, crisis: Stored, problems: Problems) -> None:
    """A need lies in one of its crisis's countries: no need in Paris for the Nepal earthquake.

    Pledges are not held to this: a diaspora donor gives from wherever it lives.
    """
    countries = tuple(crisis.state.get("countries", ()))
    if place.country in countries or not is_country(place.country):  # an unknown code is check_place's
        return
    where = f"{place.name}, {place.country}" if place.name else place.country
    crisis_name = crisis.state.get("name", crisis_id)
    covers = ", ".join(f"{_country(c)} ({c})" for c in countries)
    problems.add(
        "data.place.country",
        f"the need is in {where} ({_country(place.country)}), outside crisis {crisis_id!r} "
        f"({crisis_name}), which covers {covers}",
    )


def _country(alpha3: str) -> str:
    try:
        return country_name(alpha3)
    except ValueError:
        return alpha3


def _decide_pledge(data: inbound.PledgePosted, envelope_source: str, given: _Given) -> Outcome:
    refused = authorise_party(given.source, envelope_source, "donor", data.donor.id) or check_update(
        "pledge", data.pledge_id, data.revision, given.stored, envelope_source, live_status="active"
    )
    if refused:
        return refused
    problems = Problems()
    if data.crisis_id is not None:
        check_crisis_ref(data.crisis_id, given.crisis, "data.crisis_id", problems)
    for index, crisis_id in enumerate(data.earmarks.crises):
        if given.earmarked_crises.get(crisis_id) is None:
            problems.add(f"data.earmarks.crises[{index}]", f"unknown crisis {crisis_id!r}")
    for index, country in enumerate(data.earmarks.countries):
        if not is_country(country):
            problems.add(
                f"data.earmarks.countries[{index}]", f"{country!r} is not an ISO 3166-1 alpha-3 code"
            )
    if data.expires_on < given.today:
        problems.add("data.expires_on", f"{data.expires_on} is in the past")
    return _accept_offer(
        canonical.PledgeRecorded,
        data,
        given,
        status="active",
        envelope_source=envelope_source,
        problems=problems,
    )


def _accept_offer(
    model: type[canonical.NeedRecorded | canonical.PledgeRecorded],
    data: inbound.NeedPosted | inbound.PledgePosted,
    given: _Given,
    *,
    status: str,
    envelope_source: str,
    problems: Problems,
) -> Outcome:
    """The checks needs and pledges share (place, spec), then the normalised canonical state."""
    today, ref = given.today, given.ref
    check_place(data.place, "data.place", problems)
    check_spec(data.spec, today, ref, problems)
    if rejected := problems.reject():
        return rejected
    state = {
        **data.model_dump(),
        "place": normal_place(data.place),
        "spec": normal_spec(data.spec, today, ref),
        "status": status,
        "source": envelope_source,
    }
    return Accept((model.model_validate(state),))


def _decide_withdrawal(
    kind: Literal["need", "pledge"],
    entity_id: str,
    data: inbound.NeedWithdrawn | inbound.PledgeWithdrawn,
    envelope_source: str,
    stored: Stored | None,
) -> Outcome:
    if stored is None:
        return Reject(f"unknown {kind} {entity_id!r}")
    if refused := authorise_owner(stored, envelope_source, kind, entity_id):
        return refused
    if data.revision <= stored.revision:
        return Stale(
            f"{kind} {entity_id!r} is at revision {stored.revision}; revision {data.revision} is not newer"
        )
    if stored.status == "withdrawn":
        return Stale(f"{kind} {entity_id!r} is already withdrawn")
    state = {
        **stored.state,
        "revision": data.revision,
        "status": "withdrawn",
        "withdrawn_reason": data.reason,
    }
    model = canonical.NeedRecorded if kind == "need" else canonical.PledgeRecorded
    return Accept((model.model_validate(state),))
