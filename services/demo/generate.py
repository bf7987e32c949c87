"""Generate a demo scenario from a seed: ``python -m services.demo.generate [--seed N] [--needs N] ...``.

The packaged default (``scenarios/earthquake-tur-syr.json``) is this generator's output with the
defaults below; a unit test keeps the two equal. Places, admin areas, catalogue item codes,
skill codes and currencies are real (``services.demo.places`` and ``shared.reference``);
organisations, donors and people are made up.
"""

# ruff: noqa: RUF001 - Turkish names use the dotless i

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from typing import Any

from services.demo.places import AFFECTED, DIASPORA, Place
from services.demo.scenario import FORMAT, WEBHOOK_KEY_ID, WEBHOOK_URL
from shared.reference import load_catalogue, load_skills

__all__ = ["CRISIS_ID", "generate_scenario", "main"]

CRISIS_ID = "eq-tur-syr-demo"
_HUB = "urn:drx:coord:gaziantep-hub"
_CROSSBORDER = "urn:drx:coord:crossborder-desk"

# (code, sector, base unit, need size range, substitutes a donor may hold instead).
# Codes are IFRC Emergency Items Catalogue or Sahana Eden items from shared/reference.
_SUPPLIES: tuple[tuple[str, str, str, tuple[int, int], tuple[str, ...]], ...] = (
    ("HSHEBLANPHT1", "shelter", "piece", (200, 1500), ("HSHEBLANWHT1", "HSHEBLANCLT1")),
    ("HSHEBLANWHT1", "shelter", "piece", (200, 1200), ("HSHEBLANPHT1",)),
    ("HSHETENTF16C", "shelter", "piece", (20, 150), ()),
    ("HSHETARPW406", "shelter", "piece", (100, 800), ()),
    ("KRELSHEK02", "shelter", "kit", (20, 200), ()),
    ("HSHESLEBWI", "shelter", "piece", (100, 600), ()),
    ("HSHEMATTNAT1", "shelter", "piece", (100, 800), ()),
    ("KRELCOOSETA", "shelter", "set", (30, 300), ("KRELCOOSETB",)),
    ("HHEASTOHWCTE", "shelter", "piece", (10, 80), ()),
    ("SE-WSHYGKIT", "wash", "kit", (100, 1000), ()),
    ("HCONJCANP20", "wash", "piece", (200, 1500), ("HCONJCANPF10",)),
    ("HCONBUCKP14L", "wash", "piece", (100, 800), ("SE-BUCKET",)),
    ("HHYGSOAP100G", "wash", "piece", (500, 5000), ()),
    ("FCERRICELGGR", "food_security", "kg", (500, 8000), ("FCERRICEPARA",)),
    ("FOILMAIZRE01", "food_security", "l", (200, 3000), ("FOILGROURE01",)),
    ("FPULLENTRS01", "food_security", "kg", (300, 4000), ("FPULLENTGS01",)),
    ("FCERWHEAFL01", "food_security", "kg", (1000, 10000), ()),
    ("KMEDKFAI01B", "health", "kit", (10, 100), ()),
    ("XSEQSTRE1X", "health", "piece", (10, 80), ("SE-STRETCHER",)),
    ("SE-WHEELCHAIR", "health", "piece", (5, 60), ("XMEQWHCHAIMO3",)),
    ("TVECFUELDIE1", "logistics", "l", (500, 6000), ("SE-DIESEL",)),
    ("EGENDIGE006T", "early_recovery", "piece", (2, 12), ()),
)

# (needed skill, sector, what a volunteer offering it may also hold (more specialised), mode).
_SKILLS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("health.medicine.surgery", "health", ("health.medicine.surgery.orthopaedic",), "on_site"),
    ("health.medicine.surgery.orthopaedic", "health", (), "on_site"),
    ("health.medicine.emergency", "health", (), "on_site"),
    ("health.medicine.anaesthesia", "health", (), "on_site"),
    ("health.nursing", "health", ("health.nursing.emergency", "health.nursing.theatre"), "on_site"),
    ("health.rehabilitation", "health", ("health.rehabilitation.physiotherapy",), "on_site"),
    ("health.rehabilitation.prosthetics", "health", (), "on_site"),
    (
        "health.mental_health",
        "health",
        ("health.mental_health.pfa", "health.mental_health.psychology"),
        "either",
    ),
    ("health.midwifery", "health", (), "on_site"),
    ("translation.interpreting.medical", "health", (), "either"),
    ("engineering.structural", "shelter", (), "on_site"),
    ("engineering.civil", "early_recovery", (), "on_site"),
    ("engineering.water", "wash", (), "on_site"),
    ("engineering.electrical.power", "early_recovery", (), "on_site"),
    ("education.in_emergencies", "education", (), "on_site"),
    ("protection.child", "protection", (), "on_site"),
    ("legal.civil_documentation", "protection", (), "remote"),
    ("logistics.driving.heavy_vehicle", "logistics", (), "on_site"),
    ("it.networking", "emergency_telecommunications", (), "either"),
    ("management.camp", "camp_management", (), "on_site"),
)

_FUND_PURPOSES = (
    ("shelter", "winterised tents and heating for displaced families"),
    ("shelter", "rent support for families whose homes were condemned"),
    ("food_security", "hot meals from the community kitchen"),
    ("food_security", "food parcels for families in informal camps"),
    ("health", "medicines and consumables for the field clinic"),
    ("wash", "water trucking and latrines for the camp"),
    ("education", "tents, heaters and supplies for temporary classrooms"),
    ("protection", "case management for unaccompanied children"),
    ("early_recovery", "cash for work on debris clearance"),
    ("logistics", "fuel and truck hire for last-mile distribution"),
)

_ORG_KINDS = (
    "Relief Committee",
    "Community Kitchen",
    "Field Clinic",
    "Shelter Network",
    "Mutual Aid Group",
    "Women's Cooperative",
    "Search and Rescue Volunteers",
    "Teachers' Association",
    "Water Committee",
    "Disability Support Centre",
)
_GROUP_KINDS = (
    "Home-Town Association",
    "Solidarity Fund",
    "Doctors' Network",
    "Engineers Abroad",
    "Community Centre",
    "Students' Union",
    "Women's Association",
    "Business Association",
)
_GIVEN = (
    "Ayşe",
    "Mehmet",
    "Leyla",
    "Omar",
    "Zeynep",
    "Yusuf",
    "Rania",
    "Emre",
    "Hiba",
    "Kerem",
    "Nour",
    "Can",
)
_FAMILY = ("Demir", "Kaya", "Haddad", "Yılmaz", "Aksoy", "Khalil", "Şahin", "Hamdan", "Arslan", "Nasser")
_URGENCY = (("critical", 2), ("high", 4), ("medium", 3), ("low", 1))
_FX_PER_USD = {"USD": 1, "EUR": 0.9, "GBP": 0.75, "CHF": 0.8, "SEK": 10, "CAD": 1.4, "TRY": 40}


@dataclass(frozen=True, slots=True)
class _Party:
    source: str
    party: str
    name: str
    place: Place
    kind: str = "group"


def _slug(text: str) -> str:
    table = str.maketrans("ıİşŞğĞüÜöÖçÇ", "iIsSgGuUoOcC")
    cleaned = "".join(c if c.isalnum() else "-" for c in text.translate(table).lower())
    return "-".join(part for part in cleaned.split("-") if part)


def _organisations(rng: random.Random, count: int) -> list[_Party]:
    orgs: list[_Party] = []
    seen: set[str] = set()
    while len(orgs) < count:
        place = rng.choice(AFFECTED)
        name = f"{place.name} {rng.choice(_ORG_KINDS)}"
        party = _slug(name)
        if party in seen:
            continue
        seen.add(party)
        orgs.append(_Party(f"urn:drx:org:{party}", party, name, place))
    return orgs


def _donors(rng: random.Random, groups: int, professionals: int) -> list[_Party]:
    donors: list[_Party] = []
    seen: set[str] = set()
    while len(donors) < groups:
        place, home = rng.choice(DIASPORA), rng.choice(AFFECTED)
        name = f"{home.name} {rng.choice(_GROUP_KINDS)}, {place.name}"
        party = _slug(name)
        if party not in seen:
            seen.add(party)
            donors.append(_Party(f"urn:drx:donor:{party}", party, name, place))
    while len(donors) < groups + professionals:
        place = rng.choice(DIASPORA)
        person = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
        party = _slug(f"{person} {place.name}")
        if party not in seen:
            seen.add(party)
            donors.append(
                _Party(f"urn:drx:donor:{party}", party, f"{person} ({place.name})", place, "professional")
            )
    return donors


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
    return rng.choices([u for u, _ in _URGENCY], weights=[w for _, w in _URGENCY])[0]


def _round(value: float) -> str:
    step = 10 if value < 1000 else 100  # noqa: PLR2004 - round to what people would type
    return str(max(step, round(value / step) * step))


def _need(rng: random.Random, number: int, org: _Party) -> dict[str, Any]:
    kind = rng.choices(("supplies", "skills", "funds"), weights=(55, 25, 20))[0]
    spec: dict[str, Any]
    if kind == "supplies":
        code, sector, unit, (low, high), _ = rng.choice(_SUPPLIES)
        spec = {
            "category": "supplies",
            "item_code": code,
            "quantity": _round(rng.uniform(low, high)),
            "unit": unit,
        }
        title = f"{_item_name(code)} for {org.place.name}"
    elif kind == "skills":
        skill, sector, _, mode = rng.choice(_SKILLS)
        start = rng.randint(0, 5)
        spec = {
            "category": "skills",
            "skills": [skill],
            "headcount": rng.randint(1, 4),
            "languages": _languages(org.place),
            "mode": mode,
            "period": {"start": f"today+{start}", "end": f"today+{start + rng.randint(10, 30)}"},
        }
        title = f"{_skill_name(skill)}: volunteers in {org.place.name}"
    else:
        sector, purpose = rng.choice(_FUND_PURPOSES)
        currency = "TRY" if org.place.country == "TUR" else "USD"
        usd = rng.uniform(2_000, 60_000)
        spec = {
            "category": "funds",
            "amount": _round(usd * _FX_PER_USD[currency]),
            "currency": currency,
            "purpose": purpose,
        }
        title = purpose[0].upper() + purpose[1:]
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


def _pledge(rng: random.Random, number: int, donor: _Party) -> dict[str, Any]:
    spec: dict[str, Any]
    if donor.kind == "professional" or rng.random() < 0.12:  # noqa: PLR2004 - some groups send teams
        need_skill, sector, specialised, mode = rng.choice(_SKILLS)
        skill = rng.choice((need_skill, *specialised))
        languages = ["ar", "en"] if rng.random() < 0.5 else ["tr", "en"]  # noqa: PLR2004
        start = rng.randint(0, 4)
        spec = {
            "category": "skills",
            "skills": [skill],
            "headcount": 1 if donor.kind == "professional" else rng.randint(2, 5),
            "languages": [*languages, donor.place.country[:2].lower()]
            if donor.place.country == "DEU"
            else languages,
            "mode": "either" if mode == "either" else rng.choice(("on_site", "either")),
            "period": {"start": f"today+{start}", "end": f"today+{start + rng.randint(14, 40)}"},
            "travel_radius_km": rng.choice((3000, 5000, 12000)),
        }
        name = _skill_name(skill)
        title = f"{name}, volunteering" if spec["headcount"] == 1 else f"Team of {spec['headcount']}: {name}"
    elif rng.random() < 0.35:  # noqa: PLR2004
        sector, purpose = rng.choice(_FUND_PURPOSES)
        currency = donor.place.currency
        usd = rng.uniform(1_000, 40_000)
        spec = {
            "category": "funds",
            "amount": _round(usd * _FX_PER_USD[currency]),
            "currency": currency,
            "purpose": purpose,
        }
        title = f"Funds raised by {donor.name}"
    else:
        code, sector, unit, (low, high), substitutes = rng.choice(_SUPPLIES)
        held = rng.choice((code, code, *substitutes))
        spec = {
            "category": "supplies",
            "item_code": held,
            "quantity": _round(rng.uniform(low, high) * 0.8),
            "unit": unit,
        }
        title = f"{_item_name(held)} collected in {donor.place.name}"
    crisis_id, earmarks = _earmarks(rng, sector)
    expires = rng.choice(("today+2", "today+3")) if rng.random() < 0.1 else f"today+{rng.randint(30, 120)}"  # noqa: PLR2004
    pledge: dict[str, Any] = {
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
    return pledge


def _event(type_: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "source": source, "data": data}


def _invalid(orgs: list[_Party], donors: list[_Party], needs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A handful of mistakes people make, each with the reason ingest must give."""
    sample, donor = needs[0], donors[0]
    org = next(o for o in orgs if o.party == sample["organisation"]["id"])

    def need(changes: dict[str, Any], suffix: str) -> dict[str, Any]:
        return {**sample, "need_id": f"{sample['need_id']}-{suffix}", **changes}

    blankets = {"category": "supplies", "item_code": "HSHEBLANKET99", "quantity": "300", "unit": "piece"}
    wrong_area = {**sample["place"], "country": "TUR", "admin_area": "SY-HL"}
    funds = {"category": "funds", "amount": "5000", "currency": "XQZ"}
    bad_pledge = {
        "pledge_id": f"pledge-{donor.party}-bad",
        "donor": {"id": donor.party, "name": donor.name, "kind": donor.kind},
        "crisis_id": CRISIS_ID,
        "title": "Funds in a currency that does not exist",
        "available_from": "today",
        "expires_on": "today+30",
        "place": donor.place.as_data(),
        "spec": funds,
    }
    skills = {**(sample["spec"] if sample["spec"]["category"] == "skills" else {}), "category": "skills"}
    skills |= {
        "skills": ["health.medicine.homeopathy"],
        "headcount": 2,
        "period": {"start": "today", "end": "today+9"},
    }
    return [
        {
            **_event("org.drx.need.posted", org.source, need({"spec": blankets}, "x1")),
            "expect_rejected": "is not in the supplies catalogue",
        },
        {
            **_event("org.drx.need.posted", org.source, need({"place": wrong_area}, "x2")),
            "expect_rejected": "is not a subdivision of TUR",
        },
        {
            **_event("org.drx.pledge.posted", donor.source, bad_pledge),
            "expect_rejected": "is not an ISO 4217 currency code",
        },
        {
            **_event("org.drx.need.posted", "urn:drx:org:not-registered", need({}, "x3")),
            "expect_rejected": "is not registered",
        },
        {
            **_event("org.drx.need.posted", org.source, need({"crisis_id": "fl-pak-2026"}, "x4")),
            "expect_rejected": "unknown crisis",
        },
        {
            **_event("org.drx.need.posted", org.source, need({"needed_by": "today-4"}, "x5")),
            "expect_rejected": "is in the past",
        },
        {
            **_event("org.drx.need.posted", org.source, need({"spec": skills}, "x6")),
            "expect_rejected": "is not in the skills taxonomy",
        },
        {
            **_event(
                "org.drx.pledge.posted", org.source, {**bad_pledge, "spec": {**funds, "currency": "EUR"}}
            ),
            "expect_rejected": "only donor sources may post pledges",
        },
        {
            "raw": "need: 40 tents for Nurdağı, please call Ahmet",
            "topic": "intake.needs",
            "key": "phone-note",
            "expect_rejected": "is not JSON",
        },
    ]


def generate_scenario(
    *, seed: int = 2023, organisations: int = 30, needs: int = 240, donors: int = 45, pledges: int = 150
) -> dict[str, Any]:
    """A whole scenario document (the JSON format of docs/demo.md), the same for the same arguments."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, not security
    orgs = _organisations(rng, organisations)
    groups = max(1, donors * 3 // 5)
    people = _donors(rng, groups, donors - groups)
    coordinators = [
        {
            "source": _HUB,
            "role": "coordinator",
            "party": "gaziantep-hub",
            "name": "Gaziantep coordination hub",
        },
        {
            "source": _CROSSBORDER,
            "role": "coordinator",
            "party": "crossborder-desk",
            "name": "Cross-border desk",
        },
    ]
    sources = [
        *coordinators,
        *({"source": o.source, "role": "organisation", "party": o.party, "name": o.name} for o in orgs),
        *({"source": d.source, "role": "donor", "party": d.party, "name": d.name} for d in people),
    ]
    areas = sorted({p.admin_area for p in AFFECTED if p.admin_area})
    crisis = {
        "crisis_id": CRISIS_ID,
        "name": "Earthquakes in southern Türkiye and north-west Syria (demo)",
        "kind": "earthquake",
        "countries": ["TUR", "SYR"],
        "areas": [a for a in areas if a != "TR-21"],
        "severity": 5,
        "start_date": "today-2",
    }
    subscriptions = [
        {
            "subscription_id": "sub-hub-all",
            "recipient_id": "gaziantep-hub",
            "recipient_kind": "coordinator",
            "channel": "kafka",
            "crisis_id": CRISIS_ID,
        },
        {
            "subscription_id": "sub-health-cluster",
            "recipient_id": "health-cluster-lead",
            "recipient_kind": "coordinator",
            "channel": "webhook",
            "address": WEBHOOK_URL,
            "key_id": WEBHOOK_KEY_ID,
            "sector": "health",
        },
        {
            "subscription_id": "sub-shelter-tur",
            "recipient_id": "shelter-cluster-tur",
            "recipient_kind": "coordinator",
            "channel": "webhook",
            "address": WEBHOOK_URL,
            "key_id": WEBHOOK_KEY_ID,
            "sector": "shelter",
            "country": "TUR",
        },
        {
            "subscription_id": "sub-crossborder-syr",
            "recipient_id": "crossborder-desk",
            "recipient_kind": "coordinator",
            "channel": "kafka",
            "country": "SYR",
        },
        *(
            {
                "subscription_id": f"sub-{o.party}",
                "recipient_id": o.party,
                "recipient_kind": "organisation",
                "channel": "kafka",
            }
            for o in orgs[:4]
        ),
        *(
            {
                "subscription_id": f"sub-{d.party}",
                "recipient_id": d.party,
                "recipient_kind": "donor",
                "channel": "kafka",
            }
            for d in people[:4]
        ),
    ]
    need_list = [_need(rng, n, rng.choice(orgs)) for n in range(needs)]
    late = max(1, pledges // 6)
    pledge_list = [_pledge(rng, n, rng.choice(people)) for n in range(pledges)]
    first, later = pledge_list[:-late], pledge_list[-late:]
    by_source = {d.party: d.source for d in people}
    org_source = {o.party: o.source for o in orgs}
    grown = [n for n in need_list if n["spec"]["category"] == "supplies"][:2]
    updates = [
        _event(
            "org.drx.need.updated",
            org_source[n["organisation"]["id"]],
            {**n, "spec": {**n["spec"], "quantity": str(int(n["spec"]["quantity"]) * 2)}, "revision": 2},
        )
        for n in grown
    ]
    withdrawn_need = need_list[len(need_list) // 3]
    withdrawn_pledges = first[5:7]
    withdrawals = [
        _event(
            "org.drx.need.withdrawn",
            org_source[withdrawn_need["organisation"]["id"]],
            {"need_id": withdrawn_need["need_id"], "reason": "Delivered by the municipality", "revision": 2},
        ),
        *(
            _event(
                "org.drx.pledge.withdrawn",
                by_source[p["donor"]["id"]],
                {"pledge_id": p["pledge_id"], "reason": "Stock went to a local drive instead", "revision": 2},
            )
            for p in withdrawn_pledges
        ),
    ]
    crisis_update = _event("org.drx.crisis.updated", _HUB, {**crisis, "areas": areas, "revision": 2})
    hub, desk = "Leyla Demir, Gaziantep coordination hub", "Omar Haddad, cross-border desk"
    return {
        "format": FORMAT,
        "name": "Earthquakes in southern Türkiye and north-west Syria",
        "description": (
            f"{organisations} relief organisations post {needs} needs for funds, supplies and skills in "
            f"{len(AFFECTED)} real towns; {donors} diaspora groups and professionals in "
            f"{len(DIASPORA)} cities pledge {pledges} times (standing, earmarked, some expiring in days); "
            "coordinators confirm, reject, "
            "report deliveries and cancel; needs grow, one is withdrawn, two pledges are withdrawn; and some "
            f"input is invalid. Generated by `python -m services.demo.generate --seed {seed}`; "
            "organisations, donors and people are made up, places and codes are real."
        ),
        "sources": sources,
        "phases": [
            {
                "name": "crisis declared, coordinators subscribe",
                "events": [
                    _event("org.drx.crisis.declared", _HUB, crisis),
                    *(_event("org.drx.subscription.set", _HUB, s) for s in subscriptions),
                ],
            },
            {
                "name": "organisations post needs, diaspora pledges",
                "events": [
                    *(
                        _event("org.drx.need.posted", org_source[n["organisation"]["id"]], n)
                        for n in need_list
                    ),
                    *(_event("org.drx.pledge.posted", by_source[p["donor"]["id"]], p) for p in first),
                    *_invalid(orgs, people, need_list),
                ],
            },
            {
                "name": "coordinators review proposals",
                "decisions": [
                    {"decision": "confirm", "source": _HUB, "by": hub, "share": 0.5, "seed": seed},
                    {
                        "decision": "reject",
                        "source": _CROSSBORDER,
                        "by": desk,
                        "share": 0.12,
                        "seed": seed + 1,
                        "reason": "Cannot cross the border this week; keep the capacity for another need",
                    },
                ],
            },
            {
                "name": "the crisis widens, needs grow, late pledges arrive, some are withdrawn",
                "events": [
                    crisis_update,
                    *updates,
                    *withdrawals,
                    *(_event("org.drx.pledge.posted", by_source[p["donor"]["id"]], p) for p in later),
                ],
            },
            {
                "name": "deliveries reported, second review",
                "decisions": [
                    {"decision": "fulfilled", "source": _HUB, "by": hub, "share": 0.4, "seed": seed + 2},
                    {
                        "decision": "cancel",
                        "source": _CROSSBORDER,
                        "by": desk,
                        "count": 1,
                        "seed": seed + 3,
                        "reason": "Truck turned back at the Cilvegözü crossing",
                    },
                    {"decision": "confirm", "source": _HUB, "by": hub, "share": 0.5, "seed": seed + 4},
                ],
            },
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--organisations", type=int, default=30)
    parser.add_argument("--needs", type=int, default=240)
    parser.add_argument("--donors", type=int, default=45)
    parser.add_argument("--pledges", type=int, default=150)
    args = parser.parse_args(argv)
    document = generate_scenario(
        seed=args.seed,
        organisations=args.organisations,
        needs=args.needs,
        donors=args.donors,
        pledges=args.pledges,
    )
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
