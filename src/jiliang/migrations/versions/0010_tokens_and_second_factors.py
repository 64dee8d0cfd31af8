"""API tokens get a name, a scope and a seal (HMAC under the ledger key, so a token row written with
database access alone is refused and named by the auditor); second factors (TOTP) for logins. The
upgrade ends every session: tokens issued before it carry no seal.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import jiliang.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM api_tokens")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.String(8), nullable=False, server_default="write"))
        batch_op.add_column(sa.Column("created_at", jiliang.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seal", sa.String(64), nullable=True))
        batch_op.create_index("ix_api_tokens_user_id", ["user_id"])
    op.create_table(
        "second_factors",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("confirmed_at", jiliang.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("second_factors")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_user_id")
        for column in ("seal", "created_at", "scope", "label"):
            batch_op.drop_column(column)
