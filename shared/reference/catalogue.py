"""The supplies catalogue: ``data/catalogue.json``, built by :mod:`shared.reference.build`.

Every item has a base unit (``piece``, ``kg``, ``l``, ``m``, ``m2``, ``m3``, ``kit``, ``set``, ``box``,
``roll``) and the units it may be counted in: its own (the base unit, pack sizes such as ``sack`` or
``sack of 50 kg``, US units of Sahana's items) plus the generic units of its base unit's dimension:

* count (base ``piece`` only): ``piece``, ``dozen`` (12);
* mass: ``g``, ``kg``, ``t`` (tonne), ``lb``;
* volume: ``ml``, ``l``, ``m3``;
* length: ``mm``, ``cm``, ``m``, ``km``;
* area: ``m2``.

Unit names are case-insensitive and :data:`UNIT_ALIASES` maps common spellings to them ("pcs",
"each", "unit" → piece; "litre", "liter" → l; "tonne", "mt" → t; ...). "ton" and "gallon" are not
generic units: short, long and metric tons, and US and imperial gallons, differ.

Items in the same substitution group may stand in for each other; the rules are in build.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType

from shared.reference.sectors import Sector

__all__ = [
    "UNIT_ALIASES",
    "SupplyCatalogue",
    "SupplyItem",
    "UnknownItemError",
    "UnknownUnitError",
    "load_catalogue",
    "normalise_unit",
]

_COUNT: Mapping[str, Decimal] = {"piece": Decimal(1), "dozen": Decimal(12)}
_MASS: Mapping[str, Decimal] = {
    "g": Decimal("0.001"),
    "kg": Decimal(1),
    "t": Decimal(1000),
    "lb": Decimal("0.45359237"),
}
_VOLUME: Mapping[str, Decimal] = {"ml": Decimal("0.001"), "l": Decimal(1), "m3": Decimal(1000)}
_LENGTH: Mapping[str, Decimal] = {
    "mm": Decimal("0.001"),
    "cm": Decimal("0.01"),
    "m": Decimal(1),
    "km": Decimal(1000),
}
_AREA: Mapping[str, Decimal] = {"m2": Decimal(1)}
# Each generic unit's size in its dimension's reference unit (piece, kg, l, m, m2).
_DIMENSIONS: tuple[Mapping[str, Decimal], ...] = (_COUNT, _MASS, _VOLUME, _LENGTH, _AREA)

UNIT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            ["pieces", "pcs", "pc", "pce", "each", "ea", "unit", "units", "item", "items"], "piece"
        ),
        **dict.fromkeys(["dozens", "dz", "doz"], "dozen"),
        **dict.fromkeys(["gram", "grams", "gramme", "grammes", "gr"], "g"),
        **dict.fromkeys(["kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme"], "kg"),
        **dict.fromkeys(["tonne", "tonnes", "mt", "metric ton", "metric tons", "metric tonne"], "t"),
        **dict.fromkeys(["lbs", "pound", "pounds"], "lb"),
        **dict.fromkeys(["millilitre", "millilitres", "milliliter", "milliliters"], "ml"),
        **dict.fromkeys(["litre", "litres", "liter", "liters", "ltr", "lt"], "l"),
        **dict.fromkeys(["m³", "cbm", "cubic metre", "cubic metres", "cubic meter", "cubic meters"], "m3"),
        **dict.fromkeys(["millimetre", "millimetres", "millimeter", "millimeters"], "mm"),
        **dict.fromkeys(["centimetre", "centimetres", "centimeter", "centimeters"], "cm"),
        **dict.fromkeys(["metre", "metres", "meter", "meters"], "m"),
        **dict.fromkeys(["kilometre", "kilometres", "kilometer", "kilometers"], "km"),
        **dict.fromkeys(
            ["m²", "sqm", "square metre", "square metres", "square meter", "square meters"], "m2"
        ),
        **dict.fromkeys(["kits"], "kit"),
        **dict.fromkeys(["sets"], "set"),
        **dict.fromkeys(["boxes"], "box"),
        **dict.fromkeys(["rolls"], "roll"),
    }
)
"""Other spellings of unit names (lower case) → the name the catalogue uses."""

_NUMBER_THEN_LETTER = re.compile(r"(\d)([^\d\s.,])")


def normalise_unit(unit: str) -> str:
    """The catalogue's name for ``unit``: lower case, single spaces, aliases resolved.

    ``"Litres"`` → ``"l"``, ``" PCS "`` → ``"piece"``, ``"Sack of 50kg"`` → ``"sack of 50 kg"``.
    Names the catalogue does not know come back normalised but otherwise unchanged.
    """
    name = " ".join(_NUMBER_THEN_LETTER.sub(r"\1 \2", unit.strip().lower()).split())
    return UNIT_ALIASES.get(name, name)


class UnknownItemError(LookupError):
    """No item with this code in the catalogue."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not in the supplies catalogue")
        self.code = code


class UnknownUnitError(ValueError):
    """The unit is not one the item can be counted in; the message lists the ones it can."""

    def __init__(self, item: SupplyItem, unit: str) -> None:
        self.code = item.code
        self.unit = unit
        self.accepted = item.accepted_units()
        super().__init__(
            f"{unit!r} is not a unit for {item.code} ({item.name}); use one of: {', '.join(self.accepted)}"
        )


def _dimension(base_unit: str) -> Mapping[str, Decimal] | None:
    for dimension in _DIMENSIONS:
        if base_unit in dimension:
            if dimension is _COUNT and base_unit != "piece":
                return None
            return dimension
    return None


@dataclass(frozen=True, slots=True)
class SupplyItem:
    """One catalogue item. ``units`` maps unit names to how many base units one of them is."""

    code: str
    name: str
    category: str
    sector: Sector | None
    base_unit: str
    units: Mapping[str, Decimal]
    substitution_group: str | None

    def factor(self, unit: str) -> Decimal | None:
        """How many base units one ``unit`` is, or None when the item cannot be counted in it."""
        name = normalise_unit(unit)
        if name in self.units:
            return self.units[name]
        dimension = _dimension(self.base_unit)
        if dimension is not None and name in dimension:
            return dimension[name] / dimension[self.base_unit]
        return None

    def accepted_units(self) -> tuple[str, ...]:
        """Every unit name the item accepts (aliases aside): its own first, then the generic ones."""
        generic = _dimension(self.base_unit) or {}
        return tuple(dict.fromkeys([self.base_unit, *self.units, *generic]))


class SupplyCatalogue:
    """Items by code, with unit conversion and substitution groups."""

    def __init__(self, items: Iterable[SupplyItem]) -> None:
        self._items: dict[str, SupplyItem] = {}
        groups: dict[str, set[str]] = {}
        for item in items:
            if item.code in self._items:
                msg = f"item code {item.code!r} appears twice"
                raise ValueError(msg)
            if item.units.get(item.base_unit) != 1:
                msg = f"item {item.code!r}: its base unit {item.base_unit!r} must be 1 of itself"
                raise ValueError(msg)
            self._items[item.code] = item
            if item.substitution_group is not None:
                groups.setdefault(item.substitution_group, set()).add(item.code)
        self._groups = {group: frozenset(codes) for group, codes in groups.items()}

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[SupplyItem]:
        return iter(self._items.values())

    def __contains__(self, code: object) -> bool:
        return code in self._items

    def get(self, code: str) -> SupplyItem | None:
        return self._items.get(code)

    def _item(self, code: str) -> SupplyItem:
        item = self._items.get(code)
        if item is None:
            raise UnknownItemError(code)
        return item

    def to_base(self, code: str, quantity: Decimal, unit: str) -> Decimal:
        """``quantity`` of ``unit`` in the item's base unit.

        Raises :class:`UnknownItemError` for an unknown code and :class:`UnknownUnitError` (a
        ValueError naming the item and the units it accepts) for a unit it cannot be counted in.
        """
        item = self._item(code)
        factor = item.factor(unit)
        if factor is None:
            raise UnknownUnitError(item, unit)
        return quantity * factor

    def substitutes(self, code: str) -> frozenset[str]:
        """Codes of the other items that may stand in for ``code`` (empty when it has no group)."""
        group = self._item(code).substitution_group
        if group is None:
            return frozenset()
        return self._groups[group] - {code}

    def search(self, text: str, limit: int = 10) -> list[SupplyItem]:
        """Items whose name contains ``text`` (case-insensitive): names starting with it first,
        then by code; at most ``limit``."""
        needle = " ".join(text.split()).casefold()
        if not needle or limit <= 0:
            return []
        found = [item for item in self._items.values() if needle in " ".join(item.name.split()).casefold()]
        found.sort(key=lambda item: (not item.name.casefold().startswith(needle), item.code))
        return found[:limit]


def _item_from_json(raw: Mapping[str, object]) -> SupplyItem:
    units = raw["units"]
    sector = raw["sector"]
    group = raw["substitution_group"]
    assert isinstance(units, dict)
    return SupplyItem(
        code=str(raw["code"]),
        name=str(raw["name"]),
        category=str(raw["category"]),
        sector=Sector(str(sector)) if sector else None,
        base_unit=str(raw["base_unit"]),
        units=MappingProxyType({normalise_unit(name): Decimal(factor) for name, factor in units.items()}),
        substitution_group=str(group) if group else None,
    )


@cache
def load_catalogue() -> SupplyCatalogue:
    """The packaged catalogue, read once."""
    text = resources.files("shared.reference").joinpath("data", "catalogue.json").read_text(encoding="utf-8")
    return SupplyCatalogue(_item_from_json(raw) for raw in json.loads(text)["items"])
