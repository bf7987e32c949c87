"""All ORM models, imported here so ``Base.metadata`` is complete for Alembic.

Tables are grouped by owning service; a service writes only its own tables.
"""

from shared.db.models.audit import AuditRecordRow
from shared.db.models.ingest import CrisisRow, NeedRow, PledgeRow, SourceRow
from shared.db.models.matching import MatchingCrisisRow, MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.db.models.messaging import OutboxMessage, ProcessedEvent
from shared.db.models.notify import DeliveryRow, SubscriptionRow, WebhookSecretRow
from shared.db.models.reference import FxRateRow
from shared.db.models.scheduling import JobRunRow

__all__ = [
    "AuditRecordRow",
    "CrisisRow",
    "DeliveryRow",
    "FxRateRow",
    "JobRunRow",
    "MatchRow",
    "MatchingCrisisRow",
    "MatchingNeedRow",
    "MatchingPledgeRow",
    "NeedRow",
    "OutboxMessage",
    "PledgeRow",
    "ProcessedEvent",
    "SourceRow",
    "SubscriptionRow",
    "WebhookSecretRow",
]
