"""regulation tests: a record holds the verdict of each test its regulation prescribes; a measurement
point keeps the changeover-point method's ΔL and corrected error, its position, the indication after a
discrimination load, and its rule's source and confidence

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tests", sa.JSON(), nullable=True))
    with op.batch_alter_table("measurement_points", schema=None) as batch_op:
        batch_op.add_column(sa.Column("added_load", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("corrected_error", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("position", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("indication_after", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rule_source", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("rule_confidence", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measurement_points", schema=None) as batch_op:
        for name in ("rule_confidence", "rule_source", "indication_after", "position", "corrected_error", "added_load"):
            batch_op.drop_column(name)
    with op.batch_alter_table("verification_records", schema=None) as batch_op:
        batch_op.drop_column("tests")
