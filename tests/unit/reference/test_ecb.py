"""The ECB's eurofxref.csv becomes rates per US dollar, or a refusal that says what is wrong."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from shared.reference import FxTable
from shared.reference.ecb import EcbFormatError, parse_eurofxref

SAMPLE = (Path(__file__).parents[2] / "data" / "eurofxref.csv").read_text(encoding="utf-8")


def test_the_sample_file_gives_per_usd_rates_dated_by_its_row():
    rows = {currency: (day, rate) for day, currency, rate in parse_eurofxref(SAMPLE)}
    assert rows["USD"] == (dt.date(2026, 12, 3), Decimal(1))
    assert rows["EUR"][1] == (1 / Decimal("1.0850")).quantize(Decimal("0.0000000001"))
    assert rows["JPY"][1] == (Decimal("162.40") / Decimal("1.0850")).quantize(Decimal("0.0000000001"))
    assert len(rows) == 31  # 30 currencies per EUR, and EUR itself


def test_the_rows_make_a_table_that_converts_euros_to_dollars_at_the_ecb_rate():
    table = FxTable.from_rows(parse_eurofxref(SAMPLE))
    assert table.convert(Decimal(1000), "EUR", "USD", dt.date(2026, 12, 3)) == Decimal("1085.00")


def test_iso_dates_and_not_available_rates_are_accepted():
    rows = parse_eurofxref("Date, USD, ISK\n2026-12-03, 1.10, N/A\n")
    assert [c for _, c, _ in rows] == ["EUR", "USD"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "header line"),
        ("Day, USD\n3 December 2026, 1.1\n", "first column must be 'Date'"),
        ("Date, JPY\n3 December 2026, 160\n", "no USD column"),
        ("Date, USD\n3 Dec 26, 1.1\n", "neither like '3 December 2026'"),
        ("Date, USD, JPY\n3 December 2026, 1.1, lots\n", "JPY rate 'lots' is not a number"),
        ("Date, USD\n3 December 2026, -1\n", "must be a positive number"),
        ("Date, USD, JPY\n3 December 2026, N/A, 160\n", "has no USD rate"),
    ],
)
def test_anything_else_is_refused_with_its_reason(text, reason):
    with pytest.raises(EcbFormatError, match=reason):
        parse_eurofxref(text)


def test_loaded_rates_win_over_the_packaged_snapshot_and_say_their_day():
    from shared.reference import load_fx

    day = dt.date(2026, 12, 3)
    table = load_fx().merged(parse_eurofxref(SAMPLE))
    assert table.convert(Decimal(100), "EUR", "USD", day) == Decimal("108.50")
    assert table.rate_day("EUR", day + dt.timedelta(days=4)) == day
    packaged_day = load_fx().rate_day("EUR", day)
    assert table.rate_day("EUR", day - dt.timedelta(days=1)) == packaged_day < day
