"""Run Alembic from code: ``drx db upgrade`` and the test fixtures use this, no alembic.ini needed."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade"]


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database URL."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("shared.db") / "migrations"))
    config.attributes["database_url"] = url  # not set_main_option: URLs may contain '%'
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)
