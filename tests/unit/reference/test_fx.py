import datetime as dt
from decimal import Decimal

import pytest

from shared.reference import FxTable, UnknownCurrencyError, is_currency, load_fx

JAN = dt.date(2026, 1, 1)
JUN = dt.date(2026, 6, 1)


def table() -> FxTable:
    return FxTable.from_rows(
        [
            (JAN, "USD", Decimal(1)),
            (JAN, "EUR", Decimal("0.8")),
            (JAN, "GBP", Decimal("0.5")),
            (JAN, "TRY", Decimal(30)),
            (JUN, "TRY", Decimal(40)),
            (JUN, "USD", Decimal(1)),
        ]
    )


class TestRate:
    def test_newest_snapshot_on_or_before_the_day(self):
        assert table().rate("TRY", JAN) == 30
        assert table().rate("TRY", JUN - dt.timedelta(days=1)) == 30
        assert table().rate("TRY", JUN) == 40
        assert table().rate("TRY", dt.date(2030, 1, 1)) == 40

    def test_row_order_does_not_matter(self):
        reordered = FxTable.from_rows([(JUN, "TRY", Decimal(40)), (JAN, "TRY", Decimal(30))])
        assert reordered.rate("TRY", JUN - dt.timedelta(days=1)) == 30

    def test_before_the_first_snapshot_there_is_no_rate(self):
        with pytest.raises(UnknownCurrencyError, match="no exchange rate for TRY on or before 2025-12-31"):
            table().rate("TRY", dt.date(2025, 12, 31))

    def test_unknown_currency(self):
        with pytest.raises(
            UnknownCurrencyError, match="no exchange rate for XYZ in the rate table"
        ) as caught:
            table().rate("XYZ", JAN)
        assert caught.value.currency == "XYZ"
        assert isinstance(caught.value, ValueError)


class TestConvert:
    def test_through_usd(self):
        # 100 EUR = 125 USD = 62.50 GBP
        assert table().convert(Decimal(100), "EUR", "GBP", JAN) == Decimal("62.50")
        assert table().convert(Decimal(100), "EUR", "USD", JAN) == Decimal("125.00")
        assert table().convert(Decimal(100), "USD", "TRY", JUN) == Decimal("4000.00")

    def test_quantized_to_the_cent_half_up(self):
        odd = FxTable.from_rows([(JAN, "USD", Decimal(1)), (JAN, "XAF", Decimal(3))])
        assert odd.convert(Decimal(1), "USD", "XAF", JAN) == Decimal("3.00")
        assert odd.convert(Decimal(1), "XAF", "USD", JAN) == Decimal("0.33")
        assert odd.convert(Decimal("0.005"), "USD", "USD", JAN) == Decimal("0.01")
        assert odd.convert(Decimal(2), "XAF", "USD", JAN).as_tuple().exponent == -2

    def test_same_currency_is_exact(self):
        odd = FxTable.from_rows([(JAN, "XAF", Decimal(3))])
        assert odd.convert(Decimal(1), "XAF", "XAF", JAN) == Decimal("1.00")

    def test_uses_the_rates_of_the_day(self):
        assert table().convert(Decimal(40), "TRY", "USD", JAN) == Decimal("1.33")
        assert table().convert(Decimal(40), "TRY", "USD", JUN) == Decimal("1.00")

    def test_unknown_currency_on_either_side(self):
        with pytest.raises(UnknownCurrencyError, match="XYZ"):
            table().convert(Decimal(1), "XYZ", "USD", JAN)
        with pytest.raises(UnknownCurrencyError, match="XYZ"):
            table().convert(Decimal(1), "USD", "XYZ", JAN)


class TestTable:
    def test_currencies(self):
        assert table().currencies() == frozenset({"USD", "EUR", "GBP", "TRY"})

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ((JAN, "EUR", Decimal(0)), "must be a positive number"),
            ((JAN, "EUR", Decimal(-1)), "must be a positive number"),
            ((JAN, "EUR", Decimal("NaN")), "must be a positive number"),
            ((JAN, "eur", Decimal(1)), "not a three-letter upper-case currency code"),
            ((JAN, "USD", Decimal(2)), "USD is the reference currency"),
        ],
    )
    def test_bad_rows_are_refused(self, row, message):
        with pytest.raises(ValueError, match=message):
            FxTable.from_rows([row])

    def test_two_rates_for_one_day_are_refused(self):
        with pytest.raises(ValueError, match="EUR has two rates for the same day"):
            FxTable.from_rows([(JAN, "EUR", Decimal(1)), (JAN, "EUR", Decimal(2))])

    def test_from_csv(self):
        text = "date,currency,units_per_usd\n2026-01-01,USD,1\n2026-01-01,EUR,0.8\n"
        assert FxTable.from_csv(text).rate("EUR", JAN) == Decimal("0.8")

    def test_from_csv_names_a_bad_line(self):
        with pytest.raises(ValueError, match="line 3 of the rate table"):
            FxTable.from_csv("date,currency,units_per_usd\n2026-01-01,USD,1\n2026-13-01,EUR,0.8\n")


class TestShippedTable:
    def test_currencies_of_likely_donors_and_crises(self):
        wanted = {"USD", "EUR", "GBP", "TRY", "SYP", "LBP", "JOD", "EGP", "CAD", "AUD", "SEK", "NOK"}
        wanted |= {"DKK", "CHF", "SAR", "AED", "QAR", "KWD", "INR", "PKR", "BDT", "NGN", "KES", "ETB"}
        wanted |= {"SDG", "UAH", "PLN"}
        assert wanted <= load_fx().currencies()

    def test_every_code_is_iso_4217(self):
        assert all(is_currency(code) for code in load_fx().currencies())

    def test_one_dated_snapshot_usable_today(self):
        today = dt.datetime.now(dt.UTC).date()
        fx = load_fx()
        assert fx.rate("USD", today) == 1
        assert fx.rate("EUR", dt.date(2025, 10, 1)) == fx.rate("EUR", today)
        with pytest.raises(UnknownCurrencyError):
            fx.rate("EUR", dt.date(2025, 9, 30))

    def test_pegged_rates_sanity(self):
        fx, day = load_fx(), dt.date(2025, 10, 1)
        assert fx.rate("SAR", day) == Decimal("3.75")
        assert fx.rate("AED", day) == Decimal("3.6725")
        assert fx.convert(Decimal(375), "SAR", "USD", day) == Decimal("100.00")

    def test_cached(self):
        assert load_fx() is load_fx()
