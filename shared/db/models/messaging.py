"""The two tables every worker uses for exactly-once effect over Kafka.

- ``processed_events`` (inbox): a worker records each event id it has applied, in the same
  transaction as the effect. A redelivered event hits the primary key and is skipped.
- ``outbox``: events a worker wants to publish are inserted in the same transaction as the state
  change that causes them; a relay publishes them and marks them sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["OutboxMessage", "ProcessedEvent"]


class ProcessedEvent(Base):
    """One row per (consumer, event id) that a consumer has applied."""

    __tablename__ = "processed_events"
    __table_args__ = (Index("ix__processed_events__processed_at", "processed_at"),)

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxMessage(Base):
    """An event waiting to be published (``published_at`` is NULL), published, or parked with its error."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix__outbox__pending", "id", postgresql_where=text("published_at IS NULL AND parked_at IS NULL")
        ),
        Index("ix__outbox__parked", "id", postgresql_where=text("parked_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249))
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    parked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # set aside, see error
    error: Mapped[str | None] = mapped_column(Text)  # why the broker refused it
