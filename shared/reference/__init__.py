"""Reference data shipped with drx: sectors, ISO codes, supplies catalogue, skills, FX rates.

Where each data file comes from, and under which licence, is in ``data/README.md``.
"""

from shared.reference.catalogue import SupplyCatalogue, SupplyItem, UnknownUnitError, load_catalogue
from shared.reference.fx import FxTable, UnknownCurrencyError, load_fx
from shared.reference.places import (
    country_name,
    is_country,
    is_currency,
    is_language,
    is_subdivision,
    normalise_language,
    subdivision_name,
)
from shared.reference.sectors import SECTOR_NAMES, Sector
from shared.reference.skills import Skill, SkillTaxonomy, load_skills

__all__ = [
    "SECTOR_NAMES",
    "FxTable",
    "Sector",
    "Skill",
    "SkillTaxonomy",
    "SupplyCatalogue",
    "SupplyItem",
    "UnknownCurrencyError",
    "UnknownUnitError",
    "country_name",
    "is_country",
    "is_currency",
    "is_language",
    "is_subdivision",
    "load_catalogue",
    "load_fx",
    "load_skills",
    "normalise_language",
    "subdivision_name",
]
