"""The rules that classify one source item: its IASC sector and its base unit.

Pure tables and functions, applied by :mod:`shared.reference.source_items` as it reads each
source row. The rules in plain words are at the top of :mod:`shared.reference.build`; change them
here, then run ``python -m shared.reference.build`` and commit the catalogue it writes.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["BuildError", "ifrc_base_unit", "ifrc_sector", "number", "sahana_sector", "sahana_units"]


class BuildError(ValueError):
    """The sources or the rules here produce an inconsistent catalogue."""


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


def ifrc_sector(code: str, name: str) -> str | None:
    for pattern, sector in _NAME_SECTOR:
        if pattern.match(name.upper()):
            return sector
    if code[:4] in _IFRC_FAMILY_SECTOR:
        return _IFRC_FAMILY_SECTOR[code[:4]]
    return _IFRC_GROUP_SECTOR.get(code[0])


def sahana_sector(category: str, name: str) -> str | None:
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
_SACK_OF = re.compile(r"([a-z]+?)(\d+)kg")


def ifrc_base_unit(code: str, name: str, weight_kg: Decimal | None) -> str:
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


def sahana_units(name: str, uom: str, packs: list[tuple[str, Decimal]]) -> tuple[str, dict[str, Decimal]]:
    """A Sahana item's base unit and the other units it is accepted in, each with its size in the base unit.

    ``uom`` is its "Unit of Measure"; ``packs`` its pack columns, e.g. ``[("sack", 50)]``.
    """
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
        units[f"{pack} of {number(quantity)}{shown}"] = quantity * per_uom
    return base, units


def number(value: Decimal) -> str:
    """A decimal as the catalogue writes it: plain digits, no exponent, no trailing zeros."""
    return format(value.normalize(), "f")
