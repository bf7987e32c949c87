"""Reference data an operator loads: exchange rates with the date they are for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["FxRateRow"]


class FxRateRow(Base):
    """Units of ``currency`` per US dollar on ``day``, and which file they came from.

    One row per day and currency: loading the same day again replaces its rates, so a corrected
    file wins. Rates are kept per USD because every amount drx compares is in USD.
    """

    __tablename__ = "fx_rates"
    __table_args__ = (
        CheckConstraint("units_per_usd > 0", name="fx_rate_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="fx_rate_currency_code"),
    )

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    units_per_usd: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
