"""``drx reference items|skills SEARCH``: the codes an integrator must post, found by name.

Without these an integrator's only way to learn an item's code or the units it accepts was to
post a guess and read the refusal. Both read the packaged reference data, so they need no
servers; a search that finds nothing exits 1, so a script can tell "no such item" from a list.
"""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.common import FormatOption, err, listing, one_of

__all__ = ["reference_app"]

reference_app = typer.Typer(no_args_is_help=True, help="The reference data posts must use: items, skills.")

_SEARCH = typer.Argument(help="Text the name or code contains (any case), e.g. tarpaulin")
_LIMIT = typer.Option(help="At most this many")


def skill_matches(search: str, limit: int) -> list[tuple[str, str, str | None]]:
    """Skills whose code or name contains ``search`` (any case): codes starting with it first,
    then in code order, so ``medical`` lists ``medical`` before ``medical.nursing``."""
    from shared.reference.skills import load_skills  # noqa: PLC0415 - keeps `drx --help` quick

    needle = " ".join(search.split()).casefold()
    found = [
        (s.code, s.name, s.sector.value if s.sector else None)
        for s in load_skills()
        if needle and (needle in s.code or needle in " ".join(s.name.split()).casefold())
    ]
    found.sort(key=lambda s: (not s[0].startswith(needle), s[0]))
    return found[:limit]


@reference_app.command("items")
def reference_items_command(
    search: Annotated[str, _SEARCH],
    limit: Annotated[int, _LIMIT] = 20,
    fmt: FormatOption = "table",
) -> None:
    """Catalogue items by name or code: code, name, category, sector and every unit accepted."""
    from shared.reference.catalogue import load_catalogue  # noqa: PLC0415 - keeps `drx --help` quick

    one_of("--format", fmt, ("table", "json"))
    catalogue = load_catalogue()
    by_code = [item for item in catalogue if search.strip().casefold() in item.code.casefold()]
    found = list({item.code: item for item in [*by_code, *catalogue.search(search, limit)]}.values())[:limit]
    if not found:
        err.print(f"no catalogue item's name or code contains {search!r}")
        raise typer.Exit(1)
    listing(
        fmt,
        (
            {
                "code": item.code,
                "name": item.name,
                "category": item.category,
                "sector": item.sector.value if item.sector else None,
                "units": list(item.accepted_units()) if fmt == "json" else ", ".join(item.accepted_units()),
            }
            for item in found
        ),
        columns=("code", "name", "category", "sector", "units"),
        ids=("code",),
    )


@reference_app.command("skills")
def reference_skills_command(
    search: Annotated[str, _SEARCH],
    limit: Annotated[int, _LIMIT] = 20,
    fmt: FormatOption = "table",
) -> None:
    """Skills by name or code: the dotted code a skills pledge or need names, and its sector."""
    one_of("--format", fmt, ("table", "json"))
    found = skill_matches(search, limit)
    if not found:
        err.print(f"no skill's name or code contains {search!r}")
        raise typer.Exit(1)
    listing(
        fmt,
        ({"code": code, "name": name, "sector": sector} for code, name, sector in found),
        columns=("code", "name", "sector"),
        ids=("code",),
    )
