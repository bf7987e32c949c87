"""Plain values for ingest's rules: the registry, stored entities and a call of ``decide``.

No Kafka and no PostgreSQL: an event is its data model validated from the builders' documents,
the source registry is a dict of :class:`SourceInfo`, and a stored entity is what an earlier
accepted event recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from services.ingest import domain
from services.ingest.domain import Accept, Outcome, Reference, Reject, SourceInfo, Stale, Stored
from shared.events.registry import EVENT_TYPES
from shared.scope import Scope
from tests.support import builders as b

REF = Reference.load()
TODAY = b.today()
COORD, ORG, OTHER_ORG, DONOR = (source[0] for source in b.SOURCES)
OTHER_DONOR = "urn:drx:donor:other-hta"
NEPAL_COORD = b.NEPAL_COORDINATOR[0]
REGISTRY: dict[str, SourceInfo] = {
    urn: SourceInfo(
        source=urn,
        role=role,  # type: ignore[arg-type]
        party_id=party,
        display_name=name,
        scope=b.SCOPES.get(urn, Scope()),
    )
    for urn, role, party, name in (
        *b.SOURCES,
        b.NEPAL_COORDINATOR,
        (OTHER_DONOR, "donor", "other-hta", "Another association"),
    )
}
UNREGISTERED = "urn:drx:org:nobody"


def event(event_type: str, document: dict[str, Any]) -> tuple[str, BaseModel]:
    """The event's data as ingest's parser hands it to the rules (the registered model)."""
    return event_type, EVENT_TYPES[event_type].model.model_validate(document)


def decide(
    event_type: str,
    document: dict[str, Any],
    source: str,
    *,
    stored: Stored | None = None,
    crisis: Stored | None = None,
    earmarked: dict[str, Stored | None] | None = None,
    today: dt.date = TODAY,
    registry: dict[str, SourceInfo] = REGISTRY,
) -> Outcome:
    """``decide`` for one event posted by ``source``, looked up in ``registry``."""
    kind, data = event(event_type, document)
    return domain.decide(
        kind,
        data,
        source,
        source=registry.get(source),
        stored=stored,
        crisis=crisis,
        earmarked_crises=earmarked or {},
        today=today,
        ref=REF,
    )


def accepted(outcome: Outcome) -> Any:
    """The acceptance; typed loosely because its records are whichever contract model the event makes."""
    assert isinstance(outcome, Accept), outcome
    return outcome


def rejected(outcome: Outcome) -> str:
    """The rejection's reason (and a clear failure when the event was not rejected)."""
    assert isinstance(outcome, Reject), outcome
    return outcome.reason


def stale(outcome: Outcome) -> str:
    assert isinstance(outcome, Stale), outcome
    return outcome.reason


def stored(outcome: Outcome, **changes: Any) -> Stored:
    """What ingest stores for the one record an accepted event recorded, with ``changes``."""
    state = accepted(outcome).records[0].model_dump(mode="json", exclude_none=True) | changes
    return Stored(source=state["source"], revision=state["revision"], status=state["status"], state=state)


def active_crisis(crisis_id: str = "eq-tur-2026") -> Stored:
    return stored(decide("org.drx.crisis.declared", b.crisis(crisis_id), COORD))


def closed_crisis(crisis_id: str = "eq-tur-2026") -> Stored:
    return stored(decide("org.drx.crisis.declared", b.crisis(crisis_id), COORD), status="closed")
