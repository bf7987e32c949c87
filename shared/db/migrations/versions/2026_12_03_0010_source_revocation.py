"""A source can be revoked (and enabled again): ``sources.revoked_at`` and ``revoked_reason``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Deleting a source's row was the only way to stop it, and that lost who it had been while its
needs and pledges still name it. A revoked source keeps its row; ingest refuses every event from
it and notify every subscription change, with the reason, until ``drx sources enable``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sources", sa.Column("revoked_reason", sa.String(500), nullable=True))


def downgrade() -> None:
    op.drop_column("sources", "revoked_reason")
    op.drop_column("sources", "revoked_at")
