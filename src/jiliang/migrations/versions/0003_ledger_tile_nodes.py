"""ledger tiles: interior nodes of full tiles; hash columns stored uncompressed on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_tiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nodes", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # random hashes never compress: EXTERNAL spares the failed compression attempt on every write
        op.execute("ALTER TABLE ledger_tiles ALTER COLUMN hashes SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE ledger_tiles ALTER COLUMN nodes SET STORAGE EXTERNAL")
    # Existing full tiles keep nodes NULL: proofs fold those as before.


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_tiles ALTER COLUMN hashes SET STORAGE EXTENDED")
    with op.batch_alter_table("ledger_tiles", schema=None) as batch_op:
        batch_op.drop_column("nodes")
