"""A skills taxonomy for diaspora professionals: ``data/skills.csv``.

Codes are dotted lower-case paths, so a skill's parents are visible in its code:
``health.medicine.surgery.orthopaedic`` lies within ``health.medicine.surgery``, ``health.medicine``
and ``health``. Each skill names the IASC sector it mostly serves (or none). The ``sahana`` column of
the CSV records which entries of Sahana Eden's skill and occupation lists a skill stands for (checked
by the tests against the copies in ``data/sources/``). What a parent skill may serve is a matching
rule, not this module's business.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shared.reference.sectors import Sector

__all__ = ["Skill", "SkillTaxonomy", "UnknownSkillError", "load_skills"]

_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


class UnknownSkillError(LookupError):
    """No skill with this code in the taxonomy."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not in the skills taxonomy")
        self.code = code


@dataclass(frozen=True, slots=True)
class Skill:
    code: str
    name: str
    parent: str | None
    sector: Sector | None


class SkillTaxonomy:
    """Skills by code, as a tree."""

    def __init__(self, skills: Iterable[Skill]) -> None:
        self._skills: dict[str, Skill] = {}
        children: dict[str, list[str]] = {}
        for skill in skills:
            if not _CODE.fullmatch(skill.code):
                msg = f"skill code {skill.code!r} is not a dotted lower-case path"
                raise ValueError(msg)
            if skill.code in self._skills:
                msg = f"skill {skill.code!r} appears twice"
                raise ValueError(msg)
            if skill.parent != (skill.code.rpartition(".")[0] or None):
                msg = f"skill {skill.code!r} has parent {skill.parent!r}; its code says otherwise"
                raise ValueError(msg)
            self._skills[skill.code] = skill
            if skill.parent is not None:
                children.setdefault(skill.parent, []).append(skill.code)
        for skill in self._skills.values():
            if skill.parent is not None and skill.parent not in self._skills:
                msg = f"skill {skill.code!r} has unknown parent {skill.parent!r}"
                raise ValueError(msg)
        self._children = {code: tuple(codes) for code, codes in children.items()}

    def __contains__(self, code: object) -> bool:
        return code in self._skills

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills.values())

    def __len__(self) -> int:
        return len(self._skills)

    def get(self, code: str) -> Skill | None:
        return self._skills.get(code)

    def _skill(self, code: str) -> Skill:
        skill = self._skills.get(code)
        if skill is None:
            raise UnknownSkillError(code)
        return skill

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The codes above ``code``, nearest first (empty for a root)."""
        found: list[str] = []
        parent = self._skill(code).parent
        while parent is not None:
            found.append(parent)
            parent = self._skills[parent].parent
        return tuple(found)

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies below it. Both must be known codes."""
        self._skill(ancestor)
        return code == ancestor or ancestor in self.ancestors(code)

    def children(self, code: str) -> tuple[str, ...]:
        """The codes directly below ``code``, in file order."""
        self._skill(code)
        return self._children.get(code, ())

    def roots(self) -> tuple[str, ...]:
        """The top-level codes, in file order."""
        return tuple(code for code, skill in self._skills.items() if skill.parent is None)


def _skills_from_csv(text: str) -> Iterator[Skill]:
    for row in csv.DictReader(text.splitlines()):
        code = row["code"].strip()
        yield Skill(
            code=code,
            name=row["name"].strip(),
            parent=code.rpartition(".")[0] or None,
            sector=Sector(row["sector"]) if row["sector"] else None,
        )


@cache
def load_skills() -> SkillTaxonomy:
    """The packaged taxonomy, read once."""
    text = resources.files("shared.reference").joinpath("data", "skills.csv").read_text(encoding="utf-8")
    return SkillTaxonomy(_skills_from_csv(text))
