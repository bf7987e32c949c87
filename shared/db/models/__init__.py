"""All ORM models, imported here so ``Base.metadata`` is complete for Alembic.

Tables are grouped by owning service; a service writes only its own tables.
"""

from shared.db.models.ingest import CrisisRow, NeedRow, PledgeRow, SourceRow
from shared.db.models.messaging import OutboxMessage, ProcessedEvent

__all__ = ["CrisisRow", "NeedRow", "OutboxMessage", "PledgeRow", "ProcessedEvent", "SourceRow"]
