"""Coverage counts kept current: how many eligible instruments stand where, per district, zone, catalogue
item and period class, so the regulator's dashboard reads a few hundred rows instead of scanning
millions of instruments (issue 17: p95 ≤ 1 s at 5 million).

The counts hold each instrument's standing on one day, the basis (`coverage_basis.counted_on`).
- A change to instruments restates them in its own transaction (`restating`): their counts on the
  basis day are taken off before the change and put back after it.
- A standing changes with the date only when the day passes an instrument's valid-until or
  replace-by date (standing.py). So the counts on another day are the basis counts corrected by the
  instruments whose dates lie between the basis and that day, found by index, never by scan
  (`counts_on`); `advance` makes such a day the new basis, as the daily job does.
- Derived data, not evidence: `recount` is the definition (one grouped scan) and `differences`
  names every cell where the kept counts disagree with it — a count edited in the database, or an
  instrument row written past the services — so the audit names such a change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..registry.tables import coverage_basis, coverage_counts, instruments
from .standing import eligible, instruments_with_types, period_class, standing

__all__ = [
    "Key",
    "advance",
    "counts_on",
    "coverage_basis",
    "coverage_counts",
    "coverage_findings",
    "counted_in",
    "differences",
    "ensure",
    "rebuild",
    "recount",
    "restating",
]

Key = tuple[str, str, str, str, str]
"""(district_code, zone or '', item_code, period class, standing)."""
_NAMES = ("district_code", "zone", "item_code", "period", "standing")


def _grouped(conn: Connection, where: ColumnElement[bool], day: date) -> Counter[Key]:
    """Eligible instruments matching `where`, counted by key with their standing on `day`."""
    per_instrument = (
        select(
            instruments.c.district_code.label("district"),
            func.coalesce(instruments.c.zone, "").label("zone"),
            instruments.c.item_code.label("item"),
            period_class().label("period"),
            standing(day).label("standing"),
        )
        .select_from(instruments_with_types())
        .where(eligible(), where)
        .subquery()
    )
    # grouped outside the subquery: PostgreSQL does not match a GROUP BY expression holding a bound
    # parameter (the day) with the same expression in the select list
    s = per_instrument.c
    keys = (s.district, s.zone, s.item, s.period, s.standing)
    rows = conn.execute(select(*keys, func.count()).group_by(*keys))
    return Counter({(d, z, i, p, st): n for d, z, i, p, st, n in rows})


def _apply(conn: Connection, delta: Mapping[Key, int]) -> None:
    """Adds `delta` to the kept counts in one statement: a missing cell is made, an emptied one stays
    at 0. An upsert, so two transactions adding to a new cell at once both count."""
    changes = [dict(zip(_NAMES, k, strict=True), n=n) for k, n in delta.items() if n]
    if not changes:
        return
    upsert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    q = upsert(coverage_counts)
    conn.execute(
        q.on_conflict_do_update(index_elements=_NAMES, set_={"n": coverage_counts.c.n + q.excluded.n}), changes
    )


def _basis(conn: Connection, *, lock: bool = False, moving: bool = False) -> date | None:
    """The basis day. PostgreSQL (SQLite has one writer): a writer (`lock`) keeps the basis from moving
    under it; `advance` (`moving`) waits for every writer and keeps out the next."""
    q = select(coverage_basis.c.counted_on).where(coverage_basis.c.id == 1)
    if lock or moving:
        q = q.with_for_update(read=not moving)
    return conn.execute(q).scalar()


@contextmanager
def restating(conn: Connection, which: ColumnElement[bool]) -> Iterator[None]:
    """Around a change to the instruments `which` selects (in the caller's transaction): their counts
    on the basis day come off before the change and go back after it."""
    day = _basis(conn, lock=True)
    if day is None:  # no counts kept yet: `rebuild` will count everything
        yield
        return
    if conn.dialect.name == "postgresql":
        # the rows first, so that their "before" is the state this change replaces, not one a concurrent
        # change is replacing too (read committed would let both take the same rows off)
        conn.execute(select(instruments.c.id).where(which).with_for_update(of=instruments))
    before = _grouped(conn, which, day)
    yield
    after = _grouped(conn, which, day)
    after.subtract(before)
    _apply(conn, after)


def counted_in(conn: Connection, which: ColumnElement[bool]) -> None:
    """New instruments `which` selects join the counts (in the caller's transaction)."""
    day = _basis(conn, lock=True)
    if day is not None:
        _apply(conn, _grouped(conn, which, day))


def _passing(earlier: date, later: date) -> ColumnElement[bool]:
    """Instruments whose standing may differ between the two days: a valid-until or replace-by date
    from `earlier` up to the day before `later` (found by the two dates' indexes)."""
    return or_(
        and_(instruments.c.valid_until >= earlier, instruments.c.valid_until < later),
        and_(instruments.c.replace_by >= earlier, instruments.c.replace_by < later),
    )


def _correction(conn: Connection, basis: date, day: date, where: ColumnElement[bool]) -> Counter[Key]:
    """What turns the counts on `basis` into those on `day`, for the instruments `where` selects."""
    if day == basis:
        return Counter()
    passing = and_(where, _passing(min(basis, day), max(basis, day)))
    delta = _grouped(conn, passing, day)
    delta.subtract(_grouped(conn, passing, basis))
    return delta


def counts_on(conn: Connection, day: date, where: ColumnElement[bool], kept: ColumnElement[bool]) -> Counter[Key]:
    """The counts on `day` of the instruments `where` selects; `kept` is the same selection on the
    coverage_counts table. Without kept counts (a database never counted), one grouped scan."""
    basis = _basis(conn)
    if basis is None:
        return recount(conn, day, where)
    c = coverage_counts.c
    rows = conn.execute(select(c.district_code, c.zone, c.item_code, c.period, c.standing, c.n).where(kept))
    out = Counter({tuple(r[:5]): r[5] for r in rows})
    out.update(_correction(conn, basis, day, where))
    return +out  # cells at zero left out


def recount(conn: Connection, day: date, where: ColumnElement[bool] | None = None) -> Counter[Key]:
    """The definition: every eligible instrument counted by one grouped scan."""
    return +_grouped(conn, instruments.c.id.is_not(None) if where is None else where, day)


def rebuild(conn: Connection, day: date) -> None:
    """Counts every instrument afresh with `day` as the basis (at init, or after a repair)."""
    conn.execute(delete(coverage_counts))
    counted = recount(conn, day)
    if counted:
        conn.execute(insert(coverage_counts), [dict(zip(_NAMES, k, strict=True), n=n) for k, n in counted.items()])
    conn.execute(delete(coverage_basis))
    conn.execute(insert(coverage_basis).values(id=1, counted_on=day))


def ensure(conn: Connection, day: date) -> bool:
    """Counts everything with `day` as the basis unless counts are kept already (init, every serve);
    True when it counted."""
    if _basis(conn) is not None:
        return False
    rebuild(conn, day)
    return True


def advance(conn: Connection, day: date) -> int:
    """Makes `day` the basis, correcting the counts by the instruments whose dates lie between; returns
    how many cells changed. The daily job calls it; any day works (the page corrects meanwhile)."""
    basis = _basis(conn, moving=True)
    if basis is None:
        rebuild(conn, day)
        return -1
    if basis == day:
        return 0
    conn.execute(update(coverage_basis).where(coverage_basis.c.id == 1).values(counted_on=day))
    delta = _correction(conn, basis, day, instruments.c.id.is_not(None))
    _apply(conn, delta)
    return sum(1 for n in delta.values() if n)


def differences(conn: Connection, day: date) -> dict[Key, tuple[int, int]]:
    """Every cell where the kept counts on `day` disagree with a recount: key → (kept, recounted)."""
    kept = counts_on(conn, day, instruments.c.id.is_not(None), coverage_counts.c.n.is_not(None))
    actual = recount(conn, day)
    return {k: (kept[k], actual[k]) for k in set(kept) | set(actual) if kept[k] != actual[k]}


def coverage_findings(conn: Connection, day: date) -> list[Any]:
    """For the audit: each cell whose kept count on `day` is not what a recount gives (a count edited
    in the database, or instruments written past the services)."""
    from ..ledger.auditor import Finding

    found = []
    for key, (kept, actual) in sorted(differences(conn, day).items()):
        cell = "/".join(part or "-" for part in key)
        found.append(Finding("coverage_counts", cell, "changed", f"kept {kept}, recounted {actual} on {day}"))
    return found
