"""Verification periods: parsing verification_periods.csv cells and the due-date rules."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from jiliang.registry.periods import (
    Period,
    add_months,
    due_status,
    parse_mode,
    parse_period,
    replace_by,
    unknown_period,
    valid_until,
)

PERIODS_CSV = Path(__file__).resolve().parents[2] / "src/jiliang/reference/verification_periods.csv"


def _row(instrument_zh: str) -> dict[str, str]:
    with PERIODS_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["instrument_zh"] == instrument_zh:
                return row
    raise AssertionError(f"{instrument_zh} not in {PERIODS_CSV.name}")


def _period(instrument_zh: str) -> Period:
    row = _row(instrument_zh)
    return parse_period(row["period_or_service_life"], row["mode"], row["source"], row["confidence"])


# add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 3, 15), 6, date(2026, 9, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 10), 24, date(2028, 5, 10)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


# parse_period on the cells of the reference table


@pytest.mark.parametrize(
    ("text", "mode", "months", "life", "period_mode"),
    [
        ("<= 6 months", "periodic", 6, None, "periodic"),
        ("2 years", "periodic", 24, None, "periodic"),
        ("<= 6 months (half a year)", "periodic", 6, None, "periodic"),
        ("1 year (older news)", "periodic", 12, None, "periodic"),
        ("service life <= 6 years", "first_only_limited_use_rotation", None, 72, "first_only_limited_use"),
        ("service life <= 4 years", "first_only_limited_use_rotation", None, 48, "first_only_limited_use"),
        ("8 years (rotation)", "first_only_limited_use_rotation", None, 96, "first_only_limited_use"),
        ("<= 15 years", "rotation", None, 180, "first_only_limited_use"),
    ],
)
def test_period_cells_are_parsed(text: str, mode: str, months: int | None, life: int | None, period_mode: str) -> None:
    period = parse_period(text, mode, "src", "high")
    assert (period.months, period.service_life_months, period.mode) == (months, life, period_mode)
    assert period.note == text and period.source == "src" and period.confidence == "high"
    assert period.is_known


@pytest.mark.parametrize(
    "text",
    [
        "not confirmed",
        "not confirmed (believed <= 1 year)",
        "not confirmed (historically 1 year)",
        "not confirmed for 2019 edition (2006-era news: half a year)",
        "half a year",
        "",
    ],
)
def test_unconfirmed_or_unrecognised_periods_stay_unknown_and_keep_the_text(text: str) -> None:
    period = parse_period(text, "periodic", "src", "low")
    assert period.months is None and period.service_life_months is None
    assert period.note == text
    assert not period.is_known


def test_no_re_verification_is_first_only_scrap_without_a_period() -> None:
    period = parse_period("no re-verification", "first_only_scrap_when_inaccurate", "1991 规定", "high")
    assert period.mode == "first_only_scrap"
    assert period.months is None and period.service_life_months is None
    assert period.note == "no re-verification"


def test_a_service_life_on_a_periodic_instrument_is_not_turned_into_a_period() -> None:
    period = parse_period("service life <= 6 years", "periodic", "", "low")
    assert period.months is None and period.service_life_months is None


def test_every_period_cell_of_the_reference_table_parses_without_error() -> None:
    with PERIODS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        period = parse_period(row["period_or_service_life"], row["mode"], row["source"], row["confidence"])
        if row["period_or_service_life"].startswith(("not confirmed", "no re-verification")):
            assert period.months is None and period.service_life_months is None, row["instrument_zh"]
        else:
            assert period.is_known, row["instrument_zh"]


def test_unknown_confidence_is_rejected() -> None:
    with pytest.raises(ValueError, match="confidence"):
        parse_period("2 years", "periodic", "", "certain")


@pytest.mark.parametrize(
    ("cell", "mode"),
    [
        ("periodic", "periodic"),
        ("rotation", "first_only_limited_use"),
        ("first_only_limited_use_rotation", "first_only_limited_use"),
        ("first_only_scrap_when_inaccurate", "first_only_scrap"),
        ("periodic (expected)", "unknown"),
        ("periodic (believed)", "unknown"),
        ("", "unknown"),
    ],
)
def test_mode_cells_map_to_modes_and_guesses_stay_unknown(cell: str, mode: str) -> None:
    assert parse_mode(cell) == mode


def test_an_unknown_mode_cell_is_an_error() -> None:
    with pytest.raises(ValueError, match="weekly"):
        parse_mode("weekly")


# valid_until / replace_by on the documented examples


def test_fuel_dispenser_verified_2026_03_15_is_valid_until_2026_09_14() -> None:
    period = _period("燃油加油机")
    assert period.months == 6
    assert valid_until(date(2026, 3, 15), period, None) == date(2026, 9, 14)


def test_an_earlier_date_set_by_the_institution_wins() -> None:
    period = _period("燃油加油机")
    assert valid_until(date(2026, 3, 15), period, date(2026, 6, 30)) == date(2026, 6, 30)
    assert valid_until(date(2026, 3, 15), period, date(2026, 12, 31)) == date(2026, 9, 14)


def test_taximeter_period_is_unknown_and_gives_no_valid_until() -> None:
    period = _period("出租汽车计价器")
    assert period.months is None and period.mode == "periodic"
    assert period.note.startswith("not confirmed")
    assert valid_until(date(2026, 3, 15), period, None) is None


def test_with_an_unknown_period_the_institution_date_is_the_only_date() -> None:
    assert valid_until(date(2026, 3, 15), _period("出租汽车计价器"), date(2027, 3, 14)) == date(2027, 3, 14)


def test_large_water_meter_is_periodic_two_years() -> None:
    assert valid_until(date(2026, 3, 15), _period("饮用冷水水表 DN>50 or Q3>16"), None) == date(2028, 3, 14)


def test_water_meter_dn25_is_replaced_after_six_years_of_service() -> None:
    period = _period("饮用冷水水表 DN<=25")
    assert period.mode == "first_only_limited_use"
    assert period.service_life_months == 72 and period.months is None
    assert replace_by(date(2026, 3, 15), period) == date(2032, 3, 14)
    assert valid_until(date(2026, 3, 15), period) == date(2032, 3, 14)


def test_electronic_energy_meter_rotates_after_eight_years() -> None:
    assert replace_by(date(2026, 1, 1), _period("电子式交流电能表")) == date(2033, 12, 31)


def test_replace_by_is_none_for_periodic_or_unknown_service_life() -> None:
    assert replace_by(date(2026, 3, 15), _period("燃油加油机")) is None
    assert replace_by(date(2026, 3, 15), unknown_period(mode="first_only_limited_use")) is None


def test_glass_thermometer_has_no_end_date() -> None:
    assert valid_until(date(2026, 3, 15), _period("玻璃体温计")) is None


# due_status


@pytest.mark.parametrize(
    ("today", "status"),
    [
        (date(2026, 8, 1), "in_date"),
        (date(2026, 8, 14), "in_date"),
        (date(2026, 8, 15), "due_soon"),
        (date(2026, 9, 14), "due_soon"),
        (date(2026, 9, 15), "overdue"),
    ],
)
def test_due_soon_is_within_30_days_and_overdue_after_the_last_valid_day(today: date, status: str) -> None:
    assert due_status(date(2026, 9, 14), today, "periodic") == status


def test_an_unknown_period_is_unknown_never_overdue() -> None:
    assert due_status(None, date(2099, 1, 1), "periodic") == "unknown"
    assert due_status(None, date(2099, 1, 1), "unknown") == "unknown"
    assert due_status(None, date(2099, 1, 1), "first_only_limited_use") == "unknown"


def test_a_first_only_scrap_instrument_without_end_date_is_in_date() -> None:
    assert due_status(None, date(2099, 1, 1), "first_only_scrap") == "in_date"


def test_an_instrument_never_verified_says_so() -> None:
    assert due_status(None, date(2026, 1, 1), "periodic", verified=False) == "never_verified"


def test_a_limited_use_instrument_past_its_replace_by_date_is_overdue() -> None:
    assert due_status(date(2032, 3, 14), date(2032, 3, 15), "first_only_limited_use") == "overdue"


def test_period_is_frozen() -> None:
    period = _period("燃油加油机")
    with pytest.raises(AttributeError):
        period.months = 12  # type: ignore[misc]
