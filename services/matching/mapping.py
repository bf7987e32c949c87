"""Canonical need/pledge states (as ingest publishes them) → matching rows and views. Pure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.matching.domain import NeedView, PledgeView, SkillTree
from shared.reference import SkillTaxonomy, SupplyCatalogue

__all__ = ["match_keys", "need_row", "need_view", "pledge_row", "pledge_view", "skill_tree"]


def skill_tree(taxonomy: SkillTaxonomy) -> SkillTree:
    return SkillTree({skill.code: skill.parent for skill in taxonomy})


def _quantity_and_unit(spec: dict[str, Any]) -> tuple[Decimal, str]:
    match spec["category"]:
        case "funds":
            return Decimal(str(spec["amount_usd"])), "USD"
        case "supplies":
            return Decimal(str(spec["base_quantity"])), spec["base_unit"]
        case _:
            return Decimal(spec["headcount"]), "person"


def match_keys(spec: dict[str, Any], catalogue: SupplyCatalogue) -> list[str]:
    """What a need and a pledge must share to possibly match; also the advisory locks taken.

    Funds all compete; supplies by substitution group (else item, else description); skills by
    the root of each skill (a specialist serves a need within the same root).
    """
    match spec["category"]:
        case "funds":
            return ["funds"]
        case "supplies":
            code = spec.get("item_code")
            item = catalogue.get(code) if code else None
            if item is not None:
                return [f"supplies:{item.substitution_group or item.code}"]
            return [f"supplies:desc:{str(spec.get('item_description', '')).casefold()}"]
        case _:
            return sorted({f"skills:{code.split('.')[0]}" for code in spec["skills"]})


def _common(state: dict[str, Any], catalogue: SupplyCatalogue) -> dict[str, Any]:
    spec, place = state["spec"], state["place"]
    quantity, unit = _quantity_and_unit(spec)
    item = catalogue.get(spec["item_code"]) if spec.get("item_code") else None
    period = spec.get("period")
    return {
        "category": spec["category"],
        "revision": state["revision"],
        "country": place["country"],
        "lat": place.get("lat"),
        "lon": place.get("lon"),
        "unit": unit,
        "match_keys": match_keys(spec, catalogue),
        "item_code": spec.get("item_code"),
        "item_description": spec.get("item_description"),
        "substitution_group": item.substitution_group if item else None,
        "skills": list(spec.get("skills", [])),
        "languages": list(spec.get("languages", [])),
        "mode": spec.get("mode", "either"),
        "period_start": dt.date.fromisoformat(period["start"]) if period else None,
        "period_end": dt.date.fromisoformat(period["end"]) if period else None,
        "quantity": quantity,
        "state": state,
    }


def need_row(state: dict[str, Any], catalogue: SupplyCatalogue) -> dict[str, Any]:
    return {
        **_common(state, catalogue),
        "need_id": state["need_id"],
        "crisis_id": state["crisis_id"],
        "organisation_id": state["organisation"]["id"],
        "sector": state["sector"],
        "urgency": state["urgency"],
        "needed_by": dt.date.fromisoformat(state["needed_by"]),
        "status": state["status"],
    }


def pledge_row(state: dict[str, Any], catalogue: SupplyCatalogue) -> dict[str, Any]:
    earmarks = state.get("earmarks", {})
    return {
        **_common(state, catalogue),
        "pledge_id": state["pledge_id"],
        "donor_id": state["donor"]["id"],
        "crisis_id": state.get("crisis_id"),
        "available_from": dt.date.fromisoformat(state["available_from"]),
        "expires_on": dt.date.fromisoformat(state["expires_on"]),
        "earmark_crises": list(earmarks.get("crises", [])),
        "earmark_countries": list(earmarks.get("countries", [])),
        "earmark_sectors": list(earmarks.get("sectors", [])),
        "travel_radius_km": state["spec"].get("travel_radius_km"),
        "status": state["status"],
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
