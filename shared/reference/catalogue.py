"""The supplies catalogue (``data/catalogue.json``, built by :mod:`shared.reference.build`).

Every item has a base unit and the units it may be counted in (packs included); generic metric
and US units convert within their dimension (mass, volume, length, area). Items in the same
substitution group may stand in for each other (see build.py for the rule).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType

from shared.reference.sectors import Sector

__all__ = ["SupplyCatalogue", "SupplyItem", "UnknownUnitError", "load_catalogue"]

# Unit name -> (dimension's base unit, factor). Applies to every item whose base unit is that base.
_GENERIC: dict[str, tuple[str, Decimal]] = {
    "piece": ("piece", Decimal(1)),
    "pieces": ("piece", Decimal(1)),
    "pcs": ("piece", Decimal(1)),
    "pc": ("piece", Decimal(1)),
    "each": ("piece", Decimal(1)),
    "ea": ("piece", Decimal(1)),
    "unit": ("piece", Decimal(1)),
    "units": ("piece", Decimal(1)),
    "item": ("piece", Decimal(1)),
    "items": ("piece", Decimal(1)),
    "dozen": ("piece", Decimal(12)),
    "g": ("kg", Decimal("0.001")),
    "kg": ("kg", Decimal(1)),
    "t": ("kg", Decimal(1000)),
    "tonne": ("kg", Decimal(1000)),
    "lb": ("kg", Decimal("0.45359237")),
    "lbs": ("kg", Decimal("0.45359237")),
    "ml": ("l", Decimal("0.001")),
    "l": ("l", Decimal(1)),
    "litre": ("l", Decimal(1)),
    "liter": ("l", Decimal(1)),
    "m3": ("l", Decimal(1000)),
    "gal": ("l", Decimal("3.785411784")),
    "cm": ("m", Decimal("0.01")),
    "m": ("m", Decimal(1)),
    "m2": ("m2", Decimal(1)),
}


class UnknownUnitError(ValueError):
    """The unit is not one the item can be counted in; the message lists the ones it can."""


@dataclass(frozen=True, slots=True)
class SupplyItem:
    code: str
    name: str
    category: str
    sector: Sector | None
    base_unit: str
    units: Mapping[str, Decimal]
    substitution_group: str | None

    def accepted_units(self) -> tuple[str, ...]:
        generic = (name for name, (base, _) in _GENERIC.items() if base == self.base_unit)
        return tuple(dict.fromkeys([*self.units, *generic]))


class SupplyCatalogue:
    def __init__(self, items: list[SupplyItem]) -> None:
        self._items = {item.code: item for item in items}
        groups: dict[str, set[str]] = {}
        for item in items:
            if item.substitution_group:
                groups.setdefault(item.substitution_group, set()).add(item.code)
        self._groups = {name: frozenset(codes) for name, codes in groups.items()}

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[SupplyItem]:
        return iter(self._items.values())

    def get(self, code: str) -> SupplyItem | None:
        return self._items.get(code)

    def to_base(self, code: str, quantity: Decimal, unit: str) -> Decimal:
        """``quantity`` of ``unit`` in the item's base unit."""
        item = self._items[code]
        name = unit.strip().lower()
        if name in item.units:
            return quantity * item.units[name]
        generic = _GENERIC.get(name)
        if generic is not None and generic[0] == item.base_unit:
            return quantity * generic[1]
        msg = (
            f"{unit!r} is not a unit for {item.code} ({item.name}); "
            f"use one of: {', '.join(item.accepted_units())}"
        )
        raise UnknownUnitError(msg)

    def substitutes(self, code: str) -> frozenset[str]:
        """Other items that may stand in for ``code``."""
        group = self._items[code].substitution_group
        if group is None:
            return frozenset()
        return self._groups[group] - {code}

    def search(self, text: str, limit: int = 10) -> list[SupplyItem]:
        needle = text.lower()
        return [item for item in self._items.values() if needle in item.name.lower()][:limit]


@cache
def load_catalogue() -> SupplyCatalogue:
    document = json.loads(resources.files("shared.reference").joinpath("data", "catalogue.json").read_text())
    return SupplyCatalogue(
        [
            SupplyItem(
                code=raw["code"],
                name=raw["name"],
                category=raw["category"],
                sector=Sector(raw["sector"]) if raw["sector"] else None,
                base_unit=raw["base_unit"],
                units=MappingProxyType({name.lower(): Decimal(f) for name, f in raw["units"].items()}),
                substitution_group=raw["substitution_group"],
            )
            for raw in document["items"]
        ]
    )
