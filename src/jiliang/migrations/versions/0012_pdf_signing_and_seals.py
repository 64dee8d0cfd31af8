"""Printed certificates (issue 15): the institution's authorisation number, its uploaded seal image,
and the X.509 certificates that sign PDFs (the platform's root CA and what it issues to institutions,
or an institution's certificate from a licensed CA).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import jiliang.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authorisation_no", sa.String(64), nullable=True))
    op.create_table(
        "institution_seals",
        sa.Column("institution_id", sa.Integer(), sa.ForeignKey("institutions.id"), primary_key=True),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", jiliang.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
    )
    op.create_table(
        "x509_certificates",
        sa.Column("serial", sa.String(40), primary_key=True),
        sa.Column("institution_id", sa.Integer(), sa.ForeignKey("institutions.id"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("key_file", sa.String(64), nullable=False),
        sa.Column("not_before", jiliang.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("not_after", jiliang.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", jiliang.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", jiliang.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", jiliang.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_x509_certificates_institution_id", "x509_certificates", ["institution_id"])


def downgrade() -> None:
    op.drop_index("ix_x509_certificates_institution_id", table_name="x509_certificates")
    op.drop_table("x509_certificates")
    op.drop_table("institution_seals")
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("authorisation_no")
