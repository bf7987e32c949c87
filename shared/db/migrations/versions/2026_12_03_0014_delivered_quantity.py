"""A fulfilled match records how much arrived, beside the quantity that was confirmed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

A delivery of 80 against a confirmed 100 used to read "fulfilled 100" everywhere: the ledgers
counted 80, but the match kept only its confirmed quantity, so its event, audit record, notice
and listing all said 100 (issue 16, item 2). ``delivered_quantity`` is set when the match is
fulfilled, and only then (a CHECK says so, and that it lies in (0, quantity]).

Matches fulfilled before this revision did not store what arrived. Where a need has exactly one
fulfilled match, its ledger's ``fulfilled`` is that match's delivery and is copied; any other
fulfilled match is taken as delivered in full, the best the old rows can say.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "matches", sa.Column("delivered_quantity", sa.Numeric(precision=18, scale=4), nullable=True)
    )
    op.execute(
        """
        UPDATE matches AS m SET delivered_quantity = LEAST(m.quantity, n.fulfilled)
          FROM m_needs AS n
         WHERE m.status = 'fulfilled' AND n.need_id = m.need_id AND n.fulfilled > 0
           AND (SELECT count(*) FROM matches AS f WHERE f.need_id = m.need_id AND f.status = 'fulfilled') = 1
        """
    )
    op.execute(
        "UPDATE matches SET delivered_quantity = quantity WHERE status = 'fulfilled' AND delivered_quantity IS NULL"
    )
    op.create_check_constraint(
        op.f("ck__matches__delivered_within_quantity"),
        "matches",
        "(status = 'fulfilled') = (delivered_quantity IS NOT NULL)"
        " AND (delivered_quantity IS NULL OR (delivered_quantity > 0 AND delivered_quantity <= quantity))",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck__matches__delivered_within_quantity"), "matches", type_="check")
    op.drop_column("matches", "delivered_quantity")
