"""Ingest's rules, as plain functions over values: reference checks, normalisation, authority,
and what an accepted event does to the stored state. No I/O, no clock: ``today`` is a parameter
(the Kafka record's timestamp), so a replayed message is judged by when it was sent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from shared.events import canonical, inbound
from shared.events.common import FundsNeed, Place, SkillsSpec, SuppliesSpec
from shared.events.outbound import ExpiryReminder
from shared.reference import (
    FxTable,
    SkillTaxonomy,
    SupplyCatalogue,
    UnknownUnitError,
    is_country,
    is_currency,
    is_language,
    is_subdivision,
    load_catalogue,
    load_fx,
    load_skills,
    normalise_language,
)

__all__ = [
    "Accept",
    "Outcome",
    "Reference",
    "Reject",
    "SourceInfo",
    "Stale",
    "Stored",
    "close_needs",
    "decide",
]

Role = Literal["organisation", "donor", "coordinator"]
_ISO_SUBDIVISION = re.compile(r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")
UNREGISTERED_HINT = "register it with `drx sources add`"


@dataclass(frozen=True, slots=True)
class Reference:
    """The reference data ingest validates and normalises against."""

    catalogue: SupplyCatalogue
    skills: SkillTaxonomy
    fx: FxTable

    @classmethod
    def load(cls) -> Reference:
        return cls(load_catalogue(), load_skills(), load_fx())


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source: str
    role: Role
    party_id: str


@dataclass(frozen=True, slots=True)
class Stored:
    """An entity as stored: who posted it, its revision and status, its canonical state."""

    source: str
    revision: int
    status: str
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Accept:
    """Store and publish these new states. ``close_needs_of`` asks to close a crisis's open needs."""

    records: tuple[BaseModel, ...]
    close_needs_of: str | None = None


@dataclass(frozen=True, slots=True)
class Stale:
    """A valid event not newer than what is stored: acknowledged, changes nothing."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str


Outcome = Accept | Stale | Reject


@dataclass(slots=True)
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def reject(self) -> Reject | None:
        return Reject("; ".join(self.items)) if self.items else None


# --- reference checks -------------------------------------------------------------------------


def _check_place(place: Place, where: str, problems: _Problems) -> None:
    if not is_country(place.country):
        problems.add(f"{where}.country", f"{place.country!r} is not an ISO 3166-1 alpha-3 country code")
        return
    area = place.admin_area
    if area and _ISO_SUBDIVISION.match(area) and not is_subdivision(area.upper(), place.country):
        problems.add(f"{where}.admin_area", f"{area!r} is not a subdivision of {place.country}")


def _check_crisis_ref(crisis_id: str, crisis: Stored | None, where: str, problems: _Problems) -> None:
    if crisis is None:
        problems.add(where, f"unknown crisis {crisis_id!r}")
    elif crisis.status != "active":
        problems.add(where, f"crisis {crisis_id!r} is closed")


def _check_funds(spec: FundsNeed, ref: Reference, problems: _Problems) -> None:
    if not is_currency(spec.currency):
        problems.add("data.spec.currency", f"{spec.currency!r} is not an ISO 4217 currency code")
    elif spec.currency not in ref.fx.currencies():
        problems.add("data.spec.currency", f"no exchange rate for {spec.currency} in the rate table")


def _check_supplies(spec: SuppliesSpec, ref: Reference, problems: _Problems) -> None:
    if spec.item_code is None:
        return  # a described item is compared as stated
    if ref.catalogue.get(spec.item_code) is None:
        problems.add("data.spec.item_code", f"{spec.item_code!r} is not in the supplies catalogue")
        return
    try:
        ref.catalogue.to_base(spec.item_code, spec.quantity, spec.unit)
    except UnknownUnitError as error:
        problems.add("data.spec.unit", str(error))


def _check_skills(spec: SkillsSpec, today: dt.date, ref: Reference, problems: _Problems) -> None:
    for index, code in enumerate(spec.skills):
        if code not in ref.skills:
            problems.add(f"data.spec.skills[{index}]", f"{code!r} is not in the skills taxonomy")
    for index, language in enumerate(spec.languages):
        if not is_language(language):
            problems.add(f"data.spec.languages[{index}]", f"{language!r} is not an ISO 639 language code")
    if spec.period.end < today:
        problems.add("data.spec.period.end", f"{spec.period.end} is in the past")


def _check_spec(spec: BaseModel, today: dt.date, ref: Reference, problems: _Problems) -> None:
    if isinstance(spec, FundsNeed):
        _check_funds(spec, ref, problems)
    elif isinstance(spec, SuppliesSpec):
        _check_supplies(spec, ref, problems)
    elif isinstance(spec, SkillsSpec):
        _check_skills(spec, today, ref, problems)


# --- normalisation -----------------------------------------------------------------------------


def _normal_place(place: Place) -> Place:
    area = place.admin_area
    if area and _ISO_SUBDIVISION.match(area):
        return place.model_copy(update={"admin_area": area.upper()})
    return place


def _normal_spec(spec: BaseModel, today: dt.date, ref: Reference) -> dict[str, Any]:
    values = spec.model_dump()
    if isinstance(spec, FundsNeed):
        values["amount_usd"] = ref.fx.convert(spec.amount, spec.currency, "USD", today)
        values["fx_date"] = today
    elif isinstance(spec, SuppliesSpec):
        item = ref.catalogue.get(spec.item_code) if spec.item_code else None
        if item is not None:
            values["item_code"] = item.code
            values["base_quantity"] = ref.catalogue.to_base(item.code, spec.quantity, spec.unit)
            values["base_unit"] = item.base_unit
        else:  # a described item: compared as stated
            values["unit"] = spec.unit.lower()
            values["base_quantity"] = spec.quantity
            values["base_unit"] = spec.unit.lower()
    elif isinstance(spec, SkillsSpec):
        values["languages"] = tuple(dict.fromkeys(normalise_language(lang) for lang in spec.languages))
    return values


# --- authority ---------------------------------------------------------------------------------


def _authorise_role(source: SourceInfo | None, envelope_source: str, role: Role, what: str) -> Reject | None:
    if source is None:
        return Reject(f"not authorised: source {envelope_source!r} is not registered; {UNREGISTERED_HINT}")
    if source.role != role:
        registered = f"{envelope_source!r} is registered as {source.role}"
        return Reject(f"not authorised: only {role} sources may {what}; {registered}")
    return None


def _authorise_owner(stored: Stored, envelope_source: str, kind: str, entity_id: str) -> Reject | None:
    if stored.source != envelope_source:
        return Reject(f"not authorised: {kind} {entity_id!r} was posted by another source")
    return None


def _authorise_party(
    source: SourceInfo | None, envelope_source: str, role: Literal["organisation", "donor"], party_id: str
) -> Reject | None:
    """The source has the role, and posts for the organisation or donor named in the data."""
    what = "post needs" if role == "organisation" else "post pledges"
    if refused := _authorise_role(source, envelope_source, role, what):
        return refused
    assert source is not None
    if party_id != source.party_id:
        posts_for = f"posts for {role} {source.party_id!r}, not {party_id!r}"
        return Reject(f"not authorised: source {envelope_source!r} {posts_for}")
    return None


def _check_update(
    kind: str, entity_id: str, revision: int, stored: Stored | None, envelope_source: str, *, live_status: str
) -> Outcome | None:
    """For an entity already stored: same source, newer revision, still live."""
    if stored is None:
        return None
    if refused := _authorise_owner(stored, envelope_source, kind, entity_id):
        return refused
    if revision <= stored.revision:
        return Stale(
            f"{kind} {entity_id!r} is at revision {stored.revision}; revision {revision} is not newer"
        )
    if stored.status != live_status:
        return Reject(f"{kind} {entity_id!r} is {stored.status}; post a new {kind} instead")
    return None


# --- decisions ---------------------------------------------------------------------------------


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
    match data:
        case inbound.CrisisClosed():
            return _decide_crisis_closed(data, envelope_source, source, stored)
        case inbound.CrisisDeclared():
            return _decide_crisis(data, envelope_source, source, stored)
        case inbound.NeedWithdrawn():
            return _decide_withdrawal("need", data.need_id, data, envelope_source, stored)
        case inbound.NeedPosted():
            return _decide_need(
                data, envelope_source, source=source, stored=stored, crisis=crisis, today=today, ref=ref
            )
        case inbound.PledgeWithdrawn():
            return _decide_withdrawal("pledge", data.pledge_id, data, envelope_source, stored)
        case inbound.PledgePosted():
            return _decide_pledge(
                data,
                envelope_source,
                source=source,
                stored=stored,
                crisis=crisis,
                earmarked_crises=earmarked_crises,
                today=today,
                ref=ref,
            )
        case inbound.MatchDecided():
            refused = _authorise_role(source, envelope_source, "coordinator", "decide on matches")
            if refused:
                return refused
            return Accept((canonical.DecisionRecorded(**data.model_dump(), source=envelope_source),))
    return Reject(f"event type {event_type!r} is not handled by ingest")  # pragma: no cover - registry guards


def _decide_crisis(
    data: inbound.CrisisDeclared,
    envelope_source: str,
    source: SourceInfo | None,
    stored: Stored | None,
) -> Outcome:
    refused = _authorise_role(source, envelope_source, "coordinator", "declare, update or close crises")
    if refused:
        return refused
    if stored is not None:
        if data.revision <= stored.revision:
            return Stale(f"crisis {data.crisis_id!r} is at revision {stored.revision}")
        if stored.status == "closed":
            return Reject(f"crisis {data.crisis_id!r} is closed; declare a new crisis instead")
    problems = _Problems()
    for index, country in enumerate(data.countries):
        if not is_country(country):
            problems.add(f"data.countries[{index}]", f"{country!r} is not an ISO 3166-1 alpha-3 country code")
    for index, area in enumerate(data.areas):
        if _ISO_SUBDIVISION.match(area) and not any(is_subdivision(area.upper(), c) for c in data.countries):
            problems.add(
                f"data.areas[{index}]", f"{area!r} is not a subdivision of {', '.join(data.countries)}"
            )
    if rejected := problems.reject():
        return rejected
    areas = tuple(a.upper() if _ISO_SUBDIVISION.match(a) else a for a in data.areas)
    record = canonical.CrisisRecorded(
        **{**data.model_dump(), "areas": areas}, status="active", source=envelope_source
    )
    return Accept((record,))


def _decide_crisis_closed(
    data: inbound.CrisisClosed, envelope_source: str, source: SourceInfo | None, stored: Stored | None
) -> Outcome:
    refused = _authorise_role(source, envelope_source, "coordinator", "declare, update or close crises")
    if refused:
        return refused
    if stored is None:
        return Reject(f"unknown crisis {data.crisis_id!r}")
    if data.revision <= stored.revision:
        return Stale(f"crisis {data.crisis_id!r} is at revision {stored.revision}")
    if stored.status == "closed":
        return Stale(f"crisis {data.crisis_id!r} is already closed")
    state = {**stored.state, "revision": data.revision, "status": "closed", "closed_reason": data.reason}
    return Accept((canonical.CrisisRecorded.model_validate(state),), close_needs_of=data.crisis_id)


def _decide_need(
    data: inbound.NeedPosted,
    envelope_source: str,
    *,
    source: SourceInfo | None,
    stored: Stored | None,
    crisis: Stored | None,
    today: dt.date,
    ref: Reference,
) -> Outcome:
    refused = _authorise_party(
        source, envelope_source, "organisation", data.organisation.id
    ) or _check_update("need", data.need_id, data.revision, stored, envelope_source, live_status="open")
    if refused:
        return refused
    if stored is not None and stored.state["crisis_id"] != data.crisis_id:
        return Reject(
            f"need {data.need_id!r} belongs to crisis {stored.state['crisis_id']!r}; it cannot move"
        )
    problems = _Problems()
    _check_crisis_ref(data.crisis_id, crisis, "data.crisis_id", problems)
    if data.needed_by < today:
        problems.add("data.needed_by", f"{data.needed_by} is in the past")
    return _accept_offer(
        canonical.NeedRecorded,
        data,
        status="open",
        envelope_source=envelope_source,
        problems=problems,
        today=today,
        ref=ref,
    )


def _decide_pledge(
    data: inbound.PledgePosted,
    envelope_source: str,
    *,
    source: SourceInfo | None,
    stored: Stored | None,
    crisis: Stored | None,
    earmarked_crises: dict[str, Stored | None],
    today: dt.date,
    ref: Reference,
) -> Outcome:
    refused = _authorise_party(source, envelope_source, "donor", data.donor.id) or _check_update(
        "pledge", data.pledge_id, data.revision, stored, envelope_source, live_status="active"
    )
    if refused:
        return refused
    problems = _Problems()
    if data.crisis_id is not None:
        _check_crisis_ref(data.crisis_id, crisis, "data.crisis_id", problems)
    for index, crisis_id in enumerate(data.earmarks.crises):
        if earmarked_crises.get(crisis_id) is None:
            problems.add(f"data.earmarks.crises[{index}]", f"unknown crisis {crisis_id!r}")
    for index, country in enumerate(data.earmarks.countries):
        if not is_country(country):
            problems.add(
                f"data.earmarks.countries[{index}]", f"{country!r} is not an ISO 3166-1 alpha-3 code"
            )
    if data.expires_on < today:
        problems.add("data.expires_on", f"{data.expires_on} is in the past")
    return _accept_offer(
        canonical.PledgeRecorded,
        data,
        status="active",
        envelope_source=envelope_source,
        problems=problems,
        today=today,
        ref=ref,
    )


def _accept_offer(
    model: type[canonical.NeedRecorded | canonical.PledgeRecorded],
    data: inbound.NeedPosted | inbound.PledgePosted,
    *,
    status: str,
    envelope_source: str,
    problems: _Problems,
    today: dt.date,
    ref: Reference,
) -> Outcome:
    """The checks needs and pledges share (place, spec), then the normalised canonical state."""
    _check_place(data.place, "data.place", problems)
    _check_spec(data.spec, today, ref, problems)
    if rejected := problems.reject():
        return rejected
    state = {
        **data.model_dump(),
        "place": _normal_place(data.place),
        "spec": _normal_spec(data.spec, today, ref),
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
    if refused := _authorise_owner(stored, envelope_source, kind, entity_id):
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


def close_needs(open_needs: list[dict[str, Any]]) -> list[canonical.NeedRecorded]:
    """A closed crisis closes its open needs; each gets a new revision."""
    return [
        canonical.NeedRecorded.model_validate(
            {**state, "status": "closed", "revision": state["revision"] + 1}
        )
        for state in open_needs
        if state["status"] == "open"
    ]


def expire(state: dict[str, Any], today: dt.date) -> canonical.NeedRecorded | canonical.PledgeRecorded | None:
    """The expired version of a live need past its needed-by date or pledge past its expiry.

    A need is useful up to and including its needed-by day, a pledge available up to and
    including its expiry day; the day after, they lapse. ``None`` when ``state`` is not due.
    """
    if "need_id" in state:
        if state["status"] != "open" or dt.date.fromisoformat(state["needed_by"]) >= today:
            return None
        return canonical.NeedRecorded.model_validate(
            {**state, "status": "expired", "revision": state["revision"] + 1}
        )
    if state["status"] != "active" or dt.date.fromisoformat(state["expires_on"]) >= today:
        return None
    return canonical.PledgeRecorded.model_validate(
        {**state, "status": "expired", "revision": state["revision"] + 1}
    )


def expiry_reminder(state: dict[str, Any], today: dt.date, days_before: int) -> ExpiryReminder | None:
    """The reminder to a live need's organisation or pledge's donor whose date is near, or None."""
    is_need = "need_id" in state
    live = state["status"] == ("open" if is_need else "active")
    ends = dt.date.fromisoformat(state["needed_by" if is_need else "expires_on"])
    days_left = (ends - today).days
    if not live or not 0 <= days_left <= days_before:
        return None
    owner = state["organisation" if is_need else "donor"]
    spec = state["spec"]
    return ExpiryReminder(
        entity_type="need" if is_need else "pledge",
        entity_id=state["need_id" if is_need else "pledge_id"],
        owner_kind="organisation" if is_need else "donor",
        owner_id=owner["id"],
        title=state["title"],
        crisis_id=state.get("crisis_id"),
        category=spec["category"],
        expires_on=ends,
        days_left=days_left,
    )
