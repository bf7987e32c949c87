"""``drx reference items|skills SEARCH``: the codes an integrator must post, found by name.

Without these an integrator's only way to learn an item's code or the units it accepts was to
post a guess and read the refusal. Both read the packaged reference data, so they need no
servers; a search that finds nothing exits 1, so a script can tell "no such item" from a list.
"""

# ruff: noqa: PLC0415 - the reference data and the database are loaded inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli import common
from services.cli.common import FormatOption, console, err, listing, one_of, with_session

if TYPE_CHECKING:
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["reference_app", "store_rates"]

reference_app = typer.Typer(no_args_is_help=True, help="The reference data posts must use: items, skills.")

_SEARCH = typer.Argument(help="Text the name or code contains (any case), e.g. tarpaulin")
_LIMIT = typer.Option(help="At most this many")


def skill_matches(search: str, limit: int) -> list[tuple[str, str, str | None]]:
    """Skills whose code or name contains ``search`` (any case): codes starting with it first,
    then in code order, so ``medical`` lists ``medical`` before ``medical.nursing``."""
    from shared.reference.skills import load_skills

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
    from shared.reference.catalogue import load_catalogue

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


rates_app = typer.Typer(
    no_args_is_help=True, help="Exchange rates: load a published file, list what is stored."
)
reference_app.add_typer(rates_app, name="rates")


@rates_app.command("load")
def rates_load_command(
    file: Annotated[Path, typer.Argument(help="The ECB's eurofxref.csv (rates per 1 EUR, one dated row)")],
) -> None:
    """Store a dated ECB reference rate file as rates per US dollar; a day loaded again is replaced."""
    from shared.reference.ecb import EcbFormatError, parse_eurofxref

    try:
        rows = parse_eurofxref(file.read_text(encoding="utf-8-sig"))
    except OSError as error:
        err.print(f"[red]cannot read {file}: {error.strerror}[/red]")
        raise typer.Exit(2) from None
    except EcbFormatError as error:
        err.print(f"[red]{file} is not an ECB reference rate file: {error}[/red]")
        raise typer.Exit(2) from None
    stored = asyncio.run(with_session(common.settings(), lambda s: store_rates(s, rows, source=file.name)))
    days = sorted({day for day, _, _ in rows})
    console.print(f"stored {stored} rates for {', '.join(map(str, days))} from {file.name}")


async def store_rates(session: AsyncSession, rows: list[tuple[dt.date, str, Decimal]], *, source: str) -> int:
    """Insert or replace each (day, currency) rate, in one transaction."""
    from sqlalchemy import func
    from sqlalchemy.dialects.postgresql import insert

    from shared.db.models import FxRateRow

    values = [{"day": d, "currency": c, "units_per_usd": r, "source": source} for d, c, r in rows]
    statement = insert(FxRateRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[FxRateRow.day, FxRateRow.currency],
        set_={"units_per_usd": statement.excluded.units_per_usd, "source": source, "loaded_at": func.now()},
    )
    await session.execute(statement)
    await session.commit()
    return len(values)


@rates_app.command("list")
def rates_list_command(
    currency: Annotated[str | None, typer.Option(help="Only this currency, e.g. EUR")] = None,
    fmt: FormatOption = "table",
) -> None:
    """The stored rates, newest day first, with the file each came from."""
    one_of("--format", fmt, ("table", "json"))
    from sqlalchemy import select

    from shared.db.models import FxRateRow

    async def load(session: AsyncSession) -> list[dict[str, object]]:
        query = select(FxRateRow).order_by(FxRateRow.day.desc(), FxRateRow.currency)
        if currency:
            query = query.where(FxRateRow.currency == currency.upper())
        keys = ("day", "currency", "units_per_usd", "source")
        return [{k: getattr(r, k) for k in keys} for r in await session.scalars(query)]

    records = asyncio.run(with_session(common.settings(), load))
    listing(fmt, records, columns=("day", "currency", "units_per_usd", "source"))
