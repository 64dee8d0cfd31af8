"""account locks: consecutive wrong passwords per account (login and signing), and the time until
which the account is locked after too many

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import jiliang.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_locks",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", jiliang.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_locks_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_account_locks")),
    )


def downgrade() -> None:
    op.drop_table("account_locks")
