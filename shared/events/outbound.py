"""What the services decide: matches, notifications, audit records, and rejected input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.common import Category, EntityId

__all__ = [
    "AuditCheckpoint",
    "AuditRecorded",
    "ExpiryReminder",
    "InputRejected",
    "MatchContext",
    "MatchStatus",
    "MatchUpdated",
    "NeedContext",
    "NeedCoverage",
    "NotificationSent",
]

MatchStatus = Literal["proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NeedContext(_Data):
    """What a person needs to act on a need without looking anything up: names, place, dates."""

    need_title: str
    organisation_name: str
    sector: str
    urgency: str
    needed_by: dt.date
    country: str = Field(description="ISO 3166-1 alpha-3 of the need's place.")
    admin_area: str | None = None
    place_name: str | None = None


class MatchContext(NeedContext):
    """The need's context and who offers what."""

    pledge_title: str
    donor_name: str


class MatchUpdated(_Data):
    """A match between a pledge and a need, in its current status (one event type per status)."""

    match_id: EntityId
    need_id: EntityId
    pledge_id: EntityId
    crisis_id: EntityId
    category: Category
    quantity: Decimal = Field(
        gt=0,
        description="Proposed, then confirmed, in `unit`: the need's base unit, or USD for funds. A "
        "fulfilled match keeps its confirmed quantity here; what arrived is `delivered_quantity`.",
    )
    delivered_quantity: Decimal | None = Field(
        default=None,
        gt=0,
        description="Fulfilled matches only: how much arrived, in `unit`, at most `quantity`. Less is a "
        "short delivery: the need's shortfall is open again, and the pledge's undelivered part is offered "
        "again.",
    )
    unit: str
    status: MatchStatus
    explanation: str = Field(description="Why this pledge for this need, in one or two sentences.")
    organisation_id: EntityId
    donor_id: EntityId
    reason: str | None = None
    revision: int = Field(ge=1)
    context: MatchContext


class NeedCoverage(_Data):
    """A need's ledger after its coverage status changed; ``filled`` once confirmed + fulfilled cover it."""

    need_id: EntityId
    crisis_id: EntityId
    organisation_id: EntityId
    category: Category
    status: Literal["open", "partially covered", "covered", "closed", "closed with shortfall", "withdrawn"]
    filled: bool
    quantity: Decimal = Field(description="Needed, in `unit`.")
    proposed: Decimal
    confirmed: Decimal
    fulfilled: Decimal
    unit: str
    context: NeedContext


class ExpiryReminder(_Data):
    """A need or pledge reaches its date soon: its owner may extend it (post an update) or let it lapse."""

    entity_type: Literal["need", "pledge"]
    entity_id: EntityId
    owner_kind: Literal["organisation", "donor"]
    owner_id: EntityId
    title: str
    crisis_id: EntityId | None = None
    category: Category
    expires_on: dt.date = Field(description="The need's needed-by date or the pledge's expiry date.")
    days_left: int = Field(ge=0)
    unallocated: Decimal | None = Field(
        default=None, description="Still uncovered (need) or unpromised (pledge), when known, in `unit`."
    )
    unit: str | None = None


class NotificationSent(_Data):
    """A message drx sent (or queued) to a person or system about a match or a need."""

    notification_id: str
    recipient_id: str
    recipient_kind: Literal["coordinator", "organisation", "donor", "system"]
    channel: Literal["webhook", "email", "kafka"]
    kind: str
    subject: str
    text: str
    match_id: EntityId | None = None
    need_id: EntityId | None = None


class AuditRecorded(_Data):
    """One append-only, hash-chained record of a state change."""

    seq: int = Field(ge=1)
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    causing_event_id: str | None = None
    correlation_id: str | None = None
    prev_hash: str
    hash: str


class AuditCheckpoint(_Data):
    """A signed checkpoint of the audit chain: record ``seq`` had hash ``hash`` when signed at ``at``."""

    seq: int = Field(ge=1)
    hash: str
    at: dt.datetime = Field(description="When it was signed, as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC).")
    key_id: str = Field(description="The first 16 hex digits of the SHA-256 of the raw public key.")
    signature: str = Field(
        description="Base64 of the Ed25519 signature over `drx audit checkpoint v1\\n` followed by the "
        "canonical JSON of seq, hash, at and key_id (docs/audit.md). Trust the checkpoint only when it "
        "verifies with your copy of the public key."
    )


class InputRejected(_Data):
    """An inbound message ingest could not accept, with the reason and where it came from."""

    reason: str = Field(description="Precise and human-readable: what is wrong and where.")
    source_topic: str
    source_partition: int
    source_offset: int
    original_base64: str = Field(
        description="The original Kafka value, byte for byte, up to 64 KiB (the intake limit); "
        "a longer record keeps only its first 64 KiB here, and original_truncated is true."
    )
    original_text: str | None = Field(
        default=None, description="The original value when it is whole, UTF-8 and free of NUL characters."
    )
    original_length: int | None = Field(default=None, description="The original value's length in bytes.")
    original_sha256: str | None = Field(
        default=None, description="SHA-256 of the whole original value, in hex."
    )
    original_truncated: bool = Field(
        default=False, description="True when original_base64 holds only a prefix."
    )
    original_redacted: bool = Field(
        default=False,
        description="True when contact details (email addresses, URLs) in the original were redacted "
        "before it was kept here; original_length and original_sha256 are still those of the original.",
    )
    event_id: str | None = None
    event_type: str | None = None
    event_source: str | None = None
