"""Alembic environment: migrations run on a synchronous psycopg 3 connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import shared.db.models  # noqa: F401 - registers every table on Base.metadata
from shared.db.base import Base

config = context.config
url = config.attributes.get("database_url")
if url is None:
    from shared.config import DatabaseSettings

    url = DatabaseSettings().sqlalchemy_url

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
