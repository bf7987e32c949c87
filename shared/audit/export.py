"""Reading the chain out: in ``seq`` order, a window of it by time, as JSON Lines or CSV.

Both formats carry every hashed field, so an export verifies on its own with the script in
docs/audit.md; CSV adds an HXL hashtag row so humanitarian tools can read it as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import IO, Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.chain import AuditRecord, canonical_json
from shared.db.models import AuditRecordRow

__all__ = [
    "CSV_COLUMNS",
    "HXL_TAGS",
    "export_range",
    "iter_records",
    "jsonl_line",
    "record_writer",
    "write_csv",
]

CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "causing_event_id",
    "correlation_id",
    "prev_hash",
    "hash",
)
# HXL hashtags (https://hxlstandard.org) where a column has one; docs/audit.md says why.
HXL_TAGS: dict[str, str] = {
    "seq": "#meta+seq",
    "at": "#date",
    "actor": "#meta+actor",
    "action": "#meta+action",
    "entity_type": "#meta+entity+type",
    "entity_id": "#meta+entity+id",
}


def jsonl_line(rec: AuditRecord) -> str:
    """One JSON Lines line (no newline): every field, ``before``/``after`` as objects."""
    return json.dumps(rec.as_json(), ensure_ascii=False, separators=(",", ":"))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return canonical_json(value).decode("utf-8")
    return str(value)


def record_writer(export_format: Literal["jsonl", "csv"], out: IO[str]) -> Callable[[AuditRecord], None]:
    """A function that writes one record to ``out`` in ``export_format``; CSV's two header rows first.

    CSV (RFC 4180): a header row, the HXL hashtag row, then one row per record; ``before`` and
    ``after`` are canonical JSON text, absent values empty cells. JSON Lines: :func:`jsonl_line`.
    """
    if export_format == "jsonl":

        def write_line(rec: AuditRecord) -> None:
            out.write(jsonl_line(rec) + "\n")

        return write_line
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerow([HXL_TAGS.get(column, "") for column in CSV_COLUMNS])

    def write_row(rec: AuditRecord) -> None:
        fields = rec.as_json()
        writer.writerow([_cell(fields[column]) for column in CSV_COLUMNS])

    return write_row


def write_csv(records: Iterable[AuditRecord], out: IO[str]) -> int:
    """All ``records`` as CSV (see :func:`record_writer`); returns how many."""
    write = record_writer("csv", out)
    count = 0
    for rec in records:
        write(rec)
        count += 1
    return count


# --- from the database ------------------------------------------------------------------------


async def iter_records(
    session: AsyncSession, *, first_seq: int = 1, last_seq: int | None = None, batch_size: int = 1000
) -> AsyncIterator[AuditRecord]:
    """Records ``first_seq..last_seq`` in ``seq`` order, read in batches by key (``seq > last``)."""
    last = first_seq - 1
    while True:
        query = select(AuditRecordRow).where(AuditRecordRow.seq > last)
        if last_seq is not None:
            query = query.where(AuditRecordRow.seq <= last_seq)
        rows = (await session.scalars(query.order_by(AuditRecordRow.seq).limit(batch_size))).all()
        for row in rows:
            yield AuditRecord.from_row(row)
        if len(rows) < batch_size:
            return
        last = rows[-1].seq
        session.expunge_all()  # keep memory flat on a long chain


async def export_range(
    session: AsyncSession, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> tuple[int, int] | None:
    """The contiguous ``seq`` range from the first record at or after ``since`` to the last before ``until``.

    A record's time is when its change was made, its place when its transaction committed, so
    the two orders can differ by moments; exporting a contiguous stretch of the chain keeps the
    export verifiable, at the price of records at its edges lying a moment outside the window.
    None when no record falls in the window.
    """
    first_query = select(func.min(AuditRecordRow.seq))
    if since is not None:
        first_query = first_query.where(AuditRecordRow.at >= since)
    last_query = select(func.max(AuditRecordRow.seq))
    if until is not None:
        last_query = last_query.where(AuditRecordRow.at < until)
    first, last = await session.scalar(first_query), await session.scalar(last_query)
    if first is None or last is None or first > last:
        return None
    return first, last
