"""Imports every context's tables so `metadata` knows the whole schema (for Alembic and the platform),
and gives every text and integer column its checking type (`column_checks`)."""

from .audit import audit_events
from .certificates import tables as certificate_tables
from .column_checks import check_columns
from .db import metadata
from .ledger import tables as ledger_tables
from .registry import tables as registry_tables
from .reminders import tables as reminder_tables
from .verification import tables as verification_tables

__all__ = [
    "metadata",
    "audit_events",
    "certificate_tables",
    "ledger_tables",
    "registry_tables",
    "reminder_tables",
    "verification_tables",
]

check_columns(metadata)
