"""Reminder tables: each owner's channels, the outbox of notices to deliver, and the delivery log.

The outbox is the plan (derived from instruments' due dates and owners' channels, re-planned by every
change to them); the delivery log is the evidence of what was sent to whom, ledgered row by row."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from ..db import metadata
from ..types import UtcDateTime

__all__ = ["reminder_channels", "reminder_outbox", "reminder_deliveries"]

reminder_channels = Table(
    "reminder_channels",
    metadata,
    Column("owner_id", ForeignKey("owners.id"), primary_key=True),
    Column("sms_phone", String(20)),  # None: no SMS
    Column("email", String(254)),  # None: no e-mail
    Column("updated_at", UtcDateTime, nullable=False),
)

reminder_outbox = Table(
    "reminder_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # model.Kind: due_soon | overdue | revoked
    Column("instrument_id", ForeignKey("instruments.id"), nullable=False),
    Column("owner_id", ForeignKey("owners.id"), nullable=False),
    Column("district_code", String(6), nullable=False),  # the instrument's, kept current by re-planning
    Column("due_on", Date, nullable=False),
    Column("channel", String(8), nullable=False),  # model.Channel: sms | email | app
    Column("not_before", Date, nullable=False),  # the Shanghai day from which it may be sent
    Column("state", String(12), nullable=False),  # model.State
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime),  # after a failed attempt: not before then
    Column("claimed_by", String(32)),  # while sending: the claim's token
    Column("claimed_until", UtcDateTime),  # while sending: the claim's lease
    Column("last_error", String(500)),
    Column("sent_at", UtcDateTime),
    Column("read_at", UtcDateTime),  # an in-app notice the owner has read
    Column("created_at", UtcDateTime, nullable=False),
    # a notice is written once: re-planning the same due date finds it instead of adding another
    UniqueConstraint("instrument_id", "owner_id", "kind", "due_on", "channel", name="uq_reminder_outbox_notice"),
    Index("ix_reminder_outbox_due", "state", "not_before"),
    Index("ix_reminder_outbox_owner", "owner_id", "id"),
    Index("ix_reminder_outbox_district", "district_code", "state"),
)

reminder_deliveries = Table(
    "reminder_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", ForeignKey("reminder_outbox.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("address", String(254), nullable=False),  # the phone or e-mail address it went to ('' in-app)
    Column("outcome", String(8), nullable=False),  # sent | retry | failed
    Column("error", String(500)),
    Column("at", UtcDateTime, nullable=False),
)
