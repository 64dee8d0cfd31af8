"""The site's words for the platform's codes: instrument, certificate and task statuses, uses,
certificate kinds, verification stages and history events as translatable labels, the order
statuses are listed in, and page-side translation of a text (for flash messages, which are made
before the next page renders). Every area's pages use these, so a code reads the same everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..registry.service import USES
from .i18n import N_, translations
from .render import language_of

__all__ = [
    "INSTRUMENT_STATUSES",
    "ATTENTION",
    "STATUS_LABELS",
    "USE_LABELS",
    "KIND_LABELS",
    "STAGE_LABELS",
    "EVENT_LABELS",
    "ZONE_LABELS",
    "OWNER_STATUS_LABELS",
    "USES",
    "vocabulary",
    "translate",
]

# Instrument statuses (registry.label.instrument_status), the ones needing action first.
INSTRUMENT_STATUSES = ("overdue", "due_soon", "never_verified", "barred", "unknown", "in_date", "scrapped")
ATTENTION = frozenset({"overdue", "due_soon", "never_verified"})  # preselected when applying

STATUS_LABELS = {
    # instruments
    "in_date": N_("In date"),
    "due_soon": N_("Due within 30 days"),
    "overdue": N_("Overdue"),
    "never_verified": N_("Never verified"),
    "barred": N_("Barred from use"),
    "unknown": N_("Period unknown"),
    "scrapped": N_("Scrapped"),
    # certificates
    "valid": N_("Valid"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
    "superseded": N_("Superseded"),
    # tasks and records
    "assigned": N_("Assigned"),
    "recorded": N_("Results recorded"),
    "checked": N_("Checked"),
    "approved": N_("Approved"),
    "returned": N_("Returned"),
    "issued": N_("Certificate issued"),
    "pass": N_("Pass"),
    "fail": N_("Fail"),
}

USE_LABELS = {
    "trade": N_("Trade settlement"),
    "safety": N_("Safety protection"),
    "medical": N_("Medical and health"),
    "environment": N_("Environmental monitoring"),
}

KIND_LABELS = {
    "verification": N_("Verification"),
    "calibration": N_("Calibration"),
    "nonconformity": N_("Notice of non-conformity"),
}

STAGE_LABELS = {
    "initial": N_("Initial verification"),
    "subsequent": N_("Subsequent verification"),
    "in_service": N_("In-service inspection"),
}

EVENT_LABELS = {
    "instrument.registered": N_("Registered"),
    "instrument.transferred": N_("Transferred to another owner"),
    "instrument.relocated": N_("Relocated"),
    "instrument.scrapped": N_("Scrapped"),
}

ZONE_LABELS = {"lingang": N_("Lingang Special Area"), "airport": N_("Airport")}

# how far a rule's number is confirmed (reference/mpe-rules.md): the regulation's text, a secondary source, memory
CONFIDENCE_LABELS = {
    "high": N_("confirmed by the regulation's text or two sources"),
    "medium": N_("from one secondary source"),
    "low": N_("unconfirmed"),
}

OWNER_STATUS_LABELS = {"pending": N_("Awaiting approval"), "approved": N_("Approved"), "rejected": N_("Rejected")}


def vocabulary() -> dict[str, Any]:
    """The labels, for a template's context."""
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "USE_LABELS": USE_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "STAGE_LABELS": STAGE_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "ZONE_LABELS": ZONE_LABELS,
        "OWNER_STATUS_LABELS": OWNER_STATUS_LABELS,
        "CONFIDENCE_LABELS": CONFIDENCE_LABELS,
    }


def translate(request: Request, message: str, **values: object) -> str:
    """A text in the visitor's language, with `%(name)s` placeholders filled in."""
    text = str(translations(language_of(request)).gettext(message))
    return text % values if values else text
