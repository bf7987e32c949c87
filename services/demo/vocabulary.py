"""What the scenario generator draws from: supplies, skills, purposes, made-up names, urgencies.

The tables are data, ``data/vocabulary.toml`` (with a comment on each), read and checked once
into the typed models below. Their order is part of the generator's output: it picks from them
with a seeded random number generator, so the same seed gives the same scenario only while the
file keeps its order.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FundPurpose", "SkillOffer", "Supply", "Urgency", "Vocabulary", "load_vocabulary"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Supply(_Model):
    """A supply a need may ask for, and the substitutes a donor may hold instead."""

    code: str = Field(description="An item code of shared/reference's catalogue.")
    sector: str
    unit: str = Field(description="The item's base unit.")
    need: tuple[int, int] = Field(description="The range a need's quantity is drawn from.")
    substitutes: tuple[str, ...] = ()


class SkillOffer(_Model):
    """A skill a need may ask for, and the more specialised ones a volunteer may hold instead."""

    skill: str = Field(description="A code of shared/reference's skills taxonomy.")
    sector: str
    specialised: tuple[str, ...] = ()
    mode: Literal["on_site", "remote", "either"]


class FundPurpose(_Model):
    sector: str
    purpose: str


class Urgency(_Model):
    level: Literal["critical", "high", "medium", "low"]
    weight: int = Field(gt=0, description="How often it is drawn, relative to the others.")


class Vocabulary(_Model):
    supplies: tuple[Supply, ...] = Field(min_length=1)
    skills: tuple[SkillOffer, ...] = Field(min_length=1)
    fund_purposes: tuple[FundPurpose, ...] = Field(min_length=1)
    organisation_kinds: tuple[str, ...] = Field(min_length=1)
    group_kinds: tuple[str, ...] = Field(min_length=1)
    given_names: tuple[str, ...] = Field(min_length=1)
    family_names: tuple[str, ...] = Field(min_length=1)
    urgency: tuple[Urgency, ...] = Field(min_length=1)
    fx_per_usd: dict[str, float] = Field(description="Rough rates, to make an amount look local.")


@cache
def load_vocabulary() -> Vocabulary:
    """The packaged vocabulary, read once."""
    text = resources.files("services.demo").joinpath("data", "vocabulary.toml").read_text(encoding="utf-8")
    return Vocabulary.model_validate(tomllib.loads(text))
