"""supervision indexes: certificates by issue time (certificates per month on the regulator's dashboard)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00.000000

The coverage and overdue queries group instruments by district and item, which
ix_instruments_district_item (0001) already serves.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_issued_at"), ["issued_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_issued_at"))
