"""Reminders (reminders/): each owner's channels, the outbox of due-soon / overdue / revoked notices
written with the change that causes them, and the ledgered delivery log.

An instrument verified before this revision gets its notices at its next change (verification,
relocation, transfer); none are back-filled here.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from jiliang.types import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_channels",
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), primary_key=True),
        sa.Column("sms_phone", sa.String(20)),
        sa.Column("email", sa.String(254)),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "reminder_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("instrument_id", sa.Integer(), sa.ForeignKey("instruments.id"), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("not_before", sa.Date(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime()),
        sa.Column("claimed_by", sa.String(32)),
        sa.Column("claimed_until", UtcDateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("read_at", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("instrument_id", "owner_id", "kind", "due_on", "channel", name="uq_reminder_outbox_notice"),
    )
    op.create_index("ix_reminder_outbox_due", "reminder_outbox", ["state", "not_before"])
    op.create_index("ix_reminder_outbox_owner", "reminder_outbox", ["owner_id", "id"])
    op.create_index("ix_reminder_outbox_district", "reminder_outbox", ["district_code", "state"])
    op.create_table(
        "reminder_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("reminder_outbox.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("error", sa.String(500)),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_reminder_deliveries_outbox_id", "reminder_deliveries", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_reminder_deliveries_outbox_id", "reminder_deliveries")
    op.drop_table("reminder_deliveries")
    op.drop_index("ix_reminder_outbox_district", "reminder_outbox")
    op.drop_index("ix_reminder_outbox_owner", "reminder_outbox")
    op.drop_index("ix_reminder_outbox_due", "reminder_outbox")
    op.drop_table("reminder_outbox")
    op.drop_table("reminder_channels")
