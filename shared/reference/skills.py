"""A skills taxonomy for diaspora professionals (``data/skills.csv``).

Codes are dotted paths, so a skill's parents are visible in its code: ``health.medicine.surgery``
is within ``health.medicine`` and ``health``. Matching decides what a parent may serve (see
docs/matching.md); this module only knows the tree.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shared.reference.sectors import Sector

__all__ = ["Skill", "SkillTaxonomy", "load_skills"]


@dataclass(frozen=True, slots=True)
class Skill:
    code: str
    name: str
    parent: str | None
    sector: Sector | None


class SkillTaxonomy:
    def __init__(self, skills: list[Skill]) -> None:
        self._skills = {skill.code: skill for skill in skills}
        for skill in skills:
            if skill.parent is not None and skill.parent not in self._skills:
                msg = f"skill {skill.code!r} has unknown parent {skill.parent!r}"
                raise ValueError(msg)

    def __contains__(self, code: object) -> bool:
        return code in self._skills

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills.values())

    def __len__(self) -> int:
        return len(self._skills)

    def get(self, code: str) -> Skill | None:
        return self._skills.get(code)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Parents of ``code``, nearest first."""
        found: list[str] = []
        parent = self._skills[code].parent
        while parent is not None:
            found.append(parent)
            parent = self._skills[parent].parent
        return tuple(found)

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies below it."""
        return code == ancestor or ancestor in self.ancestors(code)

    def children(self, code: str) -> tuple[str, ...]:
        return tuple(s.code for s in self._skills.values() if s.parent == code)


@cache
def load_skills() -> SkillTaxonomy:
    text = resources.files("shared.reference").joinpath("data", "skills.csv").read_text()
    return SkillTaxonomy(
        [
            Skill(
                code=row["code"],
                name=row["name"],
                parent=row["code"].rpartition(".")[0] or None,
                sector=Sector(row["sector"]) if row["sector"] else None,
            )
            for row in csv.DictReader(text.splitlines())
        ]
    )
