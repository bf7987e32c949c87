"""Reading the copied item files (IFRC, Sahana Eden) into catalogue items, one per source row.

Only the file formats live here: which columns, which encoding, which rows are not supplies, how
an item's code is made. What an item's sector and base unit are is decided by
:mod:`shared.reference.item_rules`; which items may stand in for each other, and the checks on the
whole catalogue, by :mod:`shared.reference.build`, whose docstring gives all the rules in words.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from shared.reference.item_rules import (
    BuildError,
    ifrc_base_unit,
    ifrc_sector,
    number,
    sahana_sector,
    sahana_units,
)

__all__ = ["DATA", "SOURCES", "SourceItem", "ifrc_items", "sahana_items"]

DATA = Path(__file__).parent / "data"
SOURCES = DATA / "sources" / "sahana-eden"

_EIC = SOURCES / "IFRC" / "supply_item_eic.csv"
_FAMILIES = SOURCES / "IFRC" / "supply_item_category_ifrc_standard.csv"
_STANDARD = SOURCES / "default" / "StandardItems.csv"
_DEFAULT = SOURCES / "default" / "DefaultItems.csv"

_NOT_SUPPLIES = frozenset({"Services", "Facilities", "Cash", "Other"})


@dataclass
class SourceItem:
    """One item as a source row describes it, before it is placed in a substitution group."""

    code: str
    name: str
    category: str
    sector: str | None
    base_unit: str
    units: dict[str, Decimal] = field(default_factory=dict)

    def as_json(self, group: str | None) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "sector": self.sector,
            "base_unit": self.base_unit,
            "units": {
                unit: number(factor) for unit, factor in {self.base_unit: Decimal(1), **self.units}.items()
            },
            "substitution_group": group,
        }


def _clean(text: str) -> str:
    return " ".join(text.split())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")


def _decimal_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except ArithmeticError:
        return None


# --- IFRC Emergency Items Catalogue -----------------------------------------------------------


def _ifrc_families() -> dict[str, str]:
    with _FAMILIES.open(encoding="utf-8", newline="") as source:
        # "FAMILY_DESCRITPION" is spelled so in the source.
        rows = [
            (row["GROUP_CODE"] + row["FAM"], row["GROUP_DESCRIPTION"], row["FAMILY_DESCRITPION"])
            for row in csv.DictReader(source)
        ]
        return {family: f"{_clean(group)} / {_clean(name)}" for family, group, name in rows}


def ifrc_items() -> list[SourceItem]:
    """Every row of the IFRC catalogue (cp1252), with its IFRC code and group/family as category."""
    families = _ifrc_families()
    items = []
    with _EIC.open(encoding="cp1252", newline="") as source:
        for row in csv.DictReader(source):
            code, name = row["item code"].strip(), _clean(row["item description"])
            if not code or not name:
                continue
            if code[:4] not in families:
                msg = f"IFRC item {code} is in family {code[:4]}, which the family list does not name"
                raise BuildError(msg)
            items.append(
                SourceItem(
                    code=code,
                    name=name,
                    category=families[code[:4]],
                    sector=ifrc_sector(code, name),
                    base_unit=ifrc_base_unit(code, name, _decimal_or_none(row["weight kg"])),
                )
            )
    return items


# --- Sahana Eden's standard and default items -------------------------------------------------


def _packs(row: dict[str, str], columns: tuple[tuple[str, str], ...]) -> list[tuple[str, Decimal]]:
    found = []
    for name_column, quantity_column in columns:
        name, quantity = (
            (row.get(name_column) or "").strip().lower(),
            (row.get(quantity_column) or "").strip(),
        )
        if name and quantity:
            found.append((name, Decimal(quantity)))
    return found


def _sahana_item(
    code: str, name: str, category: str, uom: str, packs: list[tuple[str, Decimal]]
) -> SourceItem:
    base, units = sahana_units(name, uom, packs)
    return SourceItem(
        code=code,
        name=name,
        category=category,
        sector=sahana_sector(category, name),
        base_unit=base,
        units=units,
    )


def sahana_items() -> list[SourceItem]:
    """StandardItems then DefaultItems, supplies only, in file order (a name may appear twice)."""
    items = []
    with _STANDARD.open(encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source):
            if row["Category"] in _NOT_SUPPLIES:
                continue
            name = _clean(row["Item Name"])
            packs = _packs(
                row, (("Pack", "Pack Quantity"), ("Pack2", "Pack2 Quantity"), ("Pack3", "Pack3 Quantity"))
            )
            items.append(
                _sahana_item(
                    f"SE-{_slug(name)}", name, row["Category"], row["Unit of Measure"].strip(), packs
                )
            )
    with _DEFAULT.open(encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source):
            # DefaultItems has a "Pack" column and its size under "Pack2 Quantity" (no "Pack Quantity").
            packs = _packs(row, (("Pack", "Pack2 Quantity"),))
            code, name = f"SE-{_slug(row['Item Code'])}", _clean(row["Item Name"])
            items.append(_sahana_item(code, name, row["Category"], row["Unit of Measure"].strip(), packs))
    return items
