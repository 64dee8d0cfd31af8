"""Coverage of mandatory verification 强检覆盖率 by district × catalogue item, for the regulator's dashboard.

The rule (issue text): among registered in-use instruments under periodic verification, the share
whose valid-until is today or later, with counts. How each case is decided (see standing.py):

- eligible: status 'in_use' (scrapped ones have left the register) and a catalogue item (an
  instrument outside the catalogue is only calibrated, never under mandatory verification);
- never verified counts as not covered: an instrument must pass verification before use;
- barred (failed its last verification) is not covered, whatever dates it still carries;
- first-verification-only, limited-use instruments (水表, 燃气表, 电能表) count as covered until their
  replace-by date, then as overdue: they are replaced, not re-verified;
- first-verification-only instruments scrapped when inaccurate (玻璃体温计) count as covered once
  they passed a verification: they have no end date;
- instruments whose type gives no usable period (mode unknown, periodic without a period,
  limited-use without a service life, or no type recorded) are listed apart in `unknown_period` and
  kept out of every share: a guessed period would give the regulator a false figure;
- the district is the instrument's own (where it is used), not its owner's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, select

from ..auth import Actor
from ..registry.access import Jurisdiction, supervised_jurisdiction
from ..registry.directory import District
from ..registry.tables import catalogue_items, districts
from .counts import counts_on, coverage_counts

__all__ = ["CoverageCount", "CoverageTable", "District", "ItemName", "UnknownPeriodCount", "coverage"]


@dataclass(frozen=True, slots=True)
class ItemName:
    """A catalogue item (the catalogue gives Chinese names only)."""

    code: str
    name_zh: str


@dataclass(frozen=True, slots=True)
class CoverageCount:
    """Counts for one cell (district and item), one district (item None), one item (district None)
    or the whole jurisdiction (both None). covered + overdue + never_verified + barred +
    no_valid_date == eligible; share = covered / eligible, None when nothing is eligible."""

    district_code: str | None
    item_code: str | None
    eligible: int = 0
    covered: int = 0
    overdue: int = 0
    never_verified: int = 0
    barred: int = 0
    no_valid_date: int = 0
    share: float | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "share", self.covered / self.eligible if self.eligible else None)


@dataclass(frozen=True, slots=True)
class UnknownPeriodCount:
    """In-use instruments of one district and item whose type gives no usable period: not in any share."""

    district_code: str
    item_code: str
    instruments: int = 0
    never_verified: int = 0
    barred: int = 0


@dataclass(frozen=True, slots=True)
class CoverageTable:
    """The dashboard's table on `today`. `districts` are the jurisdiction's (every district for the
    city, zeros included); `items` those with at least one in-use instrument. `cells` and
    `unknown_period` hold non-empty (district, item) pairs only, sorted by district then item;
    `by_district` and `by_item` follow the order of `districts` and `items`."""

    today: date
    districts: tuple[District, ...]
    items: tuple[ItemName, ...]
    cells: tuple[CoverageCount, ...]
    by_district: tuple[CoverageCount, ...]
    by_item: tuple[CoverageCount, ...]
    total: CoverageCount
    unknown_period: tuple[UnknownPeriodCount, ...]

    def cell(self, district_code: str, item_code: str) -> CoverageCount | None:
        """The cell of a district and item, None when it has no eligible instrument."""
        return next((c for c in self.cells if (c.district_code, c.item_code) == (district_code, item_code)), None)


_STANDING_FIELDS = ("covered", "overdue", "never_verified", "barred", "no_valid_date")


def _sum(district: str | None, item: str | None, parts: Iterable[CoverageCount]) -> CoverageCount:
    totals = dict.fromkeys(_STANDING_FIELDS, 0)
    for p in parts:
        for k in _STANDING_FIELDS:
            totals[k] += getattr(p, k)
    return CoverageCount(district, item, eligible=sum(totals.values()), **totals)


def _district_names(conn: Connection, scope: Jurisdiction, seen: set[str]) -> tuple[District, ...]:
    q = select(districts.c.code, districts.c.name_zh, districts.c.name_en).order_by(districts.c.code)
    if not scope.whole_city:
        q = q.where(districts.c.code.in_(sorted(scope.districts | seen)))
    return tuple(District(*r) for r in conn.execute(q))


def coverage(conn: Connection, actor: Actor, today: date) -> CoverageTable:
    """Coverage by district × item in the actor's jurisdiction (regulators and administrators only;
    others get Forbidden), from the kept counts corrected to `today` (counts.py): no scan of the
    instruments, none of the history."""
    scope = supervised_jurisdiction(conn, actor)
    counted = counts_on(conn, today, scope.clause(), scope.clause(coverage_counts))
    names = dict(
        conn.execute(
            select(catalogue_items.c.code, catalogue_items.c.name_zh).where(
                catalogue_items.c.code.in_({k[2] for k in counted})
            )
        ).all()
    )
    rows = [
        (district, item, names[item], period, state, n) for (district, _, item, period, state), n in counted.items()
    ]

    known: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_STANDING_FIELDS, 0))
    unknown: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"instruments": 0, "never_verified": 0, "barred": 0}
    )
    item_names: dict[str, str] = {}
    for district, item, item_zh, period, state, n in rows:
        item_names[item] = item_zh
        if period == "unknown":
            u = unknown[(district, item)]
            u["instruments"] += n
            if state in ("never_verified", "barred"):
                u[state] += n
        else:
            known[(district, item)][state] += n

    cells = tuple(CoverageCount(d, i, eligible=sum(c.values()), **c) for (d, i), c in sorted(known.items()))
    district_rows = _district_names(conn, scope, {d for d, _ in known} | {d for d, _ in unknown})
    items = tuple(ItemName(code, item_names[code]) for code in sorted(item_names))
    by_district = tuple(_sum(d.code, None, (c for c in cells if c.district_code == d.code)) for d in district_rows)
    return CoverageTable(
        today=today,
        districts=district_rows,
        items=items,
        cells=cells,
        by_district=by_district,
        by_item=tuple(_sum(None, it.code, (c for c in cells if c.item_code == it.code)) for it in items),
        total=_sum(None, None, cells),
        unknown_period=tuple(UnknownPeriodCount(d, i, **u) for (d, i), u in sorted(unknown.items())),
    )
