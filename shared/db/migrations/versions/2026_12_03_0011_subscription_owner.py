"""A subscription remembers who created it, so only that source (or a coordinator) may change it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

A donor once replaced an organisation's webhook subscription by sending a ``subscription.set``
with the organisation's subscription id and itself as the recipient: the rule checked only the
new recipient. ``owner_source`` is the source of the first ``subscription.set`` (or the
operator's actor for ``drx subscribe add``); ``services.notify.domain.authorise`` checks it.
Subscriptions made before stay NULL and belong to their recipient (issue 15, item 3).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("owner_source", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("subscriptions", "owner_source")
