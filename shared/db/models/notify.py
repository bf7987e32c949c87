"""Tables owned by the notify service: who wants to hear what, their webhook secrets, every delivery.

``deliveries`` has one row per (recipient, channel, kind, subject): its primary key is derived
from those four (``services.notify.domain.delivery_id``), so a redelivered match event, a
restart or a second notify worker cannot create a second alert.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["DeliveryRow", "SubscriptionRow", "WebhookSecretRow"]


class SubscriptionRow(Base):
    """A coordinator's filters, or an organisation's or donor's own channel, and how to reach them."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("recipient_kind IN ('coordinator', 'organisation', 'donor')", name="recipient_kind"),
        CheckConstraint("channel IN ('webhook', 'email', 'kafka')", name="channel"),
        CheckConstraint("digest IN ('off', 'hourly', 'daily')", name="digest"),
        CheckConstraint("channel = 'kafka' OR address IS NOT NULL", name="address_for_channel"),
    )

    subscription_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(100), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(500))
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


class WebhookSecretRow(Base):
    """A webhook subscription's signing secret, sealed (``services/notify/sealing.py``), one row per version.

    The current secret has no ``retires_at``; after a rotation the one it replaced signs too
    until ``retires_at`` (the overlap), and rows past it are deleted at the next rotation.
    ``revealed_at`` is when the secret was shown (once). The plaintext is never stored.
    """

    __tablename__ = "webhook_secrets"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version"),
        Index(
            "uq__webhook_secrets__current",
            "subscription_id",
            unique=True,
            postgresql_where=text("retires_at IS NULL"),
        ),
    )

    subscription_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("subscriptions.subscription_id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16))  # which DRX_NOTIFY_SECRETS_KEY sealed it
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    retires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


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
