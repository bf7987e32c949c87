"""Canonical needs and pledges (the validated contract models) → matching's rows and views. Pure.

A need takes four forms in matching: the ``NeedRecorded`` its event's data is validated into,
once, on arrival (``unit.read``); the ``m_needs`` columns :func:`need_row` gives the upsert;
the stored row, with its ledger; and the :class:`~services.matching.domain.NeedView` the
rules see (:func:`need_view`). A pledge the same.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.matching.domain import NeedView, PledgeView, SkillTree
from shared.events.canonical import (
    CanonicalFunds,
    CanonicalFundsPledge,
    CanonicalSkills,
    CanonicalSkillsPledge,
    CanonicalSupplies,
    CanonicalSuppliesPledge,
    NeedRecorded,
    PledgeRecorded,
)
from shared.events.common import SkillsPledge, SkillsSpec, SuppliesSpec
from shared.reference import SkillTaxonomy, SupplyCatalogue

__all__ = [
    "match_keys",
    "need_row",
    "need_view",
    "pledge_row",
    "pledge_view",
    "quantity_and_unit",
    "skill_tree",
]

NeedSpec = CanonicalFunds | CanonicalSupplies | CanonicalSkills
PledgeSpec = CanonicalFundsPledge | CanonicalSuppliesPledge | CanonicalSkillsPledge
Recorded = NeedRecorded | PledgeRecorded


def skill_tree(taxonomy: SkillTaxonomy) -> SkillTree:
    return SkillTree({skill.code: skill.parent for skill in taxonomy})


def quantity_and_unit(spec: NeedSpec | PledgeSpec) -> tuple[Decimal, str]:
    """What a need or pledge counts, normalised: USD for funds, the base unit, or persons."""
    match spec:
        case CanonicalFunds() | CanonicalFundsPledge():
            return spec.amount_usd, "USD"
        case CanonicalSupplies() | CanonicalSuppliesPledge():
            return spec.base_quantity, spec.base_unit
        case _:
            return Decimal(spec.headcount), "person"


def match_keys(spec: NeedSpec | PledgeSpec, catalogue: SupplyCatalogue) -> list[str]:
    """What a need and a pledge must share to possibly match; also the advisory locks taken.

    Funds all compete; supplies by substitution group (else item, else description); skills by
    the root of each skill (a specialist serves a need within the same root).
    """
    match spec:
        case CanonicalFunds() | CanonicalFundsPledge():
            return ["funds"]
        case CanonicalSupplies() | CanonicalSuppliesPledge():
            item = catalogue.get(spec.item_code) if spec.item_code else None
            if item is not None:
                return [f"supplies:{item.substitution_group or item.code}"]
            return [f"supplies:desc:{(spec.item_description or '').casefold()}"]
        case _:
            return sorted({f"skills:{code.split('.')[0]}" for code in spec.skills})


def _common(recorded: Recorded, catalogue: SupplyCatalogue, quantity: Decimal | None) -> dict[str, Any]:
    spec, place = recorded.spec, recorded.place
    counted, unit = quantity_and_unit(spec)
    supplies = spec if isinstance(spec, SuppliesSpec) else None
    skills = spec if isinstance(spec, SkillsSpec) else None
    item = catalogue.get(supplies.item_code) if supplies and supplies.item_code else None
    return {
        "category": spec.category,
        "revision": recorded.revision,
        "country": place.country,
        "lat": place.lat,
        "lon": place.lon,
        "unit": unit,
        "match_keys": match_keys(spec, catalogue),
        "item_code": supplies.item_code if supplies else None,
        "item_description": supplies.item_description if supplies else None,
        "substitution_group": item.substitution_group if item else None,
        "skills": list(skills.skills) if skills else [],
        "languages": list(skills.languages) if skills else [],
        "mode": skills.mode if skills else "either",
        "period_start": skills.period.start if skills else None,
        "period_end": skills.period.end if skills else None,
        "quantity": counted if quantity is None else quantity,
        "state": recorded.model_dump(mode="json", exclude_none=True),  # as ingest published it
    }


def need_row(
    need: NeedRecorded, catalogue: SupplyCatalogue, *, quantity: Decimal | None = None
) -> dict[str, Any]:
    """The ``m_needs`` columns of ``need``, for the upsert; ``quantity``: store this one instead."""
    return {
        **_common(need, catalogue, quantity),
        "need_id": need.need_id,
        "crisis_id": need.crisis_id,
        "organisation_id": need.organisation.id,
        "sector": need.sector,
        "urgency": need.urgency,
        "needed_by": need.needed_by,
        "status": need.status,
    }


def pledge_row(
    pledge: PledgeRecorded, catalogue: SupplyCatalogue, *, quantity: Decimal | None = None
) -> dict[str, Any]:
    """The ``m_pledges`` columns of ``pledge``, for the upsert; ``quantity``: store this one instead."""
    spec = pledge.spec
    return {
        **_common(pledge, catalogue, quantity),
        "pledge_id": pledge.pledge_id,
        "donor_id": pledge.donor.id,
        "crisis_id": pledge.crisis_id,
        "available_from": pledge.available_from,
        "expires_on": pledge.expires_on,
        "earmark_crises": list(pledge.earmarks.crises),
        "earmark_countries": list(pledge.earmarks.countries),
        "earmark_sectors": list(pledge.earmarks.sectors),
        "travel_radius_km": spec.travel_radius_km if isinstance(spec, SkillsPledge) else None,
        "status": pledge.status,
    }


def _period(row: Any) -> tuple[dt.date, dt.date] | None:
    return (row.period_start, row.period_end) if row.period_start and row.period_end else None


def need_view(row: Any) -> NeedView:
    """From an ``m_needs`` row; ``remaining`` is quantity minus proposed, confirmed, fulfilled."""
    return NeedView(
        need_id=row.need_id,
        crisis_id=row.crisis_id,
        organisation_id=row.organisation_id,
        category=row.category,
        sector=row.sector,
        urgency=row.urgency,
        needed_by=row.needed_by,
        seq=row.seq,
        country=row.country,
        lat=row.lat,
        lon=row.lon,
        remaining=row.quantity - row.proposed - row.confirmed - row.fulfilled,
        unit=row.unit,
        item_code=row.item_code,
        item_description=row.item_description,
        substitution_group=row.substitution_group,
        skills=tuple(row.skills),
        languages=tuple(row.languages),
        mode=row.mode,
        period=_period(row),
    )


def pledge_view(row: Any) -> PledgeView:
    return PledgeView(
        pledge_id=row.pledge_id,
        donor_id=row.donor_id,
        crisis_id=row.crisis_id,
        category=row.category,
        available_from=row.available_from,
        expires_on=row.expires_on,
        seq=row.seq,
        country=row.country,
        lat=row.lat,
        lon=row.lon,
        remaining=row.quantity - row.allocated,
        unit=row.unit,
        earmark_crises=frozenset(row.earmark_crises),
        earmark_countries=frozenset(row.earmark_countries),
        earmark_sectors=frozenset(row.earmark_sectors),
        item_code=row.item_code,
        item_description=row.item_description,
        substitution_group=row.substitution_group,
        skills=tuple(row.skills),
        languages=tuple(row.languages),
        mode=row.mode,
        period=_period(row),
        travel_radius_km=row.travel_radius_km,
    )
