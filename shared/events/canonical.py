"""What ingest accepted: validated, normalised entity states, published for matching.

Each event carries the entity's whole current state and its ``revision``; a consumer keeps the
highest revision it has seen. Codes are normalised (countries and currencies upper case,
languages as ISO 639-3, units by their catalogue name) and quantities are also given in the
base unit (supplies) or in USD (funds) so that matching compares like with like.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.common import (
    CountryCode,
    EntityId,
    FundsNeed,
    FundsPledge,
    ShortText,
    SkillsNeed,
    SkillsPledge,
    SuppliesNeed,
    SuppliesPledge,
)
from shared.events.inbound import CrisisDeclared, MatchDecided, NeedPosted, PledgePosted

__all__ = [
    "CanonicalFunds",
    "CanonicalFundsPledge",
    "CanonicalSkills",
    "CanonicalSkillsPledge",
    "CanonicalSupplies",
    "CanonicalSuppliesPledge",
    "CrisisRecorded",
    "DeciderScope",
    "DecisionRecorded",
    "NeedRecorded",
    "PledgeRecorded",
]


class CanonicalFunds(FundsNeed):
    amount_usd: Decimal = Field(description="`amount` converted with the rate table of `fx_date`.")
    fx_date: dt.date


class CanonicalFundsPledge(FundsPledge):
    amount_usd: Decimal
    fx_date: dt.date


class CanonicalSupplies(SuppliesNeed):
    base_quantity: Decimal = Field(description="`quantity` in the item's base unit.")
    base_unit: str


class CanonicalSuppliesPledge(SuppliesPledge):
    base_quantity: Decimal
    base_unit: str


class CanonicalSkills(SkillsNeed):
    pass


class CanonicalSkillsPledge(SkillsPledge):
    pass


class CrisisRecorded(CrisisDeclared):
    """A crisis as ingest holds it now."""

    status: Literal["active", "closed"]
    source: str
    closed_reason: str | None = None


class NeedRecorded(NeedPosted):
    """A need as ingest holds it now.

    ``closed``: its crisis was closed; ``expired``: its needed-by date passed.
    """

    spec: Annotated[CanonicalFunds | CanonicalSupplies | CanonicalSkills, Field(discriminator="category")]
    status: Literal["open", "withdrawn", "closed", "expired"]
    source: str
    withdrawn_reason: str | None = None


class PledgeRecorded(PledgePosted):
    """A pledge as ingest holds it now. ``expired``: its expiry date passed."""

    spec: Annotated[
        CanonicalFundsPledge | CanonicalSuppliesPledge | CanonicalSkillsPledge,
        Field(discriminator="category"),
    ]
    status: Literal["active", "withdrawn", "expired"]
    source: str
    withdrawn_reason: str | None = None


class DeciderScope(BaseModel):
    """The deciding coordinator's scope, from the registry when ingest accepted the decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crises: tuple[EntityId, ...] = Field(default=(), description="Crisis ids it may act in.")
    countries: tuple[CountryCode, ...] = Field(default=(), description="ISO 3166-1 alpha-3 codes.")
    all: bool = Field(default=False, description="Every crisis and country (a global desk).")


class DecisionRecorded(MatchDecided):
    """A coordinator's decision, from an authorised source; matching checks the match exists.

    ``scope`` travels with it because only matching knows the match's need: matching applies the
    decision only if the need's crisis or country is in it (docs/matching.md).
    """

    decided_by: ShortText = Field(
        description="The deciding source's registered name (`drx sources add --name`), not the sender's text."
    )
    source: str
    scope: DeciderScope = Field(
        description="The deciding coordinator's scope (`drx sources scope`); empty means none."
    )
