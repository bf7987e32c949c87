"""Fresh, migrated databases on one PostgreSQL server, each a copy of a template migrated once.

``CREATE DATABASE … TEMPLATE`` copies files, so a new database with every migration applied takes
a fraction of a second, where running the migrations would take seconds. The test suite
(tests/conftest.py) gives each test one; the benchmarks (benchmarks/_stack.py) one per benchmark,
so they import this module too, and it imports nothing that only the tests install.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from shared.db.migrate import upgrade

__all__ = ["Databases", "libpq"]


def libpq(url: str) -> str:
    """SQLAlchemy URL -> libpq conninfo that psycopg.connect accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Databases:
    """Databases named ``<prefix>_<random>`` on the server of ``server_url`` (a SQLAlchemy URL of a
    database we may ``CREATE DATABASE`` from)."""

    server_url: str
    prefix: str = "drx_test"
    _template: str | None = None

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(libpq(self.server_url), autocommit=True)

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name`` on this server."""
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def template(self) -> str:
        """The name of the migrated template, created and migrated on first use."""
        if self._template is None:
            name = f"{self.prefix}_template_{uuid.uuid4().hex[:8]}"
            with self._admin() as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            upgrade(self.url(name))
            self._template = name
        return self._template

    def create(self) -> str:
        """A new database with every migration applied; its SQLAlchemy URL."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:12]}"
        template = self.template()
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database of ``url``, even with sessions still connected to it."""
        name = make_url(url).database
        assert name, f"no database in {url}"
        self._drop(name)

    def drop_template(self) -> None:
        if self._template is not None:
            self._drop(self._template)
            self._template = None

    def _drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
