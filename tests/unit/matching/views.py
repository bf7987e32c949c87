"""Needs and pledges as the matching rules see them, for the rule tests: one valid pair to vary."""

import datetime as dt
from decimal import Decimal
from typing import Any

from services.matching.domain import NeedView, PledgeView, SkillTree

TODAY = dt.date(2026, 12, 1)
SKILLS = SkillTree(
    {
        "health": None,
        "health.medicine": "health",
        "health.medicine.surgery": "health.medicine",
        "health.medicine.surgery.orthopaedic": "health.medicine.surgery",
        "translation": None,
    }
)
GAZIANTEP = (37.066, 37.383)
HATAY = (36.202, 36.160)
BERLIN = (52.52, 13.405)


def need(**kw) -> NeedView:
    values: dict[str, Any] = {
        "need_id": "n1",
        "crisis_id": "c1",
        "organisation_id": "o1",
        "category": "supplies",
        "sector": "shelter",
        "urgency": "high",
        "needed_by": TODAY + dt.timedelta(days=10),
        "seq": 1,
        "country": "TUR",
        "lat": GAZIANTEP[0],
        "lon": GAZIANTEP[1],
        "remaining": Decimal(400),
        "unit": "piece",
        "item_code": "HSHEBLANWHT1",
        "substitution_group": "HSHEBLAN/BLANKET",
    }
    values.update(kw)
    return NeedView(**values)


def pledge(**kw) -> PledgeView:
    values: dict[str, Any] = {
        "pledge_id": "p1",
        "donor_id": "d1",
        "crisis_id": "c1",
        "category": "supplies",
        "available_from": TODAY,
        "expires_on": TODAY + dt.timedelta(days=60),
        "seq": 1,
        "country": "DEU",
        "lat": BERLIN[0],
        "lon": BERLIN[1],
        "remaining": Decimal(250),
        "unit": "piece",
        "item_code": "HSHEBLANWHT1",
        "substitution_group": "HSHEBLAN/BLANKET",
    }
    values.update(kw)
    return PledgeView(**values)


def skills_need(**kw) -> NeedView:
    values: dict[str, Any] = {
        "category": "skills",
        "unit": "person",
        "remaining": Decimal(3),
        "item_code": None,
        "substitution_group": None,
        "skills": ("health.medicine.surgery",),
        "languages": ("tur", "ara"),
        "mode": "on_site",
        "period": (TODAY, TODAY + dt.timedelta(days=14)),
        "sector": "health",
    }
    values.update(kw)
    return need(**values)


def skills_pledge(**kw) -> PledgeView:
    values: dict[str, Any] = {
        "category": "skills",
        "unit": "person",
        "remaining": Decimal(1),
        "item_code": None,
        "substitution_group": None,
        "skills": ("health.medicine.surgery.orthopaedic",),
        "languages": ("tur", "deu"),
        "mode": "on_site",
        "period": (TODAY + dt.timedelta(days=3), TODAY + dt.timedelta(days=30)),
        "travel_radius_km": 3000.0,
    }
    values.update(kw)
    return pledge(**values)
