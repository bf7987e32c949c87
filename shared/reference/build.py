"""Build the derived reference files from the copied sources: ``python -m shared.reference.build``.

Reads only ``data/sources/`` (provenance in ``data/README.md``) and writes ``data/catalogue.json``.
A unit test checks that the committed file is exactly what :func:`build` returns, so the two cannot
drift: after changing a source or a rule here, run the command and commit the result.

The rules, in plain words:

Items
    * IFRC Emergency Items Catalogue (``IFRC/supply_item_eic.csv``, cp1252): every row becomes an item
      with its IFRC code; its category is the IFRC group and family
      (``IFRC/supply_item_category_ifrc_standard.csv``), e.g. "Housing / Shelter".
    * Sahana Eden's ``default/StandardItems.csv`` (no codes: the code is ``SE-`` and the upper-case
      slug of the name) and ``default/DefaultItems.csv`` (``SE-`` and the slug of its item code, so
      ``FdRice50`` is ``SE-FDRICE50``). Services, facilities, cash and "Other" rows are not supplies
      and are left out; when a name appears twice the first row wins.

Base unit and accepted units (the IFRC file has no unit column; Sahana's does)
    * IFRC: "per liter" → ``l``, "per m"/"per meter" → ``m``, "per kg" → ``kg``; edible oils
      (family FOIL) weighing 0.9 kg are litres; food (group F) weighing exactly 1 kg whose
      description states no pack size is counted in ``kg``; a description whose first two parts
      name a KIT or a SET is counted in ``kit`` or ``set``; everything else in ``piece``.
    * Sahana: ``ea`` → piece, ``dz`` → piece with ``dozen`` = 12, ``lbs`` → kg, ``gal`` (US) → l with
      ``gal`` = 3.785411784, ``cy`` → m3, ``lf`` → m, ``sf``/``sy``/``sq`` (roofing square, 100 sq ft)
      → m2, ``bx`` → box, ``roll``/``kit``/``kg`` as they are; ``sack20kg`` → kg with ``sack`` = 20.
      Each pack column (Pack/Pack2/Pack3 with its quantity) adds two units: the pack's name and
      "<pack> of <quantity>[ <unit>]", e.g. ``sack`` and ``sack of 50 kg`` = 50 kg.
    * Generic mass/volume/length units (g, t, lb, ml, m3, cm …) are not listed per item: the
      catalogue applies them to every item whose base unit is of that dimension.

Sector: from the IFRC group/family, or the Sahana category, with a few named exceptions (tables
below); ``None`` where no IASC cluster clearly owns the item.

Substitution groups: an item belongs to the group of the first rule in ``GROUP_RULES`` whose pattern
matches the start of its upper-cased name (or the group listed for its code in ``GROUP_CODES``).
Rules exist only for kinds of relief item where one unit of any variant serves the same need (any
blanket for a blanket, any family tent for a family tent, any rice for rice); medicines, instruments,
spare parts and equipment of different ratings never share a group. All members of a group must
share a base unit, so quantities compare; the build fails otherwise.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

__all__ = ["CATALOGUE", "GROUP_CODES", "GROUP_RULES", "SOURCES", "BuildError", "build", "main"]

DATA = Path(__file__).parent / "data"
SOURCES = DATA / "sources" / "sahana-eden"
CATALOGUE = DATA / "catalogue.json"

_EIC = SOURCES / "IFRC" / "supply_item_eic.csv"
_FAMILIES = SOURCES / "IFRC" / "supply_item_category_ifrc_standard.csv"
_STANDARD = SOURCES / "default" / "StandardItems.csv"
_DEFAULT = SOURCES / "default" / "DefaultItems.csv"


class BuildError(ValueError):
    """The sources or the rules here produce an inconsistent catalogue."""


# --- substitution groups ----------------------------------------------------------------------

GROUP_RULES: tuple[tuple[str, str], ...] = (
    # shelter and household items
    ("blanket", r"BLANKETS?\b"),
    ("tent.family", r"TENT, FAMILY\b"),
    ("tarpaulin", r"(TARPAULINS?\b|TARPS$)"),
    ("mosquito_net", r"MOSQUITO NET\b"),
    ("sleeping_mat", r"(SLEEPING MAT\b|MAT, PLASTIC\b)"),
    ("shelter_kit", r"SHELTER KIT\b"),
    ("kitchen_set.family", r"KITCHEN SET FAMI"),  # "familly" in the source
    ("bucket", r"(BUCKET, (METAL|PLASTIC)\b|BUCKETS?$)"),
    ("jerrycan", r"(JERRYCAN, |JERRYCANS?$)"),
    ("hygiene_kit", r"(HYGIENE KIT\b|KIT, HYGIENE\b)"),
    ("soap.body", r"SOAP, BODY SOAP\b"),
    ("soap.laundry", r"SOAP, LAUNDRY SOAP\b"),
    ("towel", r"(BATH TOWEL\b|TOWELS?$)"),
    ("clothing.children", r"(CLOTHING, SECOND HAND, CHILD\b|CHILDRENS CLOTHING$)"),
    ("clothing.men", r"(CLOTHING, SECOND HAND,? MEN\b|MENS CLOTHING$)"),
    ("clothing.women", r"(CLOTHING, SECOND HAND,? WOMEN\b|WOMENS CLOTHING$)"),
    ("torch", r"(LAMP, TORCH\b|TORCH LAMP\b|FLASHLIGHT$)"),
    # food (bulk commodities are counted in kg, oil in litres)
    ("rice", r"RICE\b(?!.*\bSEEDS?\b)"),
    ("maize.grain", r"MAIZE, (WHITE|YELLOW), GRAIN$"),
    ("maize.grits", r"MAIZE, (WHITE|YELLOW), GRITS$"),
    ("maize.meal", r"MAIZE, (WHITE|YELLOW), MEAL$"),
    ("beans", r"BEANS\b"),
    ("lentils", r"LENTILS\b"),
    ("peas", r"PEAS\b"),
    ("cooking_oil", r"OIL, (GROUDNUTS|MAIZE|OLIVE|PALM|RAPESEED|SOYABEAN|SUNFLOWER)\b"),
    ("emergency_biscuits", r"BISCUITS ICSM TYPE\b"),
    # fuel
    ("diesel", r"(DIESEL FUEL\b|DIESEL$)"),
    ("petrol", r"(PETROL FUEL\b|GASOLINE$)"),
    # health and dignity
    ("first_aider_kit", r"KIT, FIRST AIDER'S\b"),
    ("stretcher", r"(STRETCHER, |STRETCHER$)"),
    ("wheelchair", r"(WORLDMADE WHEELCHAIR\b|WHEELCHAIR$)"),
    ("body_bag", r"BODY BAGS?\b(?!.*INFECTIOUS)"),
)
"""(group, pattern matched at the start of the upper-cased name), first match wins."""

GROUP_CODES: dict[str, str] = {
    # Sahana's default "Tent" (ShTent): "This should house a family of up to 8 people".
    "SE-SHTENT": "tent.family",
}
"""Items placed in a group by code, where the name alone is too vague (StandardItems' "Tent" is not)."""

_GROUP_PATTERNS = tuple((group, re.compile(pattern)) for group, pattern in GROUP_RULES)


def _group(code: str, name: str) -> str | None:
    if code in GROUP_CODES:
        return GROUP_CODES[code]
    upper = name.upper()
    return next((group for group, pattern in _GROUP_PATTERNS if pattern.match(upper)), None)


# --- sectors ----------------------------------------------------------------------------------

_IFRC_GROUP_SECTOR: dict[str, str | None] = {
    "C": "emergency_telecommunications",
    "D": "health",
    "F": "food_security",
    "H": "shelter",
    "M": "health",
    "O": "health",
    "R": "food_security",
    "T": "logistics",
    "W": "wash",
    "X": "health",
}
_IFRC_FAMILY_SECTOR: dict[str, str | None] = {
    "AFOD": "food_security",
    "APAC": "logistics",
    "EBUI": "shelter",
    "FNUT": "nutrition",
    "HCON": "wash",
    "HHYG": "wash",
    "KCOM": "emergency_telecommunications",
    "KMED": "health",
    "KMSI": "health",
    "KORT": "health",
    "KREL": "shelter",
    "KSAN": "wash",
    "KTVE": "logistics",
    "KWAT": "wash",
    "UCOM": "emergency_telecommunications",
    "ULOG": "logistics",
    "UMED": "health",
    "UREL": "shelter",
    "UWAT": "wash",
}
_SAHANA_CATEGORY_SECTOR: dict[str, str | None] = {
    "Appliances, Clothing, and Furniture": "shelter",
    "Building Materials": "shelter",
    "Food & Water": "food_security",
    "Fuel": "logistics",
    "Medical supplies": "health",
    "Agriculture": "food_security",
    "Food": "food_security",
    "Health": "health",
    "Shelter": "shelter",
    "WASH": "wash",
}
# Sahana rows whose category says little (Equipment & Tools, General supplies) or is wrong
# (StandardItems files tarps, towels and office supplies under "Medical supplies").
_SAHANA_NAME_SECTOR: dict[str, str | None] = {
    "AMBULANCE & EQUIPMENT": "health",
    "ANTICEPTIC": "health",
    "BANDAGES": "health",
    "BODY BAGS": "wash",
    "BUCKET": "wash",
    "CANE": "health",
    "CHLORINATION EQUIPMENT": "wash",
    "CHLORINATION/DECHLORINATION": "wash",
    "CRUTCHES": "health",
    "DEFIBRILATOR": "health",
    "DIAPERS": "wash",
    "FACE MASKS": "health",
    "HEARING AID": "health",
    "INFANT FORMULA": "nutrition",
    "INSECT REPELLANT": "health",
    "LABORATORY/SAMPLING EQUIPMENT": "health",
    "NON-POTABLE WATER": "wash",
    "OFFICE SUPPLIES": None,
    "PHONE": "emergency_telecommunications",
    "PLASTIC SHEETING": "shelter",
    "POTABLE WATER": "wash",
    "RADIO": "emergency_telecommunications",
    "SATELLITE": "emergency_telecommunications",
    "STRETCHER": "health",
    "TAPE": None,
    "TARPS": "shelter",
    "TENT": "shelter",
    "TOILETRIES": "wash",
    "TOWELS": "wash",
    "TRASH BAGS": "wash",
    "VENTILATOR": "health",
    "WALKERS": "health",
    "WATER PURIFICATION SYSTEM": "wash",
    "WELL EQUIPMENT": "wash",
    "WHEELCHAIR": "health",
}
_NAME_SECTOR = ((re.compile(r"FOOD (PARCEL|RATION)\b"), "food_security"),)


def _ifrc_sector(code: str, name: str) -> str | None:
    for pattern, sector in _NAME_SECTOR:
        if pattern.match(name.upper()):
            return sector
    if code[:4] in _IFRC_FAMILY_SECTOR:
        return _IFRC_FAMILY_SECTOR[code[:4]]
    return _IFRC_GROUP_SECTOR.get(code[0])


def _sahana_sector(category: str, name: str) -> str | None:
    upper = name.upper()
    if upper in _SAHANA_NAME_SECTOR:
        return _SAHANA_NAME_SECTOR[upper]
    return _SAHANA_CATEGORY_SECTOR.get(category)


# --- units ------------------------------------------------------------------------------------

_PER = ((re.compile(r"\bPER (LITER|LITRE)\b"), "l"), (re.compile(r"\bPER (M|METER|METRE)\b"), "m"))
_PER_KG = re.compile(r"\bPER KG\b")
_PACK_SIZE = re.compile(r"\d\s*(G|GR|KG|ML|L)\b")
_WORDS = re.compile(r"[A-Z]+")

# Sahana unit of measure -> (base unit, one of it in base units, whether to accept it by name).
# Generic names (ea, lbs) need not be listed per item; the catalogue knows them.
_SAHANA_UOM: dict[str, tuple[str, Decimal, str | None]] = {
    "ea": ("piece", Decimal(1), None),
    "piece": ("piece", Decimal(1), None),
    "dz": ("piece", Decimal(12), "dozen"),
    "kg": ("kg", Decimal(1), None),
    "lbs": ("kg", Decimal("0.45359237"), None),
    "gal": ("l", Decimal("3.785411784"), "gal"),  # US gallon; not generic (US or imperial?)
    "cy": ("m3", Decimal("0.764554857984"), "cy"),  # cubic yard
    "lf": ("m", Decimal("0.3048"), "lf"),  # linear foot
    "sf": ("m2", Decimal("0.09290304"), "sf"),  # square foot
    "sy": ("m2", Decimal("0.83612736"), "sy"),  # square yard
    "sq": ("m2", Decimal("9.290304"), "sq"),  # roofing square: 100 square feet
    "bx": ("box", Decimal(1), "bx"),
    "roll": ("roll", Decimal(1), None),
    "kit": ("kit", Decimal(1), None),
}
_NOT_SUPPLIES = frozenset({"Services", "Facilities", "Cash", "Other"})
_SACK_OF = re.compile(r"([a-z]+?)(\d+)kg")


def _ifrc_base_unit(code: str, name: str, weight_kg: Decimal | None) -> str:
    upper = name.upper()
    for pattern, unit in _PER:
        if pattern.search(upper):
            return unit
    if _PER_KG.search(upper):
        return "kg"
    if code.startswith("FOIL") and weight_kg == Decimal("0.9"):
        return "l"
    if code.startswith("F") and weight_kg == 1 and not _PACK_SIZE.search(upper):
        return "kg"
    parts = [part.strip() for part in upper.split(",")]
    if parts[0].startswith("(") and len(parts) > 1:  # "(kit 001), SET, DRUGS": a component's parent
        parts = parts[1:]
    words = set(_WORDS.findall(" ".join(parts[:2])))
    if words & {"KIT", "KITS"}:
        return "kit"
    if words & {"SET", "SETS"}:
        return "set"
    return "piece"


def _decimal_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text.strip())
    except ArithmeticError:
        return None


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- items ------------------------------------------------------------------------------------


@dataclass
class _Item:
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
                unit: _number(factor) for unit, factor in {self.base_unit: Decimal(1), **self.units}.items()
            },
            "substitution_group": group,
        }


def _clean(text: str) -> str:
    return " ".join(text.split())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")


def _ifrc_families() -> dict[str, str]:
    with _FAMILIES.open(encoding="utf-8", newline="") as source:
        # "FAMILY_DESCRITPION" is spelled so in the source.
        rows = [
            (row["GROUP_CODE"] + row["FAM"], row["GROUP_DESCRIPTION"], row["FAMILY_DESCRITPION"])
            for row in csv.DictReader(source)
        ]
        return {family: f"{_clean(group)} / {_clean(name)}" for family, group, name in rows}


def _ifrc_items() -> list[_Item]:
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
                _Item(
                    code=code,
                    name=name,
                    category=families[code[:4]],
                    sector=_ifrc_sector(code, name),
                    base_unit=_ifrc_base_unit(code, name, _decimal_or_none(row["weight kg"])),
                )
            )
    return items


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


def _sahana_item(code: str, name: str, category: str, uom: str, packs: list[tuple[str, Decimal]]) -> _Item:
    if match := _SACK_OF.fullmatch(uom):  # "sack20kg": counted in kg, packed in 20 kg sacks
        packs = [(match.group(1), Decimal(match.group(2))), *packs]
        uom = "kg"
    if uom not in _SAHANA_UOM:
        msg = f"Sahana item {name!r} has a unit of measure the build does not know: {uom!r}"
        raise BuildError(msg)
    base, per_uom, accepted_as = _SAHANA_UOM[uom]
    units = {accepted_as: per_uom} if accepted_as else {}
    shown = "" if base == "piece" and per_uom == 1 else f" {accepted_as or uom}"
    for pack, quantity in packs:  # "sack", 50 -> sack = 50 kg, "sack of 50 kg" = 50 kg
        units[pack] = quantity * per_uom
        units[f"{pack} of {_number(quantity)}{shown}"] = quantity * per_uom
    return _Item(
        code=code,
        name=name,
        category=category,
        sector=_sahana_sector(category, name),
        base_unit=base,
        units=units,
    )


def _sahana_items() -> list[_Item]:
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


def _catalogue() -> list[dict[str, object]]:
    ifrc = _ifrc_items()
    seen = {item.code for item in ifrc}
    if len(seen) != len(ifrc):
        msg = "the IFRC catalogue repeats an item code"
        raise BuildError(msg)
    items = list(ifrc)
    for item in _sahana_items():
        if item.code not in seen:  # StandardItems lists Tarps, Towels, Ventilator, Wheelchair twice
            seen.add(item.code)
            items.append(item)
    items.sort(key=lambda item: item.code)
    groups = {item.code: _group(item.code, item.name) for item in items}
    units_of: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if group := groups[item.code]:
            units_of[group].add(item.base_unit)
    mixed = {group: sorted(units) for group, units in units_of.items() if len(units) > 1}
    if mixed:
        msg = f"substitution groups whose items have different base units: {mixed}"
        raise BuildError(msg)
    unused = {group for group, _ in GROUP_RULES} - units_of.keys()
    if unused:
        msg = f"substitution rules that match no item: {sorted(unused)}"
        raise BuildError(msg)
    return [item.as_json(groups[item.code]) for item in items]


def build() -> dict[Path, str]:
    """Each derived file and the text it should have."""
    lines = [json.dumps(item, ensure_ascii=False, sort_keys=True) for item in _catalogue()]
    catalogue = '{"items": [\n' + ",\n".join(lines) + "\n]}\n"
    return {CATALOGUE: catalogue}


def main() -> None:
    for path, text in build().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DATA.parent.parent.parent)} ({len(text.encode()):,} bytes)")  # noqa: T201


if __name__ == "__main__":
    main()
