import pytest

from shared.reference import (
    country_name,
    is_country,
    is_currency,
    is_language,
    is_subdivision,
    normalise_language,
    subdivision_name,
)


class TestCountries:
    def test_alpha3_upper_case_only(self):
        assert is_country("TUR")
        assert is_country("SYR")
        assert not is_country("TR")  # alpha-2
        assert not is_country("tur")
        assert not is_country("XXX")
        assert not is_country("")

    def test_name(self):
        assert country_name("SYR") == "Syrian Arab Republic"
        assert country_name("TUR") == "Türkiye"

    def test_unknown_name_is_a_clear_error(self):
        with pytest.raises(ValueError, match="'TR' is not an ISO 3166-1 alpha-3 country code"):
            country_name("TR")


class TestSubdivisions:
    def test_belongs_to_its_country_only(self):
        assert is_subdivision("TR-27", "TUR")
        assert not is_subdivision("TR-27", "SYR")
        assert is_subdivision("SY-HL", "SYR")  # Halab (Aleppo) governorate
        assert not is_subdivision("SY-HL", "TUR")

    def test_unknown_codes(self):
        assert not is_subdivision("TR-99", "TUR")
        assert not is_subdivision("tr-27", "TUR")
        assert not is_subdivision("TR-27", "TR")  # the country is alpha-3

    def test_name(self):
        assert subdivision_name("TR-27") == "Gaziantep"
        assert subdivision_name("TR-99") is None


def test_currencies():
    assert is_currency("EUR")
    assert is_currency("SYP")
    assert not is_currency("eur")
    assert not is_currency("EURO")
    assert not is_currency("XYZ")


class TestLanguages:
    def test_two_and_three_letter_codes(self):
        assert is_language("ar")
        assert is_language("ara")
        assert is_language("apc")  # Levantine Arabic: ISO 639-3 only
        assert not is_language("qq")
        assert not is_language("AR")
        assert not is_language("arabic")

    def test_normalised_to_iso_639_3_so_both_forms_compare_equal(self):
        assert normalise_language("ar") == normalise_language("ara") == "ara"
        assert normalise_language("ku") == "kur"
        assert normalise_language("tr") == "tur"

    def test_unknown_language_is_a_clear_error(self):
        with pytest.raises(ValueError, match="'qq' is not an ISO 639-1 or ISO 639-3 language code"):
            normalise_language("qq")
