"""An index on certificates.supersedes_id: a certificate's page links forward to the certificate that
replaced it (issue 15), a look-up by that column on every view.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:10:00.000000
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_supersedes_id", ["supersedes_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_supersedes_id")
