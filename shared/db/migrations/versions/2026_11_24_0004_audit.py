"""Audit trail: the hash-chained audit_log table, append-only by trigger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

The trigger refuses UPDATE, DELETE and TRUNCATE for every role, table owner and superuser
included, as long as triggers fire. A superuser can still bypass it (``SET
session_replication_role = replica``, ``ALTER TABLE ... DISABLE TRIGGER``, dropping the table);
the hash chain makes that detectable (``drx audit verify``), see docs/audit.md.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("causing_event_id", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("seq >= 1", name=op.f("ck__audit_log__seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk__audit_log")),
    )
    op.create_index("ix__audit_log__at", "audit_log", ["at"])
    op.create_index("ix__audit_log__entity", "audit_log", ["entity_type", "entity_id"])
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'audit records are never changed or removed; record a new one instead';
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER audit_log_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
        """
    )
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index("ix__audit_log__entity", table_name="audit_log")
    op.drop_index("ix__audit_log__at", table_name="audit_log")
    op.drop_table("audit_log")
