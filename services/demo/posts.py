"""The needs and pledges of a generated scenario: what is asked for and offered, where, until when.

Everything is drawn with the caller's seeded random number generator, in a fixed order, so the
same seed gives the same data. Item and skill codes are real (``data/vocabulary.toml``, checked
against ``shared.reference``); dates are relative to the day the demo runs (``today+10``).
"""

from __future__ import annotations

import random
from typing import Any

from services.demo.parties import Party
from services.demo.places import Place
from services.demo.vocabulary import load_vocabulary
from shared.reference import load_catalogue, load_skills

__all__ = ["CRISIS_ID", "event", "need", "pledge"]

CRISIS_ID = "eq-tur-syr-demo"


def event(type_: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """A scenario's event step (docs/demo.md): its type, who sends it, and its data."""
    return {"type": type_, "source": source, "data": data}


def _item_name(code: str) -> str:
    item = load_catalogue().get(code)
    if item is None:
        msg = f"{code} is not in the supplies catalogue"
        raise LookupError(msg)
    words = item.name.split(",")
    return ", ".join(w.strip() for w in words[:2]).capitalize()


def _skill_name(code: str) -> str:
    skill = load_skills().get(code)
    if skill is None:
        msg = f"{code} is not in the skills taxonomy"
        raise LookupError(msg)
    return skill.name


def _languages(place: Place) -> list[str]:
    return ["ar"] if place.country == "SYR" else ["tr"]


def _urgency(rng: random.Random) -> str:
    levels = load_vocabulary().urgency
    return rng.choices([u.level for u in levels], weights=[u.weight for u in levels])[0]


def _round(value: float) -> str:
    step = 10 if value < 1000 else 100  # noqa: PLR2004 - round to what people would type
    return str(max(step, round(value / step) * step))


def need(rng: random.Random, number: int, org: Party) -> dict[str, Any]:
    """The data of the ``number``-th need, posted by ``org``: supplies, skills or funds."""
    vocabulary = load_vocabulary()
    kind = rng.choices(("supplies", "skills", "funds"), weights=(55, 25, 20))[0]
    spec: dict[str, Any]
    if kind == "supplies":
        supply = rng.choice(vocabulary.supplies)
        sector = supply.sector
        spec = {
            "category": "supplies",
            "item_code": supply.code,
            "quantity": _round(rng.uniform(*supply.need)),
            "unit": supply.unit,
        }
        title = f"{_item_name(supply.code)} for {org.place.name}"
    elif kind == "skills":
        offer = rng.choice(vocabulary.skills)
        sector = offer.sector
        start = rng.randint(0, 5)
        spec = {
            "category": "skills",
            "skills": [offer.skill],
            "headcount": rng.randint(1, 4),
            "languages": _languages(org.place),
            "mode": offer.mode,
            "period": {"start": f"today+{start}", "end": f"today+{start + rng.randint(10, 30)}"},
        }
        title = f"{_skill_name(offer.skill)}: volunteers in {org.place.name}"
    else:
        fund = rng.choice(vocabulary.fund_purposes)
        sector = fund.sector
        currency = "TRY" if org.place.country == "TUR" else "USD"
        usd = rng.uniform(2_000, 60_000)
        spec = {
            "category": "funds",
            "amount": _round(usd * vocabulary.fx_per_usd[currency]),
            "currency": currency,
            "purpose": fund.purpose,
        }
        title = fund.purpose[0].upper() + fund.purpose[1:]
    return {
        "need_id": f"need-{org.party}-{number:03d}",
        "crisis_id": CRISIS_ID,
        "organisation": {"id": org.party, "name": org.name},
        "title": title,
        "sector": sector,
        "urgency": _urgency(rng),
        "needed_by": f"today+{rng.randint(6, 45)}",
        "place": org.place.as_data(),
        "spec": spec,
    }


def _earmarks(rng: random.Random, sector: str) -> tuple[str | None, dict[str, Any]]:
    """(crisis_id, earmarks): standing pledges have no crisis; some restrict country or sector."""
    roll = rng.random()
    if roll < 0.35:  # noqa: PLR2004 - a standing pledge, registered before any crisis
        return None, rng.choice(({}, {"countries": ["TUR", "SYR"]}, {"countries": ["SYR"]}))
    if roll < 0.55:  # noqa: PLR2004 - for this crisis, and only this sector
        return CRISIS_ID, {"sectors": [sector]}
    if roll < 0.65:  # noqa: PLR2004 - for this crisis, in one country only
        return CRISIS_ID, {"countries": [rng.choice(("TUR", "SYR"))]}
    return CRISIS_ID, {}


def pledge(rng: random.Random, number: int, donor: Party) -> dict[str, Any]:
    """The data of the ``number``-th pledge of ``donor``: skills, funds or supplies."""
    vocabulary = load_vocabulary()
    spec: dict[str, Any]
    if donor.kind == "professional" or rng.random() < 0.12:  # noqa: PLR2004 - some groups send teams
        offer = rng.choice(vocabulary.skills)
        sector = offer.sector
        skill = rng.choice((offer.skill, *offer.specialised))
        languages = ["ar", "en"] if rng.random() < 0.5 else ["tr", "en"]  # noqa: PLR2004
        start = rng.randint(0, 4)
        spec = {
            "category": "skills",
            "skills": [skill],
            "headcount": 1 if donor.kind == "professional" else rng.randint(2, 5),
            "languages": [*languages, donor.place.country[:2].lower()]
            if donor.place.country == "DEU"
            else languages,
            "mode": "either" if offer.mode == "either" else rng.choice(("on_site", "either")),
            "period": {"start": f"today+{start}", "end": f"today+{start + rng.randint(14, 40)}"},
            "travel_radius_km": rng.choice((3000, 5000, 12000)),
        }
        name = _skill_name(skill)
        title = f"{name}, volunteering" if spec["headcount"] == 1 else f"Team of {spec['headcount']}: {name}"
    elif rng.random() < 0.35:  # noqa: PLR2004
        fund = rng.choice(vocabulary.fund_purposes)
        sector = fund.sector
        currency = donor.place.currency
        usd = rng.uniform(1_000, 40_000)
        spec = {
            "category": "funds",
            "amount": _round(usd * vocabulary.fx_per_usd[currency]),
            "currency": currency,
            "purpose": fund.purpose,
        }
        title = f"Funds raised by {donor.name}"
    else:
        supply = rng.choice(vocabulary.supplies)
        sector = supply.sector
        held = rng.choice((supply.code, supply.code, *supply.substitutes))
        spec = {
            "category": "supplies",
            "item_code": held,
            "quantity": _round(rng.uniform(*supply.need) * 0.8),
            "unit": supply.unit,
        }
        title = f"{_item_name(held)} collected in {donor.place.name}"
    crisis_id, earmarks = _earmarks(rng, sector)
    expires = rng.choice(("today+2", "today+3")) if rng.random() < 0.1 else f"today+{rng.randint(30, 120)}"  # noqa: PLR2004
    return {
        "pledge_id": f"pledge-{donor.party}-{number:03d}",
        "donor": {"id": donor.party, "name": donor.name, "kind": donor.kind},
        "crisis_id": crisis_id,
        "title": title,
        "earmarks": earmarks,
        "available_from": "today",
        "expires_on": expires,
        "place": donor.place.as_data(),
        "spec": spec,
    }
