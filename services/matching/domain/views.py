"""The values matching's rules work on: a need, a pledge, the skills tree, a verdict, a proposal.

Plain frozen dataclasses, built from matching's rows by ``services/matching/mapping.py``; the
rules that read them are in ``eligibility.py``, ``allocation.py`` and ``lifecycle.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = ["URGENCY_RANK", "Category", "Eligible", "Mode", "NeedView", "PledgeView", "Proposal", "SkillTree"]

URGENCY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
Category = Literal["funds", "supplies", "skills"]
Mode = Literal["on_site", "remote", "either"]


class SkillTree:
    """What matching needs to know of the skills taxonomy: is one code within another."""

    def __init__(self, parents: dict[str, str | None]) -> None:
        self._parents = parents

    def is_within(self, code: str, ancestor: str) -> bool:
        current: str | None = code
        while current is not None:
            if current == ancestor:
                return True
            current = self._parents.get(current)
        return False


@dataclass(frozen=True, slots=True)
class NeedView:
    """A need as matching sees it; ``remaining`` is what is not yet proposed, confirmed or fulfilled."""

    need_id: str
    crisis_id: str
    organisation_id: str
    category: Category
    sector: str
    urgency: str
    needed_by: dt.date
    seq: int  # arrival order, for "older first"
    country: str
    lat: float | None
    lon: float | None
    remaining: Decimal
    unit: str  # USD, a base unit, or "person"
    item_code: str | None = None
    item_description: str | None = None
    substitution_group: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    mode: Mode = "either"
    period: tuple[dt.date, dt.date] | None = None


@dataclass(frozen=True, slots=True)
class PledgeView:
    pledge_id: str
    donor_id: str
    crisis_id: str | None  # None: a standing pledge
    category: Category
    available_from: dt.date
    expires_on: dt.date
    seq: int
    country: str
    lat: float | None
    lon: float | None
    remaining: Decimal
    unit: str
    earmark_crises: frozenset[str] = frozenset()
    earmark_countries: frozenset[str] = frozenset()
    earmark_sectors: frozenset[str] = frozenset()
    item_code: str | None = None
    item_description: str | None = None
    substitution_group: str | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    mode: Mode = "either"
    period: tuple[dt.date, dt.date] | None = None
    travel_radius_km: float | None = None


@dataclass(frozen=True, slots=True)
class Eligible:
    """A pledge may serve a need. ``exact`` and ``distance`` rank it; ``reasons`` explain it."""

    exact: bool
    distance: float | None
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Proposal:
    need_id: str
    pledge_id: str
    quantity: Decimal
    unit: str
    explanation: str
