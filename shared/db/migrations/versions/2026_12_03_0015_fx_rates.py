"""Exchange rates loaded by the operator, each with the day it is for.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

The rates were a hand-entered snapshot in the package; ``drx reference rates load FILE`` now
stores a published file's rates (the ECB's ``eurofxref.csv``) here, one row per day and
currency, as units per US dollar (issue 16, item 1).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("units_per_usd", sa.Numeric(24, 10), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("units_per_usd > 0", name=op.f("ck__fx_rates__fx_rate_positive")),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck__fx_rates__fx_rate_currency_code")),
        sa.PrimaryKeyConstraint("day", "currency", name=op.f("pk__fx_rates")),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
