import datetime as dt
from decimal import Decimal

import pytest

from shared.reference import (
    FxTable,
    Sector,
    UnknownCurrencyError,
    UnknownUnitError,
    build,
    is_country,
    is_currency,
    is_language,
    is_subdivision,
    load_catalogue,
    load_fx,
    load_skills,
    normalise_language,
)


class TestPlaces:
    def test_countries_are_alpha3(self):
        assert is_country("TUR")
        assert not is_country("TR")
        assert not is_country("XXX")

    def test_subdivision_belongs_to_its_country(self):
        assert is_subdivision("TR-27", "TUR")
        assert not is_subdivision("TR-27", "SYR")
        assert not is_subdivision("TR-99", "TUR")

    def test_currencies(self):
        assert is_currency("EUR")
        assert not is_currency("EURO")

    def test_languages_compare_as_iso_639_3(self):
        assert is_language("ar")
        assert is_language("ara")
        assert not is_language("qq")
        assert normalise_language("ar") == normalise_language("ara") == "ara"


class TestCatalogue:
    def test_committed_catalogue_is_what_the_build_produces(self):
        assert build.OUTPUT.read_text(encoding="utf-8") == build.build()

    def test_ifrc_item_in_pieces(self):
        catalogue = load_catalogue()
        item = catalogue.get("HSHEBLANWHT1")
        assert item is not None
        assert item.sector is Sector.SHELTER
        assert catalogue.to_base("HSHEBLANWHT1", Decimal(3), "pcs") == 3
        assert catalogue.to_base("HSHEBLANWHT1", Decimal(2), "dozen") == 24

    def test_pack_units(self):
        assert load_catalogue().to_base("SE-FDRICE50", Decimal(2), "sack") == 100  # 50 kg sacks

    def test_us_units_become_metric(self):
        catalogue = load_catalogue()
        water = next(i for i in catalogue if i.base_unit == "l" and "gal" in i.units)
        assert catalogue.to_base(water.code, Decimal(1), "gal") == Decimal("3.785411784")
        assert catalogue.to_base(water.code, Decimal(500), "ml") == Decimal("0.5")

    def test_unknown_unit_names_the_item_and_the_accepted_units(self):
        with pytest.raises(
            UnknownUnitError, match=r"'kg' is not a unit for HSHEBLANWHT1 .*use one of: piece"
        ):
            load_catalogue().to_base("HSHEBLANWHT1", Decimal(1), "kg")

    def test_blankets_substitute_blankets_never_tents(self):
        catalogue = load_catalogue()
        blankets = catalogue.substitutes("HSHEBLANWHT1")
        assert "HSHEBLANCLT1" in blankets
        assert "HSHEBLANWHT1" not in blankets
        assert not any(code.startswith("HSHETENT") for code in blankets)

    def test_a_family_tent_is_not_a_hospital_tent(self):
        assert "HSHETENTH88S" not in load_catalogue().substitutes("HSHETENTF16C")

    def test_search(self):
        assert any(item.code == "HSHEBLANWHT1" for item in load_catalogue().search("wool", limit=50))


class TestSkills:
    def test_codes_show_their_parents(self):
        skills = load_skills()
        assert skills.ancestors("health.medicine.surgery.orthopaedic") == (
            "health.medicine.surgery",
            "health.medicine",
            "health",
        )
        assert skills.is_within("health.medicine.surgery", "health")
        assert not skills.is_within("health", "health.medicine")
        assert "health.medicine.surgery.orthopaedic" in skills.children("health.medicine.surgery")

    def test_covers_the_professions_diaspora_networks_offer(self):
        skills = load_skills()
        for root in (
            "health",
            "engineering",
            "education",
            "logistics",
            "legal",
            "translation",
            "it",
            "finance",
        ):
            assert root in skills
        assert skills.get("health.mental_health") is not None
        assert len(skills) >= 80


class TestFx:
    def test_converts_through_usd(self):
        table = FxTable.from_rows(
            [
                (dt.date(2026, 1, 1), "USD", Decimal(1)),
                (dt.date(2026, 1, 1), "EUR", Decimal("0.8")),
                (dt.date(2026, 1, 1), "GBP", Decimal("0.5")),
            ]
        )
        assert table.convert(Decimal(100), "EUR", "GBP", dt.date(2026, 2, 1)) == Decimal("62.50")

    def test_uses_the_newest_snapshot_on_or_before_the_day(self):
        table = FxTable.from_rows(
            [(dt.date(2026, 1, 1), "TRY", Decimal(30)), (dt.date(2026, 6, 1), "TRY", Decimal(40))]
        )
        assert table.rate("TRY", dt.date(2026, 5, 31)) == 30
        assert table.rate("TRY", dt.date(2026, 6, 1)) == 40
        assert table.rate("TRY", dt.date(2025, 1, 1)) == 30  # before any snapshot: the oldest

    def test_unknown_currency(self):
        with pytest.raises(UnknownCurrencyError, match="no exchange rate for XYZ"):
            load_fx().rate("XYZ", dt.date(2026, 1, 1))

    def test_shipped_table_has_the_currencies_of_likely_donors_and_crises(self):
        assert {"USD", "EUR", "GBP", "TRY", "SYP", "CAD", "SAR"} <= load_fx().currencies()
