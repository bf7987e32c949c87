from decimal import Decimal
from types import MappingProxyType

import pytest

from shared.reference import (
    Sector,
    SupplyCatalogue,
    SupplyItem,
    UnknownItemError,
    UnknownUnitError,
    load_catalogue,
    normalise_unit,
)

BLANKET = "HSHEBLANWHT1"  # IFRC: BLANKET, woven, 80% wool
FAMILY_TENT = "HSHETENTF16C"
RICE_50 = "SE-FDRICE50"  # Sahana: rice, counted in kg, packed in 50 kg sacks


def item(code: str, base_unit: str = "piece", group: str | None = None, **units: str) -> SupplyItem:
    return SupplyItem(
        code=code,
        name=f"Item {code}",
        category="Test",
        sector=None,
        base_unit=base_unit,
        units=MappingProxyType({base_unit: Decimal(1), **{k: Decimal(v) for k, v in units.items()}}),
        substitution_group=group,
    )


class TestNormaliseUnit:
    @pytest.mark.parametrize(
        ("written", "canonical"),
        [
            ("piece", "piece"),
            ("PCS", "piece"),
            (" pc ", "piece"),
            ("Each", "piece"),
            ("units", "piece"),
            ("Litre", "l"),
            ("liters", "l"),
            ("KG", "kg"),
            ("kilograms", "kg"),
            ("tonne", "t"),
            ("MT", "t"),
            ("lbs", "lb"),
            ("m³", "m3"),
            ("Sack of 50kg", "sack of 50 kg"),
            ("box  of 10", "box of 10"),
            ("crate", "crate"),
        ],
    )
    def test_spellings(self, written, canonical):
        assert normalise_unit(written) == canonical


class TestToBase:
    def test_base_unit_and_aliases(self):
        catalogue = load_catalogue()
        assert catalogue.to_base(BLANKET, Decimal(3), "piece") == 3
        assert catalogue.to_base(BLANKET, Decimal(3), "PCS") == 3
        assert catalogue.to_base(BLANKET, Decimal(3), "each") == 3
        assert catalogue.to_base(BLANKET, Decimal(2), "dozen") == 24

    def test_a_pack_is_its_size_in_base_units(self):
        catalogue = load_catalogue()
        rice = catalogue.get(RICE_50)
        assert rice is not None
        assert rice.base_unit == "kg"
        assert catalogue.to_base(RICE_50, Decimal(2), "sack") == 100
        assert catalogue.to_base(RICE_50, Decimal(2), "Sack of 50 kg") == 100
        assert catalogue.to_base("SE-FDRICE5", Decimal(2), "sack") == 10  # the same word, another size

    def test_a_pack_written_into_the_unit_of_measure(self):
        # DefaultItems gives rice seed the unit "sack20kg": kg, in 20 kg sacks
        assert load_catalogue().to_base("SE-AGRICE20", Decimal(3), "sack") == 60

    @pytest.mark.parametrize(
        ("quantity", "unit", "kg"),
        [
            ("500", "g", "0.5"),
            ("2", "t", "2000"),
            ("1.5", "tonnes", "1500"),
            ("10", "lb", "4.5359237"),
            ("3", "KG", "3"),
        ],
    )
    def test_generic_mass_units(self, quantity, unit, kg):
        assert load_catalogue().to_base(RICE_50, Decimal(quantity), unit) == Decimal(kg)

    def test_generic_volume_units(self):
        catalogue = load_catalogue()
        oil = catalogue.get("FOILSUNFRE01")  # OIL, sunflower: counted in litres
        assert oil is not None
        assert oil.base_unit == "l"
        assert catalogue.to_base(oil.code, Decimal(500), "ml") == Decimal("0.5")
        assert catalogue.to_base(oil.code, Decimal(2), "m3") == 2000
        assert catalogue.to_base(oil.code, Decimal(4), "Litres") == 4

    def test_generic_length_units(self):
        catalogue = load_catalogue()
        hose = catalogue.get("WNEHSBFL2")  # HOSE, ... per meter
        assert hose is not None
        assert hose.base_unit == "m"
        assert catalogue.to_base(hose.code, Decimal(250), "cm") == Decimal("2.5")
        assert catalogue.to_base(hose.code, Decimal(1), "km") == 1000

    def test_us_units_of_sahana_items(self):
        catalogue = load_catalogue()
        assert catalogue.to_base("SE-POTABLE-WATER", Decimal(1), "gal") == Decimal("3.785411784")
        assert catalogue.to_base("SE-POTABLE-WATER", Decimal(1), "l") == 1
        assert catalogue.to_base("SE-CONCRETE", Decimal(1), "cy") == Decimal("0.764554857984")
        assert catalogue.to_base("SE-CONCRETE", Decimal(1000), "l") == 1  # base m3
        assert catalogue.to_base("SE-DIAPERS", Decimal(2), "dozen") == 24
        assert catalogue.to_base("SE-STEEL", Decimal(100), "lbs") == Decimal("45.359237")

    def test_a_unit_of_another_dimension_is_refused(self):
        catalogue = load_catalogue()
        with pytest.raises(UnknownUnitError):
            catalogue.to_base(RICE_50, Decimal(1), "l")
        with pytest.raises(UnknownUnitError):
            catalogue.to_base(RICE_50, Decimal(1), "piece")
        with pytest.raises(UnknownUnitError):
            catalogue.to_base(RICE_50, Decimal(1), "gal")  # gallons are not generic

    def test_kits_count_in_kits_not_pieces(self):
        catalogue = load_catalogue()
        kit = catalogue.get("SE-WSHYGKIT")
        assert kit is not None
        assert kit.base_unit == "kit"
        assert catalogue.to_base(kit.code, Decimal(5), "kits") == 5
        with pytest.raises(UnknownUnitError):
            catalogue.to_base(kit.code, Decimal(5), "dozen")

    def test_unknown_unit_message_names_the_item_and_the_accepted_units(self):
        with pytest.raises(UnknownUnitError) as caught:
            load_catalogue().to_base(RICE_50, Decimal(1), "bottle")
        message = str(caught.value)
        assert message.startswith("'bottle' is not a unit for SE-FDRICE50 (Rice); use one of: kg, sack, ")
        for unit in ("sack of 50 kg", "g", "t", "lb"):
            assert unit in caught.value.accepted
        assert caught.value.code == RICE_50
        assert isinstance(caught.value, ValueError)

    def test_unknown_item(self):
        with pytest.raises(UnknownItemError, match="'NOPE' is not in the supplies catalogue"):
            load_catalogue().to_base("NOPE", Decimal(1), "piece")


class TestSubstitutes:
    def test_blankets_substitute_blankets(self):
        blankets = load_catalogue().substitutes(BLANKET)
        assert "HSHEBLANCLT1" in blankets
        assert "HSHEBLANPHT1" in blankets
        assert BLANKET not in blankets

    def test_a_blanket_never_substitutes_a_tent(self):
        catalogue = load_catalogue()
        assert FAMILY_TENT not in catalogue.substitutes(BLANKET)
        assert BLANKET not in catalogue.substitutes(FAMILY_TENT)
        assert not any(code.startswith("HSHETENT") for code in catalogue.substitutes(BLANKET))

    def test_a_family_tent_substitutes_family_tents_only(self):
        catalogue = load_catalogue()
        assert catalogue.substitutes(FAMILY_TENT) == {"SE-SHTENT"}  # Sahana's family tent
        assert "HSHETENTH88S" not in catalogue.substitutes(FAMILY_TENT)  # hospital tent

    def test_across_sources_and_units(self):
        catalogue = load_catalogue()
        assert {"FCERRICEPARA", "SE-FDRICE5"} <= catalogue.substitutes(RICE_50)
        assert "SE-AGRICE20" not in catalogue.substitutes(RICE_50)  # rice seed is not food

    def test_medicines_of_different_strengths_do_not_substitute(self):
        catalogue = load_catalogue()
        paracetamol = [i for i in catalogue if i.name.upper().startswith("PARACETAMOL")]
        assert len(paracetamol) > 1
        assert all(i.substitution_group is None for i in paracetamol)

    def test_items_without_a_group(self):
        assert load_catalogue().substitutes("HSHETENTH88S") == frozenset()

    def test_unknown_item(self):
        with pytest.raises(UnknownItemError):
            load_catalogue().substitutes("NOPE")

    def test_members_of_a_group_share_a_base_unit(self):
        units: dict[str, set[str]] = {}
        for i in load_catalogue():
            if i.substitution_group:
                units.setdefault(i.substitution_group, set()).add(i.base_unit)
        assert units
        assert all(len(found) == 1 for found in units.values()), units


class TestSearch:
    def test_case_insensitive_substring_on_the_name(self):
        found = load_catalogue().search("WOOL", limit=50)
        assert BLANKET in [i.code for i in found]
        assert all("wool" in i.name.lower() for i in found)

    def test_names_starting_with_the_text_come_first(self):
        found = load_catalogue().search("tent", limit=100)
        starts = [i.name.lower().startswith("tent") for i in found]
        assert starts == sorted(starts, reverse=True)
        assert starts[0]
        assert not starts[-1]  # e.g. "INSULATING PLATE, for tent canvas ..."

    def test_limit(self):
        assert len(load_catalogue().search("a", limit=5)) == 5
        assert load_catalogue().search("a", limit=0) == []

    def test_nothing(self):
        assert load_catalogue().search("zzzz-no-such-item") == []
        assert load_catalogue().search("   ") == []


class TestCatalogue:
    def test_size_and_iteration(self):
        catalogue = load_catalogue()
        assert len(catalogue) == len(list(catalogue)) > 2500
        assert len({i.code for i in catalogue}) == len(catalogue)

    def test_get(self):
        catalogue = load_catalogue()
        blanket = catalogue.get(BLANKET)
        assert blanket is not None
        assert blanket.name.startswith("BLANKET, woven, 80% wool")
        assert blanket.category == "Housing / Shelter"
        assert blanket.sector is Sector.SHELTER
        assert blanket.base_unit == "piece"
        assert blanket.substitution_group == "blanket"
        assert catalogue.get("NOPE") is None
        assert BLANKET in catalogue

    def test_every_item_counts_its_base_unit_as_one(self):
        for i in load_catalogue():
            assert i.units[i.base_unit] == 1, i.code
            assert i.base_unit == i.base_unit.lower()

    def test_items_are_immutable(self):
        blanket = load_catalogue().get(BLANKET)
        assert blanket is not None
        with pytest.raises(AttributeError):
            blanket.name = "changed"  # type: ignore[misc]
        with pytest.raises(TypeError):
            blanket.units["piece"] = Decimal(2)  # type: ignore[index]

    def test_sectors_are_mapped_where_clear(self):
        catalogue = load_catalogue()
        expected = {
            "FCERRICEPARA": Sector.FOOD_SECURITY,
            "FNUTBISCBP05": Sector.NUTRITION,
            "HCONJCANP20": Sector.WASH,
            "SE-TARPS": Sector.SHELTER,  # filed under "Building Materials"
            "SE-TOILETRIES": Sector.WASH,  # filed under "Medical supplies" in the source
            "SE-GENERATOR": None,
        }
        for code, sector in expected.items():
            found = catalogue.get(code)
            assert found is not None, code
            assert found.sector is sector, code

    def test_services_and_cash_are_not_supplies(self):
        catalogue = load_catalogue()
        assert catalogue.get("SE-ACCOUNTING") is None
        assert catalogue.get("SE-DOMESTIC-CURRENCY") is None

    def test_cached(self):
        assert load_catalogue() is load_catalogue()


class TestConstruction:
    def test_duplicate_codes_are_refused(self):
        with pytest.raises(ValueError, match="appears twice"):
            SupplyCatalogue([item("A"), item("A")])

    def test_base_unit_must_be_one(self):
        bad = SupplyItem("A", "A", "Test", None, "kg", MappingProxyType({"kg": Decimal(2)}), None)
        with pytest.raises(ValueError, match="base unit"):
            SupplyCatalogue([bad])

    def test_groups_from_items(self):
        catalogue = SupplyCatalogue([item("A", group="g"), item("B", group="g"), item("C", group="h")])
        assert catalogue.substitutes("A") == {"B"}
        assert catalogue.substitutes("C") == frozenset()

    def test_box_of_10(self):
        catalogue = SupplyCatalogue([item("A", **{"box of 10": "10"})])
        assert catalogue.to_base("A", Decimal(3), "Box of 10") == 30
        assert catalogue.to_base("A", Decimal(3), "pcs") == 3
