"""The made-up organisations and donors of a generated scenario, each with a real place.

Names are drawn from ``data/vocabulary.toml`` and places from :mod:`services.demo.places`; a
party's id is its name as a slug, drawn again when two would collide.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.demo.places import AFFECTED, DIASPORA, Place
from services.demo.vocabulary import load_vocabulary

__all__ = ["Party", "draw_donors", "draw_organisations"]


@dataclass(frozen=True, slots=True)
class Party:
    """A relief organisation or donor: its source, its id, its name and where it is."""

    source: str
    party: str
    name: str
    place: Place
    kind: str = "group"


def _slug(text: str) -> str:
    table = str.maketrans("ıİşŞğĞüÜöÖçÇ", "iIsSgGuUoOcC")
    cleaned = "".join(c if c.isalnum() else "-" for c in text.translate(table).lower())
    return "-".join(part for part in cleaned.split("-") if part)


def draw_organisations(rng: random.Random, count: int) -> list[Party]:
    """``count`` relief organisations in towns of the crisis area."""
    kinds = load_vocabulary().organisation_kinds
    orgs: list[Party] = []
    seen: set[str] = set()
    while len(orgs) < count:
        place = rng.choice(AFFECTED)
        name = f"{place.name} {rng.choice(kinds)}"
        party = _slug(name)
        if party in seen:
            continue
        seen.add(party)
        orgs.append(Party(f"urn:drx:org:{party}", party, name, place))
    return orgs


def draw_donors(rng: random.Random, groups: int, professionals: int) -> list[Party]:
    """Diaspora groups (named after a home town) first, then individual professionals."""
    vocabulary = load_vocabulary()
    found: list[Party] = []
    seen: set[str] = set()
    while len(found) < groups:
        place, home = rng.choice(DIASPORA), rng.choice(AFFECTED)
        name = f"{home.name} {rng.choice(vocabulary.group_kinds)}, {place.name}"
        party = _slug(name)
        if party not in seen:
            seen.add(party)
            found.append(Party(f"urn:drx:donor:{party}", party, name, place))
    while len(found) < groups + professionals:
        place = rng.choice(DIASPORA)
        person = f"{rng.choice(vocabulary.given_names)} {rng.choice(vocabulary.family_names)}"
        party = _slug(f"{person} {place.name}")
        if party not in seen:
            seen.add(party)
            found.append(
                Party(f"urn:drx:donor:{party}", party, f"{person} ({place.name})", place, "professional")
            )
    return found
