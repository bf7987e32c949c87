"""Indexes that serve funds in matching's order: needs one organisation at a time, pledges by expiry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

All funds share one match key, so a funds pledge may have every open funds need as a candidate.
Matching's order is by urgency, then the organisations' turns, then needed-by and age
(docs/matching.md): with this index it reads, per urgency, each organisation's first few open
needs with demand left, instead of ranking every candidate (``repository.needs_for``). A funds
need takes pledges with capacity left, soonest expiry first, from the second index
(``repository.pledges_for``), without reading the pledges already used up.

Two changes to ``matches`` come with it. ``trimmed`` marks a match cancelled because its need
or pledge shrank (``domain.trim``): not a decline, so the pair may be proposed again.
``created_at`` becomes the moment of the insert (``clock_timestamp()``) rather than of its
transaction, so "newest first" means something among the matches of one batch.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matches", sa.Column("trimmed", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.alter_column("matches", "created_at", server_default=sa.text("clock_timestamp()"))
    op.create_index(
        "ix__m_needs__turns",
        "m_needs",
        ["category", "urgency", "organisation_id", "needed_by", "seq"],
        postgresql_where=sa.text("status = 'open' AND proposed + confirmed + fulfilled < quantity"),
    )
    op.create_index(
        "ix__m_pledges__capacity",
        "m_pledges",
        ["category", "unit", "expires_on", "seq"],
        postgresql_where=sa.text("status = 'active' AND allocated < quantity"),
    )


def downgrade() -> None:
    op.alter_column("matches", "created_at", server_default=sa.text("now()"))
    op.drop_column("matches", "trimmed")
    op.drop_index("ix__m_pledges__capacity", table_name="m_pledges")
    op.drop_index("ix__m_needs__turns", table_name="m_needs")
