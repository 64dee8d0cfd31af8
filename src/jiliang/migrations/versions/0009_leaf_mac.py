"""leaf MAC: every leaf the platform appends carries HMAC-SHA256 under the ledger key held in the key
folder, so that a leaf appended with database access alone is named by the auditor

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_leaves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_leaves", schema=None) as batch_op:
        batch_op.drop_column("mac")
