"""Coverage counts kept current (supervision/counts.py): per district, zone, item, period class and
standing on a basis day, so the regulator's dashboard never scans the instruments; the indexes that
find what the days change (valid-until, replace-by) and what a type's correction restates.

The counts are built by `jiliang init` (and every `serve`, which runs it) when no basis is recorded.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_counts",
        sa.Column("district_code", sa.String(6), primary_key=True),
        sa.Column("zone", sa.String(16), primary_key=True),
        sa.Column("item_code", sa.String(32), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("standing", sa.String(16), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_table(
        "coverage_basis",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("counted_on", sa.Date(), nullable=False),
    )
    op.create_index("ix_instruments_valid_until", "instruments", ["valid_until"])
    op.create_index("ix_instruments_replace_by", "instruments", ["replace_by"])
    op.create_index("ix_instruments_type", "instruments", ["type_id"])


def downgrade() -> None:
    op.drop_index("ix_instruments_type", "instruments")
    op.drop_index("ix_instruments_replace_by", "instruments")
    op.drop_index("ix_instruments_valid_until", "instruments")
    op.drop_table("coverage_basis")
    op.drop_table("coverage_counts")
