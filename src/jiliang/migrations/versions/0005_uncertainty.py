"""uncertainty: a standard's calibration carries its expanded uncertainty; a measurement point keeps
the uncertainty evaluated by its procedure's budget and the decision rule's numbers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("standard_calibrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expanded_uncertainty", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("coverage_factor", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("uncertainty_unit", sa.String(length=16), nullable=True))
    with op.batch_alter_table("measurement_points", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uncertainty", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measurement_points", schema=None) as batch_op:
        batch_op.drop_column("decision")
        batch_op.drop_column("uncertainty")
    with op.batch_alter_table("standard_calibrations", schema=None) as batch_op:
        batch_op.drop_column("uncertainty_unit")
        batch_op.drop_column("coverage_factor")
        batch_op.drop_column("expanded_uncertainty")
