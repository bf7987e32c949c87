"""Reference data shipped with drx: sectors, ISO codes, supplies catalogue, skills, FX rates.

Everything is read from files inside the package (``data/``), once, and cached; nothing is fetched
at run time. Where each file comes from, and under which licence, is in ``data/README.md``.
"""

from shared.reference.catalogue import (
    UNIT_ALIASES,
    SupplyCatalogue,
    SupplyItem,
    UnknownItemError,
    UnknownUnitError,
    load_catalogue,
    normalise_unit,
)
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
from shared.reference.skills import Skill, SkillTaxonomy, UnknownSkillError, load_skills

__all__ = [
    "SECTOR_NAMES",
    "UNIT_ALIASES",
    "FxTable",
    "Sector",
    "Skill",
    "SkillTaxonomy",
    "SupplyCatalogue",
    "SupplyItem",
    "UnknownCurrencyError",
    "UnknownItemError",
    "UnknownSkillError",
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
    "normalise_unit",
    "subdivision_name",
]
