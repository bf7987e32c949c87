"""``drx matches``, ``drx coverage`` and ``drx deliveries``: read what the workers have recorded.

Matches and coverage come from matching's query module, deliveries from notify's table; every
command only reads, in one session, and prints a table (or JSON with ``--format json``).
"""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from services.cli import common
from services.cli.common import FormatOption, console, listing, one_of, with_session

if TYPE_CHECKING:
    from decimal import Decimal

    from sqlalchemy.ext.asyncio import AsyncSession

    from shared.db.models import DeliveryRow

__all__ = ["coverage_command", "delivered_cell", "deliveries_command", "matches_command"]


def matches_command(
    crisis: Annotated[str | None, typer.Option(help="Only this crisis")] = None,
    status: Annotated[
        str | None, typer.Option(help="proposed, confirmed, rejected, expired, fulfilled, cancelled")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
    fmt: FormatOption = "table",
) -> None:
    """List matches with their status and why they were proposed."""
    from services.matching.queries import list_matches

    one_of("--format", fmt, ("table", "json"))
    one_of("--status", status, ("proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled"))

    rows = asyncio.run(
        with_session(
            common.settings(), lambda s: list_matches(s, crisis_id=crisis, status=status, limit=limit)
        )
    )
    listing(
        fmt,
        (
            {
                "match_id": m.match_id,
                "status": m.status,
                "crisis_id": m.crisis_id,
                "need_id": m.need_id,
                "pledge_id": m.pledge_id,
                "quantity": m.quantity,
                "unit": m.unit,
                "delivered_quantity": m.delivered_quantity,
                "delivered": delivered_cell(m.quantity, m.delivered_quantity, m.unit),
                "why": m.explanation,
            }
            for m in rows
        ),
        columns=("match_id", "status", "need_id", "pledge_id", "quantity", "unit", "delivered", "why"),
        ids=("match_id", "need_id", "pledge_id"),
    )


def delivered_cell(quantity: Decimal, delivered: Decimal | None, unit: str) -> str:
    """What arrived of a fulfilled match: "80 of 100 piece" when short; empty before fulfilment."""
    if delivered is None:
        return ""
    if delivered < quantity:
        return f"{delivered.normalize():f} of {quantity.normalize():f} {unit}"
    return f"{delivered.normalize():f} {unit}"


def coverage_command(
    crisis: Annotated[str | None, typer.Option(help="Only this crisis")] = None,
    fmt: FormatOption = "table",
) -> None:
    """Per crisis and sector: needed, proposed, confirmed, fulfilled, covered, shortfall, available.

    ``covered`` is confirmed plus fulfilled. ``available`` is the free capacity of the pledges that
    may serve the row: a pledge that may serve several rows is shown in each, and counted once in
    its crisis's ``(all sectors)`` total row (docs/matching.md, "Coverage").
    """
    from services.matching.queries import coverage

    one_of("--format", fmt, ("table", "json"))

    rows = asyncio.run(with_session(common.settings(), lambda s: coverage(s, crisis_id=crisis)))
    columns = ("crisis_id", "sector", "category", "unit", *_COVERAGE_NUMBERS, "pledges", "needs")
    listing(
        fmt,
        (
            {
                "crisis_id": r.crisis_id,
                "sector": r.sector,
                "category": r.category,
                "unit": r.unit,
                **{name: getattr(r, name) for name in _COVERAGE_NUMBERS},
                "pledges": r.pledges,
                "needs": dict(sorted(r.needs_by_status.items()))
                if fmt == "json"
                else _needs(r.needs_by_status),
            }
            for r in rows
        ),
        columns=columns,
        ids=("crisis_id",),
    )


# ``available`` counts a pledge in every row it may serve, once in its crisis's total row.
_COVERAGE_NUMBERS = ("needed", "proposed", "confirmed", "fulfilled", "covered", "shortfall", "available")


def _needs(by_status: dict[str, int]) -> str:
    return ", ".join(f"{count} {label}" for label, count in sorted(by_status.items()))


def deliveries_command(
    status: Annotated[str | None, typer.Option(help="pending, held, digested, sent or dead")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
) -> None:
    """List notification deliveries; `--status dead` shows the dead letters with their last error."""
    from sqlalchemy import select

    one_of("--status", status, ("pending", "held", "digested", "sent", "dead"))

    from shared.db.models import DeliveryRow

    async def load(session: AsyncSession) -> list[DeliveryRow]:
        query = select(DeliveryRow).order_by(DeliveryRow.created_at.desc()).limit(limit)
        if status:
            query = query.where(DeliveryRow.status == status)
        return list(await session.scalars(query))

    table = Table("delivery", "status", "kind", "recipient", "channel", "attempts", "subject", "last error")
    for d in asyncio.run(with_session(common.settings(), load)):
        table.add_row(
            d.delivery_id,
            d.status,
            d.kind,
            d.recipient_id,
            d.channel,
            str(d.attempts),
            d.subject,
            d.last_error or "",
        )
    console.print(table)
