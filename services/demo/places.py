"""Real places for the demo scenarios: towns hit by the crisis, and cities where the diaspora lives.

The packaged reference data has ISO 3166-2 admin areas (via pycountry) but no coordinates, and
matching needs coordinates for a volunteer's travel radius. So this is a small curated table,
``data/places.toml``, read once when this module is imported.

Source of the coordinates: the WGS84 centre coordinates that GeoNames (geonames.org, CC BY 4.0)
and Wikipedia publish for each town, typed in by hand to three decimals for that table (not
fetched by a program). They should be within a few kilometres of the published values, which
is all a travel radius needs; check them before using them for anything else. The admin-area
codes are ISO 3166-2 and a unit test checks each against pycountry.
"""

from __future__ import annotations

import tomllib
from importlib import resources

from pydantic import BaseModel, ConfigDict

__all__ = ["AFFECTED", "DIASPORA", "Place"]


class Place(BaseModel):
    """A town or city: where a need is, or where a donor pledges from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    country: str  # ISO 3166-1 alpha-3
    admin_area: str | None = None  # ISO 3166-2, for places in the crisis area
    lat: float
    lon: float
    currency: str = "USD"  # what people there pledge in (diaspora cities)

    def as_data(self) -> dict[str, object]:
        """The ``place`` object of a need or pledge (docs/events.md)."""
        data: dict[str, object] = {"country": self.country}
        if self.admin_area:
            data["admin_area"] = self.admin_area
        return {**data, "name": self.name, "lat": self.lat, "lon": self.lon}


class _Places(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    affected: tuple[Place, ...]
    diaspora: tuple[Place, ...]


def _load() -> _Places:
    text = resources.files("services.demo").joinpath("data", "places.toml").read_text(encoding="utf-8")
    return _Places.model_validate(tomllib.loads(text))


_PLACES = _load()

AFFECTED: tuple[Place, ...] = _PLACES.affected
"""Towns in the area of the February 2023 Kahramanmaraş earthquakes (Türkiye and north-west Syria)."""

DIASPORA: tuple[Place, ...] = _PLACES.diaspora
"""Cities with large Turkish and Syrian diaspora communities, and the currency they pledge in."""
