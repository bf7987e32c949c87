"""Ingest's database edge: the source registry and the entity states."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Date, Select, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from services.ingest.domain import SourceInfo, Stored
from services.ingest.errors import RetryableConflictError
from shared.db.models import CrisisRow, NeedRow, PledgeRow, SourceRow
from shared.db.models.ingest import EntityRow
from shared.events import canonical
from shared.sources import scope_of

__all__ = ["CONSUMER", "EntityKind", "IngestRepository"]

CONSUMER = "ingest"
EntityKind = Literal["crisis", "need", "pledge"]
_TABLES: dict[EntityKind, type[EntityRow]] = {
    "crisis": CrisisRow,
    "need": NeedRow,
    "pledge": PledgeRow,
}


class IngestRepository:
    """All SQL ingest runs, inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def source(self, source: str) -> SourceInfo | None:
        row = await self._session.get(SourceRow, source)
        if row is None:
            return None
        return SourceInfo(
            source=row.source,
            role=row.role,  # type: ignore[arg-type]
            party_id=row.party_id,
            display_name=row.display_name,
            revoked_on=row.revoked_at,
            revoked_reason=row.revoked_reason,
            scope=scope_of(row),
        )

    async def load(self, kind: EntityKind, entity_id: str, *, lock: bool = True) -> Stored | None:
        table = _TABLES[kind]
        query = select(table).where(table.__table__.primary_key.columns.values()[0] == entity_id)  # type: ignore[attr-defined]
        if lock:
            query = query.with_for_update()
        # The row as the database has it now: in a batch, an earlier record may have upserted it
        # with SQL since the session first loaded it.
        row = await self._session.scalar(query.execution_options(populate_existing=True))
        if row is None:
            return None
        return Stored(source=row.source, revision=row.revision, status=row.status, state=row.state)

    async def crises(self, crisis_ids: tuple[str, ...]) -> dict[str, Stored | None]:
        return {crisis_id: await self.load("crisis", crisis_id, lock=False) for crisis_id in crisis_ids}

    async def open_needs_of(self, crisis_id: str) -> list[dict[str, Any]]:
        rows = await self._session.scalars(
            select(NeedRow).where(NeedRow.crisis_id == crisis_id, NeedRow.status == "open").with_for_update()
        )
        return [row.state for row in rows]

    async def save(self, record: BaseModel, *, expect_new: bool) -> None:
        """Upsert a canonical state, never over a newer revision.

        ``expect_new`` says the caller found no row; if one appeared meanwhile (a concurrent
        first post of the same id), the message is retried so the decision sees it.
        """
        state = record.model_dump(mode="json", exclude_none=True)
        common = {
            "source": state["source"],
            "revision": state["revision"],
            "status": state["status"],
            "state": state,
        }
        table: type[EntityRow]
        values: dict[str, str | None]
        match record:
            case canonical.CrisisRecorded():
                table, values = CrisisRow, {"crisis_id": record.crisis_id}
            case canonical.NeedRecorded():
                table, values = (
                    NeedRow,
                    {
                        "need_id": record.need_id,
                        "crisis_id": record.crisis_id,
                        "organisation_id": record.organisation.id,
                    },
                )
            case canonical.PledgeRecorded():
                table, values = (
                    PledgeRow,
                    {
                        "pledge_id": record.pledge_id,
                        "crisis_id": record.crisis_id,
                        "donor_id": record.donor.id,
                    },
                )
            case _:  # pragma: no cover - only the three entity kinds are stored
                msg = f"cannot store {type(record).__name__}"
                raise TypeError(msg)
        row = insert(table).values(**values, **common)
        key = next(iter(values))
        # A changed need or pledge (an extended date, say) earns a fresh expiry reminder.
        reset = {} if table is CrisisRow else {"reminded_at": None}
        upsert: ReturningInsert[tuple[bool]] = row.on_conflict_do_update(
            index_elements=[key],
            set_={**common, **reset, "updated_at": text("now()")},
            where=table.revision < row.excluded.revision,
        ).returning(literal_column("(xmax = 0)"))
        inserted = await self._session.scalar(upsert)
        if inserted is None or (expect_new and not inserted):
            msg = f"{key} {values[key]!r} was written concurrently"
            raise RetryableConflictError(msg)

    async def live_ending_by(
        self, kind: Literal["need", "pledge"], until: dt.date
    ) -> list[NeedRow] | list[PledgeRow]:
        """Open needs / active pledges whose date is on or before ``until``, locked, others skipped.

        ``SKIP LOCKED``: a row an event is changing right now is left for the next run.
        """
        if kind == "need":
            due = NeedRow.state["needed_by"].astext.cast(Date) <= until
            return list(await self._session.scalars(_locked_live(NeedRow, "open", due)))
        due = PledgeRow.state["expires_on"].astext.cast(Date) <= until
        return list(await self._session.scalars(_locked_live(PledgeRow, "active", due)))

    async def mark_reminded(self, row: NeedRow | PledgeRow, at: dt.datetime) -> None:
        row.reminded_at = at
        await self._session.flush()


_Row = TypeVar("_Row", NeedRow, PledgeRow)


def _locked_live(table: type[_Row], live: str, due: ColumnElement[bool]) -> Select[_Row]:
    return select(table).where(table.status == live, due).with_for_update(skip_locked=True)
