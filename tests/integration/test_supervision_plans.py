"""A cheap guard for city scale (issue 17), instead of a timed test: on 50,000 instruments the queries
behind the regulator's coverage table — the kept counts and their correction to another day — are
planned without a sequential scan of the instruments (nor of the verification history), on SQLite and
on PostgreSQL, so their cost follows the rows a page needs, not the size of the city."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, text

from jiliang.bulk import insert_rows
from jiliang.platform import Platform, shanghai_today
from jiliang.registry.tables import catalogue_types, districts, instruments
from jiliang.supervision import coverage
from jiliang.supervision.counts import rebuild
from tests.support import world

CITY = 50_000
HISTORY = ("instruments", "verification_records", "measurement_points", "certificates")


def _city(platform: Platform, today: date) -> None:
    """50,000 instruments of one owner in every district, of types with every kind of period, their
    dates spread over four years either side of today; the counts built; the planner's statistics taken."""
    owner = world.make_owner(platform, "310104")
    rng = random.Random(17)
    with platform.engine.begin() as c:
        codes = list(c.execute(select(districts.c.code)).scalars())
        types = list(c.execute(select(catalogue_types.c.id, catalogue_types.c.item_code)))
        rows: list[dict[str, Any]] = []
        for n in range(CITY):
            type_id, item = rng.choice(types)
            verified = rng.random() < 0.9
            until = today + timedelta(days=rng.randint(-1500, 1500)) if verified else None
            rows.append(
                {
                    "owner_id": owner.owner_id,
                    "item_code": item,
                    "type_id": type_id,
                    "procedure_code": None,
                    "name": "器具",
                    "manufacturer": "",
                    "model": "",
                    "serial_no": f"P{n}",
                    "software_version": None,
                    "software_checksum": None,
                    "parameters": {},
                    "district_code": rng.choice(codes),
                    "zone": None,
                    "location": "",
                    "use": "trade",
                    "status": "in_use",
                    "barred": rng.random() < 0.02,
                    "label_token": f"plan{n}",
                    "registered_at": datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
                    "last_verified_on": until - timedelta(days=365) if until else None,
                    "last_conclusion": "pass" if verified else None,
                    "valid_until": until,
                    "replace_by": until if rng.random() < 0.2 else None,
                }
            )
        insert_rows(c, instruments, rows)
        rebuild(c, today)
    with platform.engine.connect() as c:
        c.execute(text("ANALYZE"))
        c.commit()


@contextmanager
def _statements(platform: Platform) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(platform.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(platform.engine, "before_cursor_execute", keep)


def _scans(platform: Platform, statements: list[tuple[str, Any]]) -> list[str]:
    """The history tables each statement's plan reads whole."""
    found = []
    with platform.engine.connect() as c:
        sqlite = c.dialect.name == "sqlite"
        for statement, parameters in statements:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = "\n".join(str(r[-1]) for r in c.exec_driver_sql(explain + statement, parameters))
            for table in HISTORY:
                # SQLite: "SCAN instruments" (a search by index reads "SEARCH instruments USING …");
                # PostgreSQL: "Seq Scan on instruments"
                pattern = rf"\bSCAN {table}\b(?! USING)" if sqlite else rf"Seq Scan on {table}\b"
                if re.search(pattern, plan):
                    found.append(f"{table} in: {statement[:200]}\n{plan}")
    return found


def test_the_coverage_table_reads_no_instrument_table_whole_at_city_scale(platform) -> None:
    today = shanghai_today()
    _city(platform, today)
    admin = world.admin(platform)  # the whole city
    for day in (today, today + timedelta(days=45), today - timedelta(days=10)):
        with _statements(platform) as statements, platform.engine.connect() as c:
            table = coverage(c, admin, day)
        assert table.total.eligible > 0.9 * CITY * 0.5, table.total  # the city was read (periods known or not)
        assert statements
        assert _scans(platform, statements) == []
