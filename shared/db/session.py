"""Engine and session factories (async, psycopg 3).

:func:`create_session_factory` is the one place drx makes sessions: every worker, the CLI, the
demo, the benchmarks and the tests open them from it, so every session drx opens writes the
audit entries recorded on it at commit (:func:`shared.audit.install`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared import audit
from shared.config import DatabaseSettings

__all__ = ["create_engine", "create_session_factory"]


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """One engine per process, created at start-up (in the app's lifespan)."""
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=settings.pool_size,
        pool_pre_ping=True,  # survive a PostgreSQL restart without failing the next message
        pool_timeout=settings.connect_timeout_s,  # waiting for a pooled connection is bounded too
        connect_args=settings.connect_args(),
        hide_parameters=True,  # a database error's message never carries the values (contact details)
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` that keep loaded rows after commit and write their audit entries then."""
    return audit.install(async_sessionmaker(engine, expire_on_commit=False))
