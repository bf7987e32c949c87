"""Deliveries remember the event that planned them, for their later audit records.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

A delivery is sent or dead-lettered by the delivery loop, long after the match event that
planned it was consumed. ``causing_event_id`` and ``correlation_id`` carry that event's id and
correlation id from the consuming transaction to the ``notification.sent`` and
``notification.dead_lettered`` audit records. Both are nullable: rows written before this
revision have no cause on record, and a digest has no causing event.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = ("causing_event_id", "correlation_id")


def upgrade() -> None:
    for column in _COLUMNS:
        op.add_column("deliveries", sa.Column(column, sa.String(length=200), nullable=True))


def downgrade() -> None:
    for column in reversed(_COLUMNS):
        op.drop_column("deliveries", column)
