"""Exchange rates are data, not code: ``data/fx_rates.csv`` (date, currency, units per USD).

Amounts convert through USD with the newest snapshot on or before the day in question. A day
before a currency's first snapshot has no rate: that is an error, not a silent use of a later
rate. The shipped file is one hand-entered snapshot of indicative rates (see ``data/README.md``);
operators replace or extend it with their own.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources

__all__ = ["FxTable", "UnknownCurrencyError", "load_fx"]

_CENT = Decimal("0.01")
_CURRENCY = re.compile(r"[A-Z]{3}")


class UnknownCurrencyError(ValueError):
    """No rate for this currency (at all, or on or before the day asked about)."""

    def __init__(self, message: str, currency: str) -> None:
        super().__init__(message)
        self.currency = currency


class FxTable:
    """Rates by currency, each a list of dated snapshots (units of the currency per US dollar)."""

    def __init__(self, snapshots: Mapping[str, Sequence[tuple[dt.date, Decimal]]]) -> None:
        self._days: dict[str, list[dt.date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for currency, rows in snapshots.items():
            ordered = sorted(rows)
            days = [day for day, _ in ordered]
            if len(set(days)) != len(days):
                msg = f"{currency} has two rates for the same day"
                raise ValueError(msg)
            self._days[currency] = days
            self._rates[currency] = [rate for _, rate in ordered]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[dt.date, str, Decimal]]) -> FxTable:
        """A table from (day, currency, units per USD) rows, checked: ISO-style upper-case codes,
        positive finite rates, USD at exactly 1."""
        snapshots: dict[str, list[tuple[dt.date, Decimal]]] = {}
        for day, currency, units_per_usd in rows:
            if not _CURRENCY.fullmatch(currency):
                msg = f"{currency!r} is not a three-letter upper-case currency code"
                raise ValueError(msg)
            if not units_per_usd.is_finite() or units_per_usd <= 0:
                msg = f"rate for {currency} on {day} must be a positive number, not {units_per_usd}"
                raise ValueError(msg)
            if currency == "USD" and units_per_usd != 1:
                msg = f"USD is the reference currency; its rate must be 1, not {units_per_usd} ({day})"
                raise ValueError(msg)
            snapshots.setdefault(currency, []).append((day, units_per_usd))
        return cls(snapshots)

    @classmethod
    def from_csv(cls, text: str) -> FxTable:
        """A table from CSV text with the columns ``date,currency,units_per_usd``."""
        rows = []
        for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
            try:
                rows.append(
                    (
                        dt.date.fromisoformat(row["date"].strip()),
                        row["currency"].strip(),
                        Decimal(row["units_per_usd"].strip()),
                    )
                )
            except (KeyError, AttributeError, ValueError, InvalidOperation) as error:
                msg = f"line {line} of the rate table is not date,currency,units_per_usd: {row}"
                raise ValueError(msg) from error
        return cls.from_rows(rows)

    def merged(self, rows: Iterable[tuple[dt.date, str, Decimal]]) -> FxTable:
        """This table with ``rows`` added; a row for a day this table has replaces its rate, so
        rates an operator loaded win over the packaged snapshot."""
        snapshots = {c: dict(zip(self._days[c], self._rates[c], strict=True)) for c in self._days}
        added = list(rows)
        FxTable.from_rows(added)  # the same checks as any table's rows
        for day, currency, rate in added:
            snapshots.setdefault(currency, {})[day] = rate
        return FxTable({c: sorted(days.items()) for c, days in snapshots.items()})

    def rate_day(self, currency: str, on: dt.date) -> dt.date:
        """The day of the rate :meth:`rate` uses for ``currency`` on ``on``."""
        self.rate(currency, on)  # the same refusal when there is none
        days = self._days[currency]
        return days[bisect_right(days, on) - 1]

    def currencies(self) -> frozenset[str]:
        return frozenset(self._days)

    def rate(self, currency: str, on: dt.date) -> Decimal:
        """Units of ``currency`` per USD on day ``on``: the newest snapshot on or before it."""
        days = self._days.get(currency)
        if days is None:
            raise UnknownCurrencyError(f"no exchange rate for {currency} in the rate table", currency)
        index = bisect_right(days, on)
        if index == 0:
            raise UnknownCurrencyError(
                f"no exchange rate for {currency} on or before {on}; the earliest is for {days[0]}", currency
            )
        return self._rates[currency][index - 1]

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str, on: dt.date) -> Decimal:
        """``amount`` of ``from_ccy`` in ``to_ccy`` on day ``on``, via USD, rounded half up to 0.01."""
        from_rate = self.rate(from_ccy, on)
        if from_ccy == to_ccy:
            return amount.quantize(_CENT, rounding=ROUND_HALF_UP)
        return (amount * self.rate(to_ccy, on) / from_rate).quantize(_CENT, rounding=ROUND_HALF_UP)


@cache
def load_fx() -> FxTable:
    """The packaged rate table, read once."""
    text = resources.files("shared.reference").joinpath("data", "fx_rates.csv").read_text(encoding="utf-8")
    return FxTable.from_csv(text)
