"""Reference checks and normalisation: places, specs and crises against the ISO codes, the supplies
catalogue, the skills taxonomy and the exchange-rate table.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel

from services.ingest.domain.values import Problems, Reference, Stored
from shared.events.common import FundsNeed, Place, SkillsSpec, SuppliesSpec
from shared.reference import (
    UnknownUnitError,
    is_country,
    is_currency,
    is_language,
    is_subdivision,
    normalise_language,
)

__all__ = ["ISO_SUBDIVISION", "check_crisis_ref", "check_place", "check_spec", "normal_place", "normal_spec"]

ISO_SUBDIVISION = re.compile(r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")


# --- reference checks -------------------------------------------------------------------------


def check_place(place: Place, where: str, problems: Problems) -> None:
    if not is_country(place.country):
        problems.add(f"{where}.country", f"{place.country!r} is not an ISO 3166-1 alpha-3 country code")
        return
    area = place.admin_area
    if area and ISO_SUBDIVISION.match(area) and not is_subdivision(area.upper(), place.country):
        problems.add(f"{where}.admin_area", f"{area!r} is not a subdivision of {place.country}")


def check_crisis_ref(crisis_id: str, crisis: Stored | None, where: str, problems: Problems) -> None:
    if crisis is None:
        problems.add(where, f"unknown crisis {crisis_id!r}")
    elif crisis.status != "active":
        problems.add(where, f"crisis {crisis_id!r} is closed")


def _check_funds(spec: FundsNeed, ref: Reference, problems: Problems) -> None:
    if not is_currency(spec.currency):
        problems.add("data.spec.currency", f"{spec.currency!r} is not an ISO 4217 currency code")
    elif spec.currency not in ref.fx.currencies():
        problems.add("data.spec.currency", f"no exchange rate for {spec.currency} in the rate table")


def _check_supplies(spec: SuppliesSpec, ref: Reference, problems: Problems) -> None:
    if spec.item_code is None:
        return  # a described item is compared as stated
    if ref.catalogue.get(spec.item_code) is None:
        problems.add("data.spec.item_code", f"{spec.item_code!r} is not in the supplies catalogue")
        return
    try:
        ref.catalogue.to_base(spec.item_code, spec.quantity, spec.unit)
    except UnknownUnitError as error:
        problems.add("data.spec.unit", str(error))


def _check_skills(spec: SkillsSpec, today: dt.date, ref: Reference, problems: Problems) -> None:
    for index, code in enumerate(spec.skills):
        if code not in ref.skills:
            problems.add(f"data.spec.skills[{index}]", f"{code!r} is not in the skills taxonomy")
    for index, language in enumerate(spec.languages):
        if not is_language(language):
            problems.add(f"data.spec.languages[{index}]", f"{language!r} is not an ISO 639 language code")
    if spec.period.end < today:
        problems.add("data.spec.period.end", f"{spec.period.end} is in the past")


def check_spec(spec: BaseModel, today: dt.date, ref: Reference, problems: Problems) -> None:
    if isinstance(spec, FundsNeed):
        _check_funds(spec, ref, problems)
    elif isinstance(spec, SuppliesSpec):
        _check_supplies(spec, ref, problems)
    elif isinstance(spec, SkillsSpec):
        _check_skills(spec, today, ref, problems)


# --- normalisation -----------------------------------------------------------------------------


def normal_place(place: Place) -> Place:
    area = place.admin_area
    if area and ISO_SUBDIVISION.match(area):
        return place.model_copy(update={"admin_area": area.upper()})
    return place


def normal_spec(spec: BaseModel, today: dt.date, ref: Reference) -> dict[str, Any]:
    values = spec.model_dump()
    if isinstance(spec, FundsNeed):
        values["amount_usd"] = ref.fx.convert(spec.amount, spec.currency, "USD", today)
        # the day of the rate used, which an operator's loaded file may put before today
        values["fx_date"] = ref.fx.rate_day(spec.currency, today)
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
