"""Ingest: the source registry and crisis, need and pledge states.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:48:36.492435
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crises",
        sa.Column("crisis_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("crisis_id", name=op.f("pk__crises")),
    )
    op.create_table(
        "needs",
        sa.Column("need_id", sa.String(length=100), nullable=False),
        sa.Column("crisis_id", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk__needs")),
    )
    op.create_index(op.f("ix__needs__crisis_id"), "needs", ["crisis_id"], unique=False)
    op.create_table(
        "pledges",
        sa.Column("pledge_id", sa.String(length=100), nullable=False),
        sa.Column("crisis_id", sa.String(length=100), nullable=True),
        sa.Column("donor_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("pledge_id", name=op.f("pk__pledges")),
    )
    op.create_table(
        "sources",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("party_id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('organisation', 'donor', 'coordinator')", name=op.f("ck__sources__role")
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk__sources")),
    )


def downgrade() -> None:
    op.drop_table("sources")
    op.drop_table("pledges")
    op.drop_index(op.f("ix__needs__crisis_id"), table_name="needs")
    op.drop_table("needs")
    op.drop_table("crises")
