"""The outbox parks a row it cannot publish, with the error, instead of retrying it forever.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

The relay publishes rows in id order. A row the broker will never take (too large, a topic that
cannot exist) used to fail the whole batch again and again, so every row after it waited
forever. Now such a row gets ``parked_at`` and ``error``, the relay goes on with the others, and
``drx outbox list`` / ``drx outbox retry`` show and release it (docs/operations.md). The pending
index leaves parked rows out, so the relay's query stays an index scan.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("error", sa.Text(), nullable=True))
    op.drop_index("ix__outbox__pending", table_name="outbox")
    op.create_index(
        "ix__outbox__pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL AND parked_at IS NULL"),
    )
    op.create_index("ix__outbox__parked", "outbox", ["id"], postgresql_where=sa.text("parked_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix__outbox__parked", table_name="outbox")
    op.drop_index("ix__outbox__pending", table_name="outbox")
    op.create_index("ix__outbox__pending", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.drop_column("outbox", "error")
    op.drop_column("outbox", "parked_at")
