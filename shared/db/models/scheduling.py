"""The scheduler's memory: the last completed slot of each job (see ``shared/scheduling.py``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base

__all__ = ["JobRunRow"]


class JobRunRow(Base):
    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_slot: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_count: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
