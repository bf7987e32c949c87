"""The database role workers connect as: everything they need, and on the audit log only SELECT and INSERT.

The audit trigger stops UPDATE, DELETE and TRUNCATE for every role while triggers fire, but the
table's owner may switch it off (``ALTER TABLE … DISABLE TRIGGER``). A worker that logs in as the
owner, or as a superuser, can therefore rewrite the chain; a worker that logs in as a member of
:data:`WORKER_ROLE` cannot: it holds no UPDATE, DELETE or TRUNCATE on ``audit_log``, and is not
its owner. Migrations keep running as the owner (``drx db upgrade``); ``drx db grant-worker``
runs after them, as the owner, and is safe to repeat, so tables a later migration adds are
granted too (docs/audit.md, docs/deploy.md).

This is a provisioning step, not a migration: roles belong to the whole PostgreSQL cluster, not
to one database, and the login roles that join it (with their passwords) are the operator's.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["APPEND_ONLY", "WORKER_ROLE", "grant_worker", "role_name", "worker_statements"]

WORKER_ROLE = "drx_worker"
APPEND_ONLY = ("audit_log",)
"""Tables the worker role may read and add to, never change: the audit chain."""
_READ_ONLY = ("alembic_version",)
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def role_name(name: str) -> str:
    """``name`` if it is a plain lower-case PostgreSQL identifier; otherwise ``ValueError``."""
    if not _NAME.fullmatch(name):
        msg = f"{name!r} is not a role name drx uses: 1-63 lower-case letters, digits or '_'"
        raise ValueError(msg)
    return name


def worker_statements(role: str, schema: str = "public", members: tuple[str, ...] = ()) -> list[str]:
    """The SQL that creates ``role`` when missing and grants it the workers' rights, in order.

    Every table and sequence in ``schema``: SELECT, INSERT, UPDATE, DELETE (and the same
    on those created later by the role running this); then ``audit_log`` is cut back to SELECT
    and INSERT, and Alembic's own table to SELECT. ``members`` (existing login roles) join it.
    """
    r, s = f'"{role_name(role)}"', f'"{role_name(schema)}"'
    create = (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role_name(role)}') "
        f"THEN CREATE ROLE {r} NOLOGIN; END IF; END $$"
    )
    statements = [
        create,
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
    ]
    statements += [
        f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {s}.{t} FROM {r}" for t in APPEND_ONLY
    ]
    statements += [f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.{t} FROM {r}" for t in _READ_ONLY]
    statements += [f'GRANT {r} TO "{role_name(member)}"' for member in members]
    return statements


async def grant_worker(conn: AsyncConnection, role: str = WORKER_ROLE, members: tuple[str, ...] = ()) -> None:
    """Run :func:`worker_statements` in one transaction on ``conn`` (connected as the tables' owner)."""
    schema = str(await conn.scalar(text("SELECT current_schema()")))
    for statement in worker_statements(role, schema, members):
        await conn.execute(text(statement))
