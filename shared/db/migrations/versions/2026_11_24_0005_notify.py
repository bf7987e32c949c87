"""Notify: subscriptions and deliveries (one row per recipient, channel, kind and subject).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 06:43:01.065366
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=100), nullable=False),
        sa.Column("recipient_id", sa.String(length=100), nullable=False),
        sa.Column("recipient_kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("key_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("match_id", sa.String(length=100), nullable=True),
        sa.Column("need_id", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("digest_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'held', 'digested', 'sent', 'dead')", name=op.f("ck__deliveries__status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck__deliveries__attempts")),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk__deliveries")),
    )
    op.create_index(
        "ix__deliveries__due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix__deliveries__held",
        "deliveries",
        ["subscription_id"],
        unique=False,
        postgresql_where=sa.text("status = 'held'"),
    )
    op.create_index("ix__deliveries__need_id", "deliveries", ["need_id"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("subscription_id", sa.String(length=100), nullable=False),
        sa.Column("recipient_id", sa.String(length=100), nullable=False),
        sa.Column("recipient_kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("key_id", sa.String(length=100), nullable=True),
        sa.Column("digest", sa.String(length=10), server_default="off", nullable=False),
        sa.Column("crisis_id", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("sector", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "channel <> 'webhook' OR key_id IS NOT NULL", name=op.f("ck__subscriptions__webhook_is_signed")
        ),
        sa.CheckConstraint(
            "channel = 'kafka' OR address IS NOT NULL", name=op.f("ck__subscriptions__address_for_channel")
        ),
        sa.CheckConstraint(
            "channel IN ('webhook', 'email', 'kafka')", name=op.f("ck__subscriptions__channel")
        ),
        sa.CheckConstraint("digest IN ('off', 'hourly', 'daily')", name=op.f("ck__subscriptions__digest")),
        sa.CheckConstraint(
            "recipient_kind IN ('coordinator', 'organisation', 'donor')",
            name=op.f("ck__subscriptions__recipient_kind"),
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk__subscriptions")),
    )
    op.create_index(op.f("ix__subscriptions__recipient_id"), "subscriptions", ["recipient_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix__subscriptions__recipient_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix__deliveries__need_id", table_name="deliveries")
    op.drop_index(
        "ix__deliveries__held", table_name="deliveries", postgresql_where=sa.text("status = 'held'")
    )
    op.drop_index(
        "ix__deliveries__due", table_name="deliveries", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("deliveries")
