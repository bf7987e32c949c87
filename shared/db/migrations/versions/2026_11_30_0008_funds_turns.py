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
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.drop_index("ix__m_pledges__capacity", table_name="m_pledges")
    op.drop_index("ix__m_needs__turns", table_name="m_needs")
