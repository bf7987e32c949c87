"""The ECB's euro foreign exchange reference rates (``eurofxref.csv``) as drx's rate rows.

The ECB publishes one dated row of rates per 1 EUR: a ``Date`` column (``3 December 2026``),
then one column per currency (``USD, JPY, ...``), sometimes with a trailing empty column and
``N/A`` for a currency it did not fix that day. drx keeps rates as units per USD, so each is
divided by the day's USD rate and EUR itself becomes ``1 / USD``. A file without a USD rate
cannot be turned into per-USD rates and is refused, as is anything else the ECB would not write.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal, InvalidOperation

__all__ = ["EcbFormatError", "parse_eurofxref"]

_PLACES = Decimal("0.0000000001")


class EcbFormatError(ValueError):
    """The text is not an ECB reference rate file; the message says where and why."""


def _day(text: str) -> dt.date:
    for pattern in ("%d %B %Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).replace(tzinfo=dt.UTC).date()
        except ValueError:
            continue
    msg = f"date {text.strip()!r} is neither like '3 December 2026' nor ISO 8601"
    raise EcbFormatError(msg)


def parse_eurofxref(text: str) -> list[tuple[dt.date, str, Decimal]]:
    """(day, currency, units per USD) rows, USD at 1 and EUR added, from ``eurofxref.csv`` text."""
    lines = [
        row for row in csv.reader(text.splitlines(), skipinitialspace=True) if any(c.strip() for c in row)
    ]
    if len(lines) < 2:  # noqa: PLR2004 - a header and at least one dated row
        msg = "an ECB rate file has a header line (Date, USD, ...) and at least one dated row"
        raise EcbFormatError(msg)
    header = [c.strip() for c in lines[0]]
    if header[0] != "Date":
        msg = f"the first column must be 'Date', not {header[0]!r}"
        raise EcbFormatError(msg)
    if "USD" not in header:
        msg = "the file has no USD column, so its rates cannot be turned into rates per US dollar"
        raise EcbFormatError(msg)
    rows: list[tuple[dt.date, str, Decimal]] = []
    for number, line in enumerate(lines[1:], start=2):
        cells = [c.strip() for c in line]
        day = _day(cells[0])
        per_eur: dict[str, Decimal] = {}
        for currency, cell in zip(header[1:], cells[1:], strict=False):
            if not currency or not cell or cell == "N/A":
                continue
            try:
                rate = Decimal(cell)
            except InvalidOperation:
                msg = f"line {number}: {currency} rate {cell!r} is not a number"
                raise EcbFormatError(msg) from None
            if not rate.is_finite() or rate <= 0:
                msg = f"line {number}: {currency} rate {cell!r} must be a positive number"
                raise EcbFormatError(msg)
            per_eur[currency] = rate
        usd = per_eur.get("USD")
        if usd is None:
            msg = f"line {number} ({day}) has no USD rate"
            raise EcbFormatError(msg)
        rows.append((day, "EUR", (1 / usd).quantize(_PLACES)))
        rows.extend(
            (day, ccy, Decimal(1) if ccy == "USD" else (rate / usd).quantize(_PLACES))
            for ccy, rate in per_eur.items()
        )
    return rows
