"""Whether a pledge may serve a need, and why (or why not): :func:`eligibility`.

The category-independent rules (capacity, dates, crisis, earmarks, units) come first, then
those of funds, supplies (same item or substitute) and skills (taxonomy, language, period,
mode, reach). The repository's candidate queries restate the first group in SQL.
"""

from __future__ import annotations

import datetime as dt
import math

from services.matching.domain.views import Eligible, NeedView, PledgeView, SkillTree

__all__ = ["distance_km", "eligibility"]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _distance(need: NeedView, pledge: PledgeView) -> float | None:
    if None in (need.lat, need.lon, pledge.lat, pledge.lon):
        return None
    return distance_km(need.lat, need.lon, pledge.lat, pledge.lon)  # type: ignore[arg-type]


def _overlap(a: tuple[dt.date, dt.date] | None, b: tuple[dt.date, dt.date] | None) -> bool:
    return a is None or b is None or (a[0] <= b[1] and b[0] <= a[1])


def _ineligible(need: NeedView, pledge: PledgeView, today: dt.date) -> str | None:
    """The category-independent rules: capacity, dates, crisis, earmarks, units."""
    if need.category != pledge.category:
        return "different category"
    if need.remaining <= 0 or pledge.remaining <= 0:
        return "no capacity left"
    if need.needed_by < today:
        return "the need's date has passed"
    if pledge.expires_on < today:
        return "the pledge has expired"
    if pledge.available_from > need.needed_by:
        return "the pledge is available only after the need's date"
    if pledge.crisis_id is not None and pledge.crisis_id != need.crisis_id:
        return "the pledge is for another crisis"
    if pledge.earmark_crises and need.crisis_id not in pledge.earmark_crises:
        return "earmarked for other crises"
    if pledge.earmark_countries and need.country not in pledge.earmark_countries:
        return "earmarked for other countries"
    if pledge.earmark_sectors and need.sector not in pledge.earmark_sectors:
        return "earmarked for other sectors"
    if need.unit != pledge.unit:
        return f"counted in {pledge.unit}, the need in {need.unit}"
    return None


def eligibility(need: NeedView, pledge: PledgeView, today: dt.date, skills: SkillTree) -> Eligible | str:
    """An :class:`Eligible` when the pledge may serve the need, else the reason it may not."""
    if (reason := _ineligible(need, pledge, today)) is not None:
        return reason
    distance = _distance(need, pledge)
    match need.category:
        case "funds":
            return Eligible(exact=True, distance=None, reasons=("funds in USD terms",))
        case "supplies":
            return _supplies(need, pledge, distance)
        case "skills":
            return _skills(need, pledge, distance, skills)
    return "unknown category"  # pragma: no cover


def _supplies(need: NeedView, pledge: PledgeView, distance: float | None) -> Eligible | str:
    if need.item_code is not None and need.item_code == pledge.item_code:
        return Eligible(exact=True, distance=distance, reasons=(f"same item {need.item_code}",))
    if need.item_code is None and pledge.item_code is None:
        wanted, offered = (need.item_description or "").casefold(), (pledge.item_description or "").casefold()
        if wanted and wanted == offered:
            return Eligible(exact=True, distance=distance, reasons=(f"same item ({need.item_description})",))
        return "a different item"
    if need.substitution_group is not None and need.substitution_group == pledge.substitution_group:
        return Eligible(
            exact=False, distance=distance, reasons=(f"{pledge.item_code} may substitute {need.item_code}",)
        )
    return "a different item"


def _skills(need: NeedView, pledge: PledgeView, distance: float | None, tree: SkillTree) -> Eligible | str:
    served = [(p, n) for n in need.skills for p in pledge.skills if tree.is_within(p, n)]
    if not served:
        return "no offered skill serves the needed skills"
    if need.languages and not set(need.languages) & set(pledge.languages):
        return "no common language"
    if not _overlap(need.period, pledge.period):
        return "the periods do not overlap"
    if "either" not in (need.mode, pledge.mode) and need.mode != pledge.mode:
        return f"the need is {need.mode.replace('_', '-')}, the volunteer {pledge.mode.replace('_', '-')}"
    reasons = []
    offered, wanted = served[0]
    reasons.append(f"skill {offered}" + ("" if offered == wanted else f" serves {wanted}"))
    on_site = need.mode == "on_site" or (need.mode == "either" and pledge.mode == "on_site")
    if on_site:
        if distance is not None and pledge.travel_radius_km is not None:
            if distance > pledge.travel_radius_km:
                return f"{distance:.0f} km away, beyond the volunteer's {pledge.travel_radius_km:.0f} km"
            reasons.append(f"{distance:.0f} km away, within reach")
        elif pledge.country != need.country:
            return "on-site work in another country and no travel radius or coordinates to check reach"
        else:
            reasons.append("same country")
    exact = offered == wanted
    return Eligible(exact, distance, tuple(reasons))
