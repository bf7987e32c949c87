"""Exchange rates are data (``data/fx_rates.csv``: date, currency, units per USD), not code.

Funds are compared in USD: each amount is converted with the newest snapshot on or before the
day in question (or the oldest snapshot, for a day before any). The shipped table is a single
hand-entered snapshot of indicative rates; operators replace it with their own (see
docs/reference.md).
"""

from __future__ import annotations

import csv
import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from importlib import resources

__all__ = ["FxTable", "UnknownCurrencyError", "load_fx"]

_CENT = Decimal("0.01")


class UnknownCurrencyError(ValueError):
    """No rate for this currency in the table."""


class FxTable:
    def __init__(self, snapshots: dict[str, list[tuple[dt.date, Decimal]]]) -> None:
        self._snapshots = {ccy: sorted(rows) for ccy, rows in snapshots.items()}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[dt.date, str, Decimal]]) -> FxTable:
        snapshots: dict[str, list[tuple[dt.date, Decimal]]] = {}
        for day, currency, units_per_usd in rows:
            if units_per_usd <= 0:
                msg = f"rate for {currency} on {day} must be positive"
                raise ValueError(msg)
            snapshots.setdefault(currency, []).append((day, units_per_usd))
        return cls(snapshots)

    def currencies(self) -> frozenset[str]:
        return frozenset(self._snapshots)

    def rate(self, currency: str, on: dt.date) -> Decimal:
        """Units of ``currency`` per USD on day ``on``."""
        rows = self._snapshots.get(currency)
        if not rows:
            msg = f"no exchange rate for {currency} in the rate table"
            raise UnknownCurrencyError(msg)
        index = bisect_right([day for day, _ in rows], on)
        return rows[max(index - 1, 0)][1]

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str, on: dt.date) -> Decimal:
        """``amount`` of ``from_ccy`` in ``to_ccy``, to the cent."""
        in_usd = amount / self.rate(from_ccy, on)
        return (in_usd * self.rate(to_ccy, on)).quantize(_CENT)


@cache
def load_fx() -> FxTable:
    text = resources.files("shared.reference").joinpath("data", "fx_rates.csv").read_text()
    return FxTable.from_rows(
        (dt.date.fromisoformat(row["date"]), row["currency"], Decimal(row["units_per_usd"]))
        for row in csv.DictReader(text.splitlines())
    )
