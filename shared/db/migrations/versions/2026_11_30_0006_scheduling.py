"""Scheduled jobs: each job's last completed slot, and when reminders went out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

``reminded_at`` on needs, pledges and matches makes each reminder a one-time thing: the job
sets it in the same transaction as it queues the reminder event.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_REMINDED = ("needs", "pledges", "matches")


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("last_slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_count", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk__job_runs")),
    )
    for table in _REMINDED:
        op.add_column(table, sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix__matches__status_created_at", "matches", ["status", "created_at"], unique=False)
    op.create_index("ix__processed_events__processed_at", "processed_events", ["processed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix__processed_events__processed_at", table_name="processed_events")
    op.drop_index("ix__matches__status_created_at", table_name="matches")
    for table in _REMINDED:
        op.drop_column(table, "reminded_at")
    op.drop_table("job_runs")
