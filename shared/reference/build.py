"""Build ``data/catalogue.json`` from the copied source catalogues: ``python -m shared.reference.build``.

Reads only ``data/sources/`` (see ``data/README.md`` for where each file came from). A unit test
checks that the committed ``catalogue.json`` is what this script produces, so they cannot drift.

Rules, in plain words:
- IFRC Emergency Items Catalogue items keep their IFRC code; they are counted in pieces, and kit
  or set items also accept "kit"/"set" as a unit.
- Sahana Eden standard items get a code ``SE-<NAME>``; their unit of measure becomes a base unit
  (US units are converted to metric: gal→l, lbs→kg, cy→m3, lf→m, sf/sy→m2, dz→12 pieces) and
  pack sizes become extra units ("sack" = 50 kg). Services, facilities and cash are not supplies.
- Substitution groups (IFRC only): two items may substitute each other when they share the IFRC
  family code (first 8 characters) *and* the head of their description: the part before the
  first comma, plus the second part for TENT and KIT, whose second part is the type. So every
  blanket substitutes every other blanket, a family tent only another family tent, and a blanket
  never a tent. A group with a single item is no group.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["build", "main"]

DATA = Path(__file__).parent / "data"
SOURCES = DATA / "sources"
OUTPUT = DATA / "catalogue.json"

_TYPED_HEADS = {"TENT", "KIT"}
_SECTOR_BY_GROUP = {
    "D": "health",
    "M": "health",
    "X": "health",
    "H": "shelter",
    "W": "wash",
    "T": "logistics",
}
_SECTOR_BY_FAMILY = {"KMED": "health", "KWAT": "wash", "HWAT": "wash", "AFOD": "food_security"}
_SAHANA_UNITS: dict[str, tuple[str, Decimal]] = {
    "ea": ("piece", Decimal(1)),
    "dz": ("piece", Decimal(12)),
    "gal": ("l", Decimal("3.785411784")),
    "lbs": ("kg", Decimal("0.45359237")),
    "cy": ("m3", Decimal("0.764554858")),
    "lf": ("m", Decimal("0.3048")),
    "sf": ("m2", Decimal("0.09290304")),
    "sy": ("m2", Decimal("0.83612736")),
    "roll": ("roll", Decimal(1)),
    "bx": ("box", Decimal(1)),
    "kg": ("kg", Decimal(1)),
    "kit": ("kit", Decimal(1)),
}
_NOT_SUPPLIES = {"Services", "Facilities", "Cash", "Other"}
_SAHANA_SECTORS = {
    "Medical supplies": "health",
    "Food & Water": "food_security",
    "Food": "food_security",
    "Agriculture": "food_security",
    "Building Materials": "shelter",
    "Appliances, Clothing, and Furniture": "shelter",
    "Fuel": "logistics",
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")


def _ifrc_head(description: str) -> str:
    parts = [p.strip().upper() for p in description.split(",")]
    head = parts[0]
    if head.split(" ")[0] in _TYPED_HEADS and len(parts) > 1:
        head = f"{head} {parts[1]}"
    return head


def _ifrc_items() -> list[dict[str, Any]]:
    items = []
    with (SOURCES / "ifrc" / "supply_item_eic.csv").open(encoding="utf-8") as source:
        for row in csv.DictReader(source):
            code, name = row["item code"].strip(), " ".join(row["item description"].split())
            if not code or not name:
                continue
            units = {"piece": "1"}
            head = _ifrc_head(name)
            if head.startswith(("KIT", "SET")) or " KIT" in head or " SET" in head:
                units |= {"kit": "1", "set": "1"}
            sector = _SECTOR_BY_FAMILY.get(code[:4]) or _SECTOR_BY_GROUP.get(code[0])
            if "FOOD" in head:
                sector = "food_security"
            items.append(
                {
                    "code": code,
                    "name": name,
                    "category": f"IFRC {code[:4]}",
                    "sector": sector,
                    "base_unit": "piece",
                    "units": units,
                    "group_key": f"{code[:8]}/{head}",
                }
            )
    return items


def _sahana_items() -> list[dict[str, Any]]:
    items = []
    with (SOURCES / "sahana-eden" / "StandardItems.csv").open(encoding="utf-8") as source:
        for row in csv.DictReader(source):
            if row["Category"] in _NOT_SUPPLIES or row["Unit of Measure"] not in _SAHANA_UNITS:
                continue
            base, factor = _SAHANA_UNITS[row["Unit of Measure"]]
            units = {base: "1"}
            if factor != 1:
                units[row["Unit of Measure"]] = str(factor)
            items.append(
                {
                    "code": f"SE-{_slug(row['Item Name'])}",
                    "name": row["Item Name"].strip(),
                    "category": row["Category"],
                    "sector": _SAHANA_SECTORS.get(row["Category"]),
                    "base_unit": base,
                    "units": units,
                    "group_key": None,
                }
            )
    with (SOURCES / "sahana-eden" / "DefaultItems.csv").open(encoding="utf-8") as source:
        for row in csv.DictReader(source):
            unit = row["Unit of Measure"]
            match = re.fullmatch(r"([a-z]+)(\d+)kg", unit)
            if match:  # e.g. "sack20kg": counted in kg, the sack is a pack
                base, units = "kg", {"kg": "1", match.group(1): match.group(2)}
            elif unit in _SAHANA_UNITS:
                base, units = _SAHANA_UNITS[unit][0], {_SAHANA_UNITS[unit][0]: "1"}
            else:
                base, units = unit, {unit: "1"}
            if row["Pack"] and row["Pack2 Quantity"]:
                units[row["Pack"]] = row["Pack2 Quantity"]
            items.append(
                {
                    "code": f"SE-{_slug(row['Item Code'])}",
                    "name": row["Item Name"].strip(),
                    "category": row["Category"],
                    "sector": _SAHANA_SECTORS.get(row["Category"]),
                    "base_unit": base,
                    "units": units,
                    "group_key": None,
                }
            )
    return items


def build() -> str:
    """The catalogue JSON text."""
    items = _ifrc_items() + _sahana_items()
    sizes = Counter(item["group_key"] for item in items if item["group_key"])
    seen: set[str] = set()
    catalogue = []
    for item in sorted(items, key=lambda i: i["code"]):
        if item["code"] in seen:  # the same name twice in a source: keep the first
            continue
        seen.add(item["code"])
        key = item.pop("group_key")
        item["substitution_group"] = key if key and sizes[key] > 1 else None
        catalogue.append(item)
    return json.dumps({"items": catalogue}, indent=0, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    OUTPUT.write_text(build(), encoding="utf-8")


if __name__ == "__main__":
    main()
