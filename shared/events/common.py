"""Value types shared by many events: identifiers, places, earmarks, category specifics.

Validation here is *shape* only (types, ranges, formats). Whether a code exists in the reference
data (country, currency, unit, skill, item) is checked by ingest against ``shared.reference``,
so that every unknown code gets its own precise rejection reason.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.reference.sectors import Sector

__all__ = [
    "MAX_AMOUNT",
    "MAX_HEADCOUNT",
    "MAX_QUANTITY",
    "Category",
    "CountryCode",
    "CurrencyCode",
    "DateRange",
    "DonorKind",
    "DonorRef",
    "Earmarks",
    "EntityId",
    "FundsNeed",
    "FundsPledge",
    "LanguageCode",
    "LongText",
    "NeedSpec",
    "OrgRef",
    "Place",
    "PledgeSpec",
    "Sector",
    "ShortText",
    "SkillCode",
    "SkillsNeed",
    "SkillsPledge",
    "SkillsSpec",
    "SuppliesNeed",
    "SuppliesPledge",
    "SuppliesSpec",
    "Urgency",
    "WorkMode",
]

# Upper bounds that catch typos and unit mistakes ("absurd quantities") before they reach matching.
MAX_AMOUNT = Decimal(10_000_000_000)
MAX_QUANTITY = Decimal(100_000_000)
MAX_HEADCOUNT = 10_000


def _upper(value: str) -> str:
    return value.upper()


def _lower(value: str) -> str:
    return value.lower()


EntityId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$"), AfterValidator(_upper)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$"), AfterValidator(_upper)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}$"), AfterValidator(_lower)]
SkillCode = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z_.]+$"), AfterValidator(_lower)
]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000, strip_whitespace=True)]

Category = Literal["funds", "supplies", "skills"]
Urgency = Literal["critical", "high", "medium", "low"]
WorkMode = Literal["on_site", "remote", "either"]
DonorKind = Literal["group", "professional"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(_Model):
    """Where: a country, optionally an admin area (ISO 3166-2 code or a name) and coordinates."""

    country: CountryCode = Field(description="ISO 3166-1 alpha-3, e.g. TUR.")
    admin_area: ShortText | None = Field(default=None, description="ISO 3166-2 code (TR-27) or a name.")
    name: ShortText | None = Field(default=None, description="Town, district or site, for people.")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> Place:
        if (self.lat is None) != (self.lon is None):
            msg = "give both lat and lon, or neither"
            raise ValueError(msg)
        return self


class OrgRef(_Model):
    """A relief organisation, by id, with a display name."""

    id: EntityId
    name: ShortText


class DonorRef(_Model):
    """A diaspora group or professional, by id, with a display name. Contact details never travel."""

    id: EntityId
    name: ShortText
    kind: DonorKind = "group"


class DateRange(_Model):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            msg = "end is before start"
            raise ValueError(msg)
        return self


class Earmarks(_Model):
    """Restrictions a donor puts on a pledge. Empty lists mean no restriction."""

    crises: tuple[EntityId, ...] = Field(default=(), max_length=50)
    countries: tuple[CountryCode, ...] = Field(default=(), max_length=50)
    sectors: tuple[Sector, ...] = Field(default=(), max_length=20)


Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, max_digits=16, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, le=MAX_QUANTITY, max_digits=16, decimal_places=4)]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]


class FundsNeed(_Model):
    category: Literal["funds"] = "funds"
    amount: Amount
    currency: CurrencyCode
    purpose: ShortText | None = None


class FundsPledge(FundsNeed):
    pass


class SuppliesSpec(_Model):
    """What needs and pledges of supplies have in common."""

    category: Literal["supplies"] = "supplies"
    item_code: ShortText | None = Field(default=None, description="Catalogue code (see docs/reference.md).")
    item_description: ShortText | None = Field(default=None, description="When there is no catalogue code.")
    quantity: Quantity
    unit: UnitName

    @model_validator(mode="after")
    def _item_named(self) -> SuppliesSpec:
        if self.item_code is None and self.item_description is None:
            msg = "give item_code (from the catalogue) or item_description"
            raise ValueError(msg)
        return self


class SuppliesNeed(SuppliesSpec):
    pass  # the delivery place is the need's place


class SuppliesPledge(SuppliesSpec):
    pass  # the stock place is the pledge's place


class SkillsSpec(_Model):
    """What needs and pledges of skills have in common."""

    category: Literal["skills"] = "skills"
    skills: tuple[SkillCode, ...] = Field(min_length=1, max_length=20)
    headcount: int = Field(ge=1, le=MAX_HEADCOUNT)
    languages: tuple[LanguageCode, ...] = Field(default=(), max_length=20)
    mode: WorkMode = "either"
    period: DateRange


class SkillsNeed(SkillsSpec):
    pass


class SkillsPledge(SkillsSpec):
    travel_radius_km: float | None = Field(
        default=None, ge=0, le=20_000, description="How far an on-site volunteer will travel from `place`."
    )


NeedSpec = Annotated[FundsNeed | SuppliesNeed | SkillsNeed, Field(discriminator="category")]
PledgeSpec = Annotated[FundsPledge | SuppliesPledge | SkillsPledge, Field(discriminator="category")]
