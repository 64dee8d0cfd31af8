"""Verification periods 检定周期 and service lives 使用期限: parsing the reference table and date rules.

A period the reference data does not give stays unknown (months None); nothing here guesses one.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, cast, get_args

__all__ = [
    "DUE_SOON_DAYS",
    "Confidence",
    "DueStatus",
    "Period",
    "PeriodMode",
    "add_months",
    "due_status",
    "parse_confidence",
    "parse_mode",
    "parse_period",
    "replace_by",
    "unknown_period",
    "valid_until",
]

PeriodMode = Literal["periodic", "first_only_limited_use", "first_only_scrap", "unknown"]
"""periodic 周期检定; first_only_limited_use 只作首次强制检定、限期使用、到期轮换;
first_only_scrap 只作首次强制检定、失准报废; unknown when the data does not say."""

Confidence = Literal["high", "medium", "low"]
DueStatus = Literal["in_date", "due_soon", "overdue", "unknown", "never_verified"]

DUE_SOON_DAYS = 30

_CSV_MODES: dict[str, PeriodMode] = {
    "periodic": "periodic",
    "first_only_limited_use": "first_only_limited_use",
    "first_only_limited_use_rotation": "first_only_limited_use",
    "rotation": "first_only_limited_use",
    "first_only_scrap": "first_only_scrap",
    "first_only_scrap_when_inaccurate": "first_only_scrap",
    "unknown": "unknown",
}

_UNKNOWN_PREFIXES = ("not confirmed", "no re-verification", "no periodic")
_DURATION = re.compile(
    r"^(?P<life>service life\s*)?(?:<=\s*)?(?P<n>\d+)\s*(?P<unit>months?|years?)(?![a-z])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Period:
    """How long an instrument stays in date, with where that figure comes from.

    months: the periodic verification period (periodic mode); service_life_months: how long a
    first-only, limited-use instrument may be used before it is replaced (轮换). None = not known.
    note: the source text, kept verbatim so the product can show what the data says.
    """

    months: int | None
    mode: PeriodMode
    service_life_months: int | None = None
    source: str = ""
    confidence: Confidence = "low"
    note: str = ""

    @property
    def is_known(self) -> bool:
        """True when the data fixes the instrument's due date rule for its mode."""
        if self.mode == "periodic":
            return self.months is not None
        if self.mode == "first_only_limited_use":
            return self.service_life_months is not None
        return self.mode == "first_only_scrap"


def unknown_period(note: str = "", source: str = "", mode: PeriodMode = "unknown") -> Period:
    """A period the data does not give (shown as 未知 / unknown, never as overdue)."""
    return Period(months=None, mode=mode, source=source, confidence="low", note=note)


def parse_mode(text: str) -> PeriodMode:
    """Map a `mode` cell of the reference CSVs to a PeriodMode.

    Cells qualified as a guess ("periodic (expected)", "… (believed)") and empty cells are unknown.
    """
    cell = text.strip()
    if not cell or "(" in cell:
        return "unknown"
    try:
        return _CSV_MODES[cell]
    except KeyError:
        raise ValueError(
            f"未知的检定方式 “{cell}” / unknown verification mode {cell!r}"
            f" (expected one of {', '.join(sorted(_CSV_MODES))})"
        ) from None


def parse_period(text: str, mode: str, source: str = "", confidence: str = "low") -> Period:
    """Parse a `period_or_service_life` cell ("<= 6 months", "service life <= 6 years", "2 years" …).

    `mode` is a CSV mode cell or a PeriodMode. A number goes to `months` for periodic instruments and
    to `service_life_months` for first-only limited-use ones (or when the text says "service life").
    Text starting "not confirmed" / "no re-verification", or anything not recognised, gives None.
    """
    cell = text.strip()
    period_mode = parse_mode(mode)
    conf = parse_confidence(confidence)
    unknown = Period(months=None, mode=period_mode, source=source, confidence=conf, note=cell)
    if not cell or cell.lower().startswith(_UNKNOWN_PREFIXES):
        return unknown
    match = _DURATION.match(cell)
    if match is None:
        return unknown
    n = int(match["n"])
    months = n * 12 if match["unit"].lower().startswith("year") else n
    if match["life"] or period_mode == "first_only_limited_use":
        if period_mode not in ("first_only_limited_use", "unknown"):
            return unknown  # a service life on a periodic / scrap instrument: contradictory data
        return Period(None, "first_only_limited_use", months, source, conf, cell)
    if period_mode == "periodic":
        return Period(months, "periodic", None, source, conf, cell)
    return unknown  # a bare duration whose meaning the mode does not settle


def parse_confidence(text: str) -> Confidence:
    """Check a `confidence` cell of the reference CSVs (high, medium, low)."""
    value = text.strip()
    if value not in get_args(Confidence):
        raise ValueError(f"未知的可信度 “{value}” / unknown confidence {value!r} (high, medium, low)")
    return cast(Confidence, value)


def add_months(d: date, months: int) -> date:
    """d plus a number of calendar months; a day past the target month's end becomes its last day."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last_day))


def valid_until(verification_date: date, period: Period, institution_limit: date | None = None) -> date | None:
    """Last day a verification stays valid: verification date + period − 1 day.

    Example: verified 2026-03-15 with a 6-month period → valid until 2026-09-14. An earlier date set
    by the institution on the certificate wins. For a first-only limited-use instrument the
    verification date is its first verification and the result is its replace-by date. When the
    period is unknown (or never expires, first_only_scrap) the result is the institution's date if
    it set one, else None.
    """
    if period.mode == "periodic" and period.months is not None:
        computed: date | None = add_months(verification_date, period.months) - timedelta(days=1)
    elif period.mode == "first_only_limited_use":
        computed = replace_by(verification_date, period)
    else:
        computed = None
    if computed is None:
        return institution_limit
    if institution_limit is not None and institution_limit < computed:
        return institution_limit
    return computed


def replace_by(first_verification_date: date, period: Period) -> date | None:
    """Last day of use of a first-only, limited-use instrument (到期轮换): first verification + service
    life − 1 day; None when the service life is unknown or the instrument is not of that kind."""
    if period.mode != "first_only_limited_use" or period.service_life_months is None:
        return None
    return add_months(first_verification_date, period.service_life_months) - timedelta(days=1)


def due_status(
    valid_until: date | None,
    today: date,
    mode: PeriodMode,
    *,
    verified: bool = True,
    soon_days: int = DUE_SOON_DAYS,
) -> DueStatus:
    """Where an instrument stands on `today`.

    never_verified when it has no verification; unknown when no end date is known (never overdue);
    a first_only_scrap instrument with no end date is in date (it is scrapped when inaccurate);
    overdue after `valid_until`; due_soon within `soon_days` days of it (inclusive); else in_date.
    """
    if not verified:
        return "never_verified"
    if valid_until is None:
        return "in_date" if mode == "first_only_scrap" else "unknown"
    days_left = (valid_until - today).days
    if days_left < 0:
        return "overdue"
    if days_left <= soon_days:
        return "due_soon"
    return "in_date"
