"""The plain values ingest's rules take and give: reference data, the source, the stored state, outcomes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from shared.reference import FxTable, SkillTaxonomy, SupplyCatalogue, load_catalogue, load_fx, load_skills
from shared.scope import Scope

__all__ = ["Accept", "Outcome", "Problems", "Reference", "Reject", "Role", "SourceInfo", "Stale", "Stored"]

Role = Literal["organisation", "donor", "coordinator"]


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
    """A registered source (a row of ``sources``): the role it posts as, for which party, and name.

    ``revoked_on`` set: the source was revoked then (``revoked_reason`` says why) and may do
    nothing. ``display_name`` names it where drx records who acted (a decision's ``decided_by``).
    ``scope`` is a coordinator's: the crises and countries it may act in (``shared/scope.py``).
    """

    source: str
    role: Role
    party_id: str
    display_name: str = ""
    revoked_on: dt.datetime | None = None
    revoked_reason: str | None = None
    scope: Scope = field(default_factory=Scope)


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
class Problems:
    """Every problem found in one event, so the rejection names them all at once."""

    items: list[str] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def reject(self) -> Reject | None:
        return Reject("; ".join(self.items)) if self.items else None
