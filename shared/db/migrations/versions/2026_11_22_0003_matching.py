"""Matching: crisis and offer state, need and pledge ledgers, matches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 16:35:49.563195
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "m_crises",
        sa.Column("crisis_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("crisis_id", name=op.f("pk__m_crises")),
    )
    op.create_table(
        "m_needs",
        sa.Column("need_id", sa.String(length=100), nullable=False),
        sa.Column("crisis_id", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=100), nullable=False),
        sa.Column("sector", sa.String(length=40), nullable=False),
        sa.Column("urgency", sa.String(length=10), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=False),
        sa.Column("proposed", sa.Numeric(precision=18, scale=4), server_default="0", nullable=False),
        sa.Column("confirmed", sa.Numeric(precision=18, scale=4), server_default="0", nullable=False),
        sa.Column("fulfilled", sa.Numeric(precision=18, scale=4), server_default="0", nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("match_keys", postgresql.ARRAY(sa.String(length=300)), nullable=False),
        sa.Column("item_code", sa.String(length=200), nullable=True),
        sa.Column("item_description", sa.String(length=200), nullable=True),
        sa.Column("substitution_group", sa.String(length=300), nullable=True),
        sa.Column(
            "skills", postgresql.ARRAY(sa.String(length=100)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "languages", postgresql.ARRAY(sa.String(length=3)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("mode", sa.String(length=10), server_default="either", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "proposed >= 0 AND confirmed >= 0 AND fulfilled >= 0 AND proposed + confirmed + fulfilled <= quantity",
            name=op.f("ck__m_needs__ledger_within_quantity"),
        ),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk__m_needs")),
    )
    op.create_index(op.f("ix__m_needs__crisis_id"), "m_needs", ["crisis_id"], unique=False)
    op.create_index(
        "ix__m_needs__open_keys",
        "m_needs",
        ["match_keys"],
        unique=False,
        postgresql_using="gin",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "m_pledges",
        sa.Column("pledge_id", sa.String(length=100), nullable=False),
        sa.Column("donor_id", sa.String(length=100), nullable=False),
        sa.Column("crisis_id", sa.String(length=100), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column(
            "earmark_crises",
            postgresql.ARRAY(sa.String(length=100)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "earmark_countries",
            postgresql.ARRAY(sa.String(length=3)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "earmark_sectors",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("travel_radius_km", sa.Float(), nullable=True),
        sa.Column("allocated", sa.Numeric(precision=18, scale=4), server_default="0", nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("match_keys", postgresql.ARRAY(sa.String(length=300)), nullable=False),
        sa.Column("item_code", sa.String(length=200), nullable=True),
        sa.Column("item_description", sa.String(length=200), nullable=True),
        sa.Column("substitution_group", sa.String(length=300), nullable=True),
        sa.Column(
            "skills", postgresql.ARRAY(sa.String(length=100)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "languages", postgresql.ARRAY(sa.String(length=3)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("mode", sa.String(length=10), server_default="either", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "allocated >= 0 AND allocated <= quantity", name=op.f("ck__m_pledges__allocated_within_quantity")
        ),
        sa.PrimaryKeyConstraint("pledge_id", name=op.f("pk__m_pledges")),
    )
    op.create_index(
        "ix__m_pledges__active_keys",
        "m_pledges",
        ["match_keys"],
        unique=False,
        postgresql_using="gin",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "matches",
        sa.Column("match_id", sa.String(length=100), nullable=False),
        sa.Column("need_id", sa.String(length=100), nullable=False),
        sa.Column("pledge_id", sa.String(length=100), nullable=False),
        sa.Column("crisis_id", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'confirmed', 'rejected', 'expired', 'fulfilled', 'cancelled')",
            name=op.f("ck__matches__status"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck__matches__positive_quantity")),
        sa.ForeignKeyConstraint(["need_id"], ["m_needs.need_id"], name=op.f("fk__matches__need_id__m_needs")),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["m_pledges.pledge_id"], name=op.f("fk__matches__pledge_id__m_pledges")
        ),
        sa.PrimaryKeyConstraint("match_id", name=op.f("pk__matches")),
    )
    op.create_index("ix__matches__need_id_status", "matches", ["need_id", "status"], unique=False)
    op.create_index("ix__matches__pledge_id_status", "matches", ["pledge_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix__matches__pledge_id_status", table_name="matches")
    op.drop_index("ix__matches__need_id_status", table_name="matches")
    op.drop_table("matches")
    op.drop_index(
        "ix__m_pledges__active_keys",
        table_name="m_pledges",
        postgresql_using="gin",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("m_pledges")
    op.drop_index(
        "ix__m_needs__open_keys",
        table_name="m_needs",
        postgresql_using="gin",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix__m_needs__crisis_id"), table_name="m_needs")
    op.drop_table("m_needs")
    op.drop_table("m_crises")
