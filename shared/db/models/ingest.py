"""Tables owned by the ingest service: the source registry and the canonical entity states.

Each entity row keeps the columns ingest queries on plus ``state``, the whole canonical event
data (the ``*Recorded`` model) as JSON, which is what matching receives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["CrisisRow", "EntityRow", "NeedRow", "PledgeRow", "SourceRow"]

_ROLES = "role IN ('organisation', 'donor', 'coordinator')"


class SourceRow(Base):
    """A registered CloudEvents ``source``: who it is (party id) and what it may do (role).

    ``revoked_at`` set: the source is kept (its past events still name it) but may do nothing
    until it is enabled again; ``revoked_reason`` says why, in the reasons ingest and notify give.

    ``scope_*``: a coordinator's scope (``shared/scope.py``): the crises and countries it may act
    in, or everything with ``scope_all``. Empty for organisations and donors, and empty means none.
    """

    __tablename__ = "sources"
    __table_args__ = (CheckConstraint(_ROLES, name="role"),)

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    party_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    scope_crises: Mapped[list[str]] = mapped_column(ARRAY(String(100)), server_default=text("'{}'"))
    scope_countries: Mapped[list[str]] = mapped_column(ARRAY(String(3)), server_default=text("'{}'"))
    scope_all: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class EntityRow(Base):
    """Columns every stored entity (crisis, need, pledge) has."""

    __abstract__ = True

    source: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CrisisRow(EntityRow):
    __tablename__ = "crises"

    crisis_id: Mapped[str] = mapped_column(String(100), primary_key=True)


class NeedRow(EntityRow):
    __tablename__ = "needs"

    need_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    crisis_id: Mapped[str] = mapped_column(String(100), index=True)
    organisation_id: Mapped[str] = mapped_column(String(100))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # expiry reminder sent


class PledgeRow(EntityRow):
    __tablename__ = "pledges"

    pledge_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    crisis_id: Mapped[str | None] = mapped_column(String(100))
    donor_id: Mapped[str] = mapped_column(String(100))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # expiry reminder sent
