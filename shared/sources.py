"""The source registry: which CloudEvents ``source`` may post what, for which organisation or donor.

Managed with ``drx sources add|list``. Ingest reads it for every inbound event; see
docs/security.md for how Kafka principals map to sources in production.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.config import DatabaseSettings
from shared.db.models import SourceRow
from shared.db.session import create_engine, create_session_factory

__all__ = ["ROLES", "add_source", "list_sources"]

ROLES = ("organisation", "donor", "coordinator")
_MAX_SOURCE = 200


async def add_source(settings: DatabaseSettings, source: str, role: str, party_id: str, name: str) -> None:
    if role not in ROLES:
        msg = f"role must be one of {', '.join(ROLES)}, not {role!r}"
        raise ValueError(msg)
    if not source.strip() or len(source) > _MAX_SOURCE:
        msg = "source must be 1 to 200 characters"
        raise ValueError(msg)
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine).begin() as session:
            statement = insert(SourceRow).values(
                source=source, role=role, party_id=party_id, display_name=name
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["source"],
                    set_={"role": role, "party_id": party_id, "display_name": name},
                )
            )
    finally:
        await engine.dispose()


async def list_sources(settings: DatabaseSettings) -> list[tuple[str, str, str, str]]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.scalars(select(SourceRow).order_by(SourceRow.source))
            return [(r.source, r.role, r.party_id, r.display_name) for r in rows]
    finally:
        await engine.dispose()
