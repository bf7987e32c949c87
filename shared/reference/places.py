"""ISO codes for places, money and languages, from pycountry's data (each table built once).

Codes are matched exactly as ISO writes them: countries and currencies upper case (``TUR``,
``EUR``), subdivisions as ``TR-27``, languages lower case (``ar`` or ``ara``). Languages are
ISO 639-1 two-letter or ISO 639-3 three-letter codes; ISO 639-2/B codes such as ``ger`` are not
accepted.
"""

from __future__ import annotations

from functools import cache

import pycountry

__all__ = [
    "country_name",
    "is_country",
    "is_currency",
    "is_language",
    "is_subdivision",
    "normalise_language",
    "subdivision_name",
]


@cache
def _countries() -> dict[str, str]:
    return {c.alpha_3: c.name for c in pycountry.countries}


@cache
def _alpha2_to_alpha3() -> dict[str, str]:
    return {c.alpha_2: c.alpha_3 for c in pycountry.countries}


@cache
def _subdivisions() -> dict[str, tuple[str, str]]:
    """ISO 3166-2 code -> (alpha-3 country, name)."""
    countries = _alpha2_to_alpha3()
    return {s.code: (countries.get(s.country_code, ""), s.name) for s in pycountry.subdivisions}


@cache
def _currencies() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def _languages() -> dict[str, str]:
    """ISO 639-1 and 639-3 codes -> ISO 639-3."""
    table: dict[str, str] = {}
    for language in pycountry.languages:
        table[language.alpha_3] = language.alpha_3
        if alpha_2 := getattr(language, "alpha_2", None):
            table[alpha_2] = language.alpha_3
    return table


def is_country(alpha3: str) -> bool:
    """An ISO 3166-1 alpha-3 code (upper case), e.g. TUR."""
    return alpha3 in _countries()


def country_name(alpha3: str) -> str:
    """The country's ISO short name, e.g. "Türkiye" for TUR; ValueError for an unknown code."""
    name = _countries().get(alpha3)
    if name is None:
        msg = f"{alpha3!r} is not an ISO 3166-1 alpha-3 country code"
        raise ValueError(msg)
    return name


def is_subdivision(code: str, country_alpha3: str) -> bool:
    """An ISO 3166-2 code (e.g. TR-27) of that country."""
    found = _subdivisions().get(code)
    return found is not None and found[0] == country_alpha3


def subdivision_name(code: str) -> str | None:
    """The subdivision's name, e.g. "Gaziantep" for TR-27; None for an unknown code."""
    found = _subdivisions().get(code)
    return found[1] if found else None


def is_currency(code: str) -> bool:
    """An ISO 4217 alpha-3 code (upper case), e.g. EUR."""
    return code in _currencies()


def is_language(code: str) -> bool:
    """An ISO 639-1 (two letters) or ISO 639-3 (three letters) code, lower case."""
    return code in _languages()


def normalise_language(code: str) -> str:
    """The ISO 639-3 code, so that ``ar`` and ``ara`` compare equal; ValueError for an unknown code."""
    found = _languages().get(code)
    if found is None:
        msg = f"{code!r} is not an ISO 639-1 or ISO 639-3 language code"
        raise ValueError(msg)
    return found
