"""Tables owned by the matching service.

The allocation invariants live here as CHECK constraints, so no code path (and no number of
racing workers) can store a need or pledge with more allocated than its quantity:
``proposed + confirmed + fulfilled <= quantity`` for needs, ``allocated <= quantity`` for pledges.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["MatchRow", "MatchingCrisisRow", "MatchingNeedRow", "MatchingPledgeRow"]

_QTY = Numeric(18, 4)


class MatchingCrisisRow(Base):
    __tablename__ = "m_crises"

    crisis_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)


class _Offer:
    """Columns needs and pledges share: what is offered or wanted, where, and how much."""

    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    category: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)
    country: Mapped[str] = mapped_column(String(3))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    match_keys: Mapped[list[str]] = mapped_column(ARRAY(String(300)))
    item_code: Mapped[str | None] = mapped_column(String(200))
    item_description: Mapped[str | None] = mapped_column(String(200))
    substitution_group: Mapped[str | None] = mapped_column(String(300))
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(100)), server_default=text("'{}'"))
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(3)), server_default=text("'{}'"))
    mode: Mapped[str] = mapped_column(String(10), server_default="either")
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(_QTY)
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)


class MatchingNeedRow(_Offer, Base):
    __tablename__ = "m_needs"
    __table_args__ = (
        CheckConstraint(
            "proposed >= 0 AND confirmed >= 0 AND fulfilled >= 0"
            " AND proposed + confirmed + fulfilled <= quantity",
            name="ledger_within_quantity",
        ),
        Index(
            "ix__m_needs__open_keys",
            "match_keys",
            postgresql_using="gin",
            postgresql_where=text("status = 'open'"),
        ),
        Index(  # funds needs in matching's order, organisation by organisation (repository.needs_for)
            "ix__m_needs__turns",
            "category",
            "urgency",
            "organisation_id",
            "needed_by",
            "seq",
            postgresql_where=text("status = 'open' AND proposed + confirmed + fulfilled < quantity"),
        ),
    )

    need_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    crisis_id: Mapped[str] = mapped_column(String(100), index=True)
    organisation_id: Mapped[str] = mapped_column(String(100))
    sector: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(10))
    needed_by: Mapped[dt.date] = mapped_column(Date)
    proposed: Mapped[Decimal] = mapped_column(_QTY, server_default="0")
    confirmed: Mapped[Decimal] = mapped_column(_QTY, server_default="0")
    fulfilled: Mapped[Decimal] = mapped_column(_QTY, server_default="0")


class MatchingPledgeRow(_Offer, Base):
    __tablename__ = "m_pledges"
    __table_args__ = (
        CheckConstraint("allocated >= 0 AND allocated <= quantity", name="allocated_within_quantity"),
        Index(
            "ix__m_pledges__active_keys",
            "match_keys",
            postgresql_using="gin",
            postgresql_where=text("status = 'active'"),
        ),
        Index(  # funds pledges with capacity left, by expiry (repository.pledges_for)
            "ix__m_pledges__capacity",
            "category",
            "unit",
            "expires_on",
            "seq",
            postgresql_where=text("status = 'active' AND allocated < quantity"),
        ),
    )

    pledge_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    donor_id: Mapped[str] = mapped_column(String(100))
    crisis_id: Mapped[str | None] = mapped_column(String(100))
    available_from: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    earmark_crises: Mapped[list[str]] = mapped_column(ARRAY(String(100)), server_default=text("'{}'"))
    earmark_countries: Mapped[list[str]] = mapped_column(ARRAY(String(3)), server_default=text("'{}'"))
    earmark_sectors: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'"))
    travel_radius_km: Mapped[float | None] = mapped_column(Float)
    allocated: Mapped[Decimal] = mapped_column(_QTY, server_default="0")


class MatchRow(Base):
    """A proposal and what became of it. Quantities count in the need's unit."""

    __tablename__ = "matches"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="positive_quantity"),
        CheckConstraint(
            "status IN ('proposed', 'confirmed', 'rejected', 'expired', 'fulfilled', 'cancelled')",
            name="status",
        ),
        # A fulfilled match, and only a fulfilled one, says how much arrived: at most what was
        # confirmed (a short delivery is less; docs/matching.md says where the rest goes).
        CheckConstraint(
            "(status = 'fulfilled') = (delivered_quantity IS NOT NULL) AND (delivered_quantity IS NULL"
            " OR (delivered_quantity > 0 AND delivered_quantity <= quantity))",
            name="delivered_within_quantity",
        ),
        Index("ix__matches__need_id_status", "need_id", "status"),
        Index("ix__matches__pledge_id_status", "pledge_id", "status"),
        Index("ix__matches__status_created_at", "status", "created_at"),
    )

    match_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    need_id: Mapped[str] = mapped_column(ForeignKey("m_needs.need_id"))
    pledge_id: Mapped[str] = mapped_column(ForeignKey("m_pledges.pledge_id"))
    crisis_id: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[Decimal] = mapped_column(_QTY)  # proposed, then confirmed; kept when fulfilled
    delivered_quantity: Mapped[Decimal | None] = mapped_column(_QTY)  # what arrived (fulfilled only)
    unit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    explanation: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, server_default="1")
    # The moment of the insert, not of its transaction: a batch proposes many, and trimming
    # (domain.trim) gives back from the newest first.
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # coordinators reminded
    # Cancelled because its need or pledge shrank (docs/matching.md): not a decline, so the
    # pair may be proposed again.
    trimmed: Mapped[bool] = mapped_column(Boolean, server_default=false())
