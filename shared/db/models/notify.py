"""Tables owned by the notify service: who wants to hear what, and every delivery.

``deliveries`` has one row per (recipient, channel, kind, subject): its primary key is derived
from those four (``services.notify.domain.delivery_id``), so a redelivered match event, a
restart or a second notify worker cannot create a second alert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["DeliveryRow", "SubscriptionRow"]


class SubscriptionRow(Base):
    """A coordinator's filters, or an organisation's or donor's own channel, and how to reach them."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("recipient_kind IN ('coordinator', 'organisation', 'donor')", name="recipient_kind"),
        CheckConstraint("channel IN ('webhook', 'email', 'kafka')", name="channel"),
        CheckConstraint("digest IN ('off', 'hourly', 'daily')", name="digest"),
        CheckConstraint("channel = 'kafka' OR address IS NOT NULL", name="address_for_channel"),
        CheckConstraint("channel <> 'webhook' OR key_id IS NOT NULL", name="webhook_is_signed"),
    )

    subscription_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(100), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(500))
    key_id: Mapped[str | None] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(10), server_default="off")
    crisis_id: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(3))
    sector: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Who created it: the CloudEvents source of its first subscription.set, or the operator's actor
    # for drx subscribe add. Only it (or a coordinator) may replace or remove it; None before 0010.
    owner_source: Mapped[str | None] = mapped_column(String(200))


class DeliveryRow(Base):
    """One notification to one recipient on one channel, and what became of it.

    ``status``: ``pending`` (due at ``next_attempt_at``), ``held`` (waits for its digest),
    ``digested`` (sent inside digest ``digest_id``), ``sent``, or ``dead`` (gave up; ``last_error``
    says why).

    ``causing_event_id`` and ``correlation_id`` are those of the event that planned the delivery,
    so the audit records written when it is sent or dead-lettered name the same cause. A digest
    has no causing event and its own delivery id as correlation id (docs/notify.md); rows made
    before migration 0007 have neither.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'held', 'digested', 'sent', 'dead')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix__deliveries__due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix__deliveries__held", "subscription_id", postgresql_where=text("status = 'held'")),
        Index("ix__deliveries__need_id", "need_id"),
    )

    delivery_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(100))
    recipient_id: Mapped[str] = mapped_column(String(100))
    recipient_kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(500))
    key_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    match_id: Mapped[str | None] = mapped_column(String(100))
    need_id: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    digest_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    causing_event_id: Mapped[str | None] = mapped_column(String(200))
    correlation_id: Mapped[str | None] = mapped_column(String(200))
