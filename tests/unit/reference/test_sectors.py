from shared.reference import SECTOR_NAMES, Sector


def test_the_eleven_iasc_clusters():
    assert {sector.value for sector in Sector} == {
        "health",
        "shelter",
        "wash",
        "food_security",
        "education",
        "protection",
        "logistics",
        "nutrition",
        "camp_management",
        "early_recovery",
        "emergency_telecommunications",
    }


def test_sectors_are_strings_and_parse_from_their_values():
    assert Sector("wash") is Sector.WASH
    assert Sector.WASH == "wash"


def test_every_sector_has_a_display_name():
    assert set(SECTOR_NAMES) == set(Sector)
    assert SECTOR_NAMES[Sector.WASH] == "Water, Sanitation and Hygiene"
    assert all(name.strip() == name and name for name in SECTOR_NAMES.values())
