"""Real places for the demo scenarios: towns hit by the crisis, and cities where the diaspora lives.

The packaged reference data has ISO 3166-2 admin areas (via pycountry) but no coordinates, and
matching needs coordinates for a volunteer's travel radius. So this is a small curated table.

Source of the coordinates: the WGS84 centre coordinates that GeoNames (geonames.org, CC BY 4.0)
and Wikipedia publish for each town, typed in by hand to three decimals for this table (not
fetched by a program). They should be within a few kilometres of the published values, which
is all a travel radius needs; check them before using them for anything else. The admin-area
codes are ISO 3166-2 and a unit test checks each against pycountry.
"""

# ruff: noqa: RUF001 - Turkish place names use the dotless i

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AFFECTED", "DIASPORA", "Place"]


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    country: str  # ISO 3166-1 alpha-3
    admin_area: str | None  # ISO 3166-2, for places in the crisis area
    lat: float
    lon: float
    currency: str = "USD"  # what people there pledge in (diaspora cities)

    def as_data(self) -> dict[str, object]:
        """The ``place`` object of a need or pledge (docs/events.md)."""
        data: dict[str, object] = {"country": self.country}
        if self.admin_area:
            data["admin_area"] = self.admin_area
        return {**data, "name": self.name, "lat": self.lat, "lon": self.lon}


# Towns in the area of the February 2023 Kahramanmaraş earthquakes (Türkiye and north-west Syria).
AFFECTED: tuple[Place, ...] = (
    Place("Gaziantep", "TUR", "TR-27", 37.066, 37.383),
    Place("Nurdağı", "TUR", "TR-27", 37.176, 36.738),
    Place("İslahiye", "TUR", "TR-27", 37.026, 36.632),
    Place("Kahramanmaraş", "TUR", "TR-46", 37.585, 36.937),
    Place("Pazarcık", "TUR", "TR-46", 37.487, 37.293),
    Place("Elbistan", "TUR", "TR-46", 38.206, 37.198),
    Place("Antakya", "TUR", "TR-31", 36.202, 36.160),
    Place("İskenderun", "TUR", "TR-31", 36.587, 36.173),
    Place("Kırıkhan", "TUR", "TR-31", 36.499, 36.358),
    Place("Adıyaman", "TUR", "TR-02", 37.764, 38.276),
    Place("Malatya", "TUR", "TR-44", 38.355, 38.309),
    Place("Osmaniye", "TUR", "TR-80", 37.074, 36.246),
    Place("Adana", "TUR", "TR-01", 37.000, 35.321),
    Place("Diyarbakır", "TUR", "TR-21", 37.914, 40.231),
    Place("Şanlıurfa", "TUR", "TR-63", 37.159, 38.796),
    Place("Kilis", "TUR", "TR-79", 36.716, 37.115),
    Place("Aleppo", "SYR", "SY-HL", 36.202, 37.134),
    Place("Jindires", "SYR", "SY-HL", 36.395, 36.690),
    Place("Afrin", "SYR", "SY-HL", 36.512, 36.869),
    Place("Idlib", "SYR", "SY-ID", 35.931, 36.633),
    Place("Harem", "SYR", "SY-ID", 36.208, 36.519),
    Place("Sarmada", "SYR", "SY-ID", 36.180, 36.722),
    Place("Latakia", "SYR", "SY-LA", 35.532, 35.791),
    Place("Jableh", "SYR", "SY-LA", 35.361, 35.925),
    Place("Hama", "SYR", "SY-HM", 35.132, 36.757),
)

# Cities with large Turkish and Syrian diaspora communities, and the currency they pledge in.
DIASPORA: tuple[Place, ...] = (
    Place("Berlin", "DEU", None, 52.520, 13.405, "EUR"),
    Place("Cologne", "DEU", None, 50.938, 6.960, "EUR"),
    Place("Frankfurt am Main", "DEU", None, 50.110, 8.682, "EUR"),
    Place("London", "GBR", None, 51.507, -0.128, "GBP"),
    Place("Paris", "FRA", None, 48.857, 2.352, "EUR"),
    Place("Amsterdam", "NLD", None, 52.370, 4.895, "EUR"),
    Place("Rotterdam", "NLD", None, 51.924, 4.478, "EUR"),
    Place("Brussels", "BEL", None, 50.847, 4.357, "EUR"),
    Place("Vienna", "AUT", None, 48.208, 16.373, "EUR"),
    Place("Zurich", "CHE", None, 47.377, 8.541, "CHF"),
    Place("Stockholm", "SWE", None, 59.329, 18.069, "SEK"),
    Place("Gothenburg", "SWE", None, 57.709, 11.975, "SEK"),
    Place("Toronto", "CAN", None, 43.653, -79.383, "CAD"),
    Place("Dearborn", "USA", None, 42.322, -83.176, "USD"),
    Place("Istanbul", "TUR", None, 41.008, 28.978, "TRY"),
)
