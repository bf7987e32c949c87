"""A coordinator acts within a scope: ``sources.scope_crises``, ``scope_countries`` and ``scope_all``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Any coordinator could close any crisis (closing all its needs) and decide any match. A
coordinator's row now lists the crises and countries it may act in (``shared/scope.py``);
``scope_all`` is a global desk's explicit grant. Existing coordinators get an empty scope, which
is none: an operator assigns each one with ``drx sources scope`` (issue 15, item 2).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sources",
        sa.Column(
            "scope_crises", postgresql.ARRAY(sa.String(100)), server_default=sa.text("'{}'"), nullable=False
        ),
    )
    op.add_column(
        "sources",
        sa.Column(
            "scope_countries", postgresql.ARRAY(sa.String(3)), server_default=sa.text("'{}'"), nullable=False
        ),
    )
    op.add_column(
        "sources", sa.Column("scope_all", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("sources", "scope_all")
    op.drop_column("sources", "scope_countries")
    op.drop_column("sources", "scope_crises")
