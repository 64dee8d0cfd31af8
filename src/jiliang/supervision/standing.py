"""An in-use instrument's standing under mandatory verification, as SQL over its cached columns.

Read from the instrument row only (`valid_until`, `replace_by`, `last_verified_on`,
`last_conclusion`, `barred`, kept current by the verification services) and its catalogue type, so
a dashboard never scans the verification history (ROADMAP: sub-second at 5 million instruments).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy import ColumnElement, FromClause, and_, case, literal, or_

from ..registry.tables import catalogue_types, instruments

__all__ = [
    "PeriodClass",
    "Standing",
    "UNCOVERED",
    "due_on",
    "eligible",
    "instruments_with_types",
    "period_class",
    "standing",
]

PeriodClass = Literal["periodic", "limited_use", "scrap", "unknown"]
"""How the instrument's type says it stays in date (registry.periods.PeriodMode with its figure known):
periodic 周期检定 with a period; limited_use 首次检定、限期使用 with a service life; scrap 首次检定、失准报废;
unknown when the type gives no usable rule (mode unknown, or the period / service life missing, or no type)."""

Standing = Literal["covered", "barred", "overdue", "never_verified", "no_valid_date"]
"""covered, or why not: barred (failed its last verification), overdue (its valid-until or replace-by
date is past), never_verified (no verification on record), no_valid_date (verified or calibrated
before, but no date in force: its certificate was revoked, it was only calibrated, or it was verified
while its type's period was still unknown)."""

UNCOVERED: tuple[Standing, ...] = ("overdue", "never_verified", "barred", "no_valid_date")


def instruments_with_types() -> FromClause:
    """`instruments` with their catalogue type (outer join: an instrument may have no type)."""
    return instruments.outerjoin(catalogue_types, catalogue_types.c.id == instruments.c.type_id)


def eligible() -> ColumnElement[bool]:
    """Registered, in use (not scrapped) and in the mandatory catalogue."""
    return and_(instruments.c.status == "in_use", instruments.c.item_code.is_not(None))


def _periodic() -> ColumnElement[bool]:
    return and_(catalogue_types.c.mode == "periodic", catalogue_types.c.period_months.is_not(None))


def _limited_use() -> ColumnElement[bool]:
    return and_(catalogue_types.c.mode == "first_only_limited_use", catalogue_types.c.service_life_months.is_not(None))


def _scrap() -> ColumnElement[bool]:
    return catalogue_types.c.mode == "first_only_scrap"


def period_class() -> ColumnElement[str]:
    """The PeriodClass of the instrument's type (needs `instruments_with_types`)."""
    return case(
        (_periodic(), literal("periodic")),
        (_limited_use(), literal("limited_use")),
        (_scrap(), literal("scrap")),
        else_=literal("unknown"),
    )


def due_on() -> ColumnElement[date]:
    """The date the instrument stops being covered: replace-by for a limited-use instrument, else
    valid-until (None for a scrap-mode instrument unless the institution set a limit)."""
    return case((_limited_use(), instruments.c.replace_by), else_=instruments.c.valid_until)


def standing(today: date) -> ColumnElement[str]:
    """The instrument's Standing on `today` (needs `instruments_with_types`). Rules, in order:

    1. barred → not covered: a failed verification bars use until it passes again, even while a
       limited-use instrument's replace-by date (kept through failed checks) is still ahead.
    2. periodic → covered while valid_until >= today (the last day of validity counts).
    3. limited_use → covered while replace_by >= today after a pass: verified once, then used until
       replaced (a revoked certificate leaves last_conclusion 'revoked': not covered).
    4. scrap → covered once it passed a verification (last_conclusion 'pass'), with no end date
       unless the institution set one: such an instrument is scrapped when inaccurate, not re-verified.
       A later calibration overwrites last_conclusion, so it then counts as no_valid_date (a
       dashboard should not overstate coverage on a guess).
    5. otherwise the reason: overdue when its due date is past, never_verified when nothing is on
       record, else no_valid_date.
    """
    ins = instruments.c
    return case(
        (ins.barred.is_(True), literal("barred")),
        (and_(_periodic(), ins.valid_until >= today), literal("covered")),
        (and_(_limited_use(), ins.last_conclusion == "pass", ins.replace_by >= today), literal("covered")),
        (
            and_(_scrap(), ins.last_conclusion == "pass", or_(ins.valid_until.is_(None), ins.valid_until >= today)),
            literal("covered"),
        ),
        (due_on() < today, literal("overdue")),
        (ins.last_verified_on.is_(None), literal("never_verified")),
        else_=literal("no_valid_date"),
    )
