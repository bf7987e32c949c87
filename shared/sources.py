"""The source registry: which CloudEvents ``source`` may post what, for which organisation or donor.

Managed with ``drx sources add|list``. Ingest reads it for every inbound event; see
docs/security.md for how Kafka principals map to sources in production. Every change to it
writes an audit record (docs/audit.md).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared import audit
from shared.config import DatabaseSettings, KafkaSettings, Settings
from shared.db.models import SourceRow
from shared.db.session import create_engine, create_session_factory

__all__ = ["ROLES", "add_source", "list_sources"]

ROLES = ("organisation", "donor", "coordinator")
_MAX_SOURCE = 200


async def add_source(
    settings: Settings | DatabaseSettings,
    source: str,
    role: str,
    party_id: str,
    name: str,
    *,
    actor: str | None = None,
    topic_prefix: str | None = None,
) -> None:
    """Register or re-register ``source``, with its audit record (``source.added`` / ``source.changed``).

    The audit event goes to the audit topic under ``topic_prefix``, else the prefix of
    ``settings`` when they are whole :class:`Settings`, else ``DRX_KAFKA_TOPIC_PREFIX`` (the
    command line's case: it reads the same environment). ``actor`` defaults to ``cli:<login>``.
    """
    if role not in ROLES:
        msg = f"role must be one of {', '.join(ROLES)}, not {role!r}"
        raise ValueError(msg)
    if not source.strip() or len(source) > _MAX_SOURCE:
        msg = "source must be 1 to 200 characters"
        raise ValueError(msg)
    if isinstance(settings, Settings):
        database, prefix = settings.database, topic_prefix or settings.kafka.topic_prefix
    else:
        database, prefix = settings, topic_prefix or KafkaSettings().topic_prefix
    engine = create_engine(database)
    try:
        async with create_session_factory(engine).begin() as session:
            row = await session.scalar(select(SourceRow).where(SourceRow.source == source).with_for_update())
            before = _registration(row.role, row.party_id, row.display_name) if row is not None else None
            after = _registration(role, party_id, name)
            if before == after:
                return  # nothing changes, nothing to record
            statement = insert(SourceRow).values(
                source=source, role=role, party_id=party_id, display_name=name
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["source"],
                    set_={"role": role, "party_id": party_id, "display_name": name},
                )
            )
            entry = audit.AuditEntry(
                actor=audit.cli_actor(actor),
                action="source.added" if before is None else "source.changed",
                entity_type="source",
                entity_id=source,
                before=before,
                after=after,
            )
            audit.record(session, prefix, entry)
    finally:
        await engine.dispose()


def _registration(role: str, party_id: str, name: str) -> dict[str, str]:
    return {"role": role, "party_id": party_id, "display_name": name}


async def list_sources(settings: DatabaseSettings) -> list[tuple[str, str, str, str]]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.scalars(select(SourceRow).order_by(SourceRow.source))
            return [(r.source, r.role, r.party_id, r.display_name) for r in rows]
    finally:
        await engine.dispose()
