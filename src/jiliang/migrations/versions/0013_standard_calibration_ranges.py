"""A standard's calibration certificate imported as a DCC: the file, its signature's outcome and
signer on the calibration, and the U the certificate states per range or point.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("standard_calibrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dcc_xml", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("dcc_signature", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("dcc_signed_by", sa.Text(), nullable=True))
    op.create_table(
        "standard_calibration_ranges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("calibration_id", sa.Integer(), sa.ForeignKey("standard_calibrations.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(128), nullable=False),
        sa.Column("lower", sa.String(32), nullable=True),
        sa.Column("upper", sa.String(32), nullable=True),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("expanded_uncertainty", sa.String(32), nullable=False),
        sa.Column("coverage_factor", sa.String(8), nullable=False),
        sa.Column("uncertainty_unit", sa.String(32), nullable=False),
    )
    op.create_index("ix_standard_calibration_ranges_calibration_id", "standard_calibration_ranges", ["calibration_id"])


def downgrade() -> None:
    op.drop_index("ix_standard_calibration_ranges_calibration_id", table_name="standard_calibration_ranges")
    op.drop_table("standard_calibration_ranges")
    with op.batch_alter_table("standard_calibrations", schema=None) as batch_op:
        batch_op.drop_column("dcc_signed_by")
        batch_op.drop_column("dcc_signature")
        batch_op.drop_column("dcc_xml")
