"""correction curve: a calibration record states the least-squares line through its corrections
(JCGM 100 Annex H.3) when its procedure edition asks for one

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correction_curve", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verification_records", schema=None) as batch_op:
        batch_op.drop_column("correction_curve")
