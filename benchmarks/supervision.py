"""Benchmark: the regulator's coverage table at city scale, checked against DuckDB's recount.

    .venv/bin/python benchmarks/supervision.py [--instruments 500000] [--backend postgresql|sqlite]
                                               [--runs 20] [--reuse]

Builds (or with --reuse, reuses) a data set of N instruments in its own database — PostgreSQL database
`jl_supervision_<N>` or the SQLite file /tmp/jiliang-bench-supervision-<N>/jiliang.db — loaded by COPY
(PostgreSQL) or executemany (SQLite): owners in every district, instruments of every catalogue type
(periods known and unknown), dates spread four years either side of today, 2 % barred, 10 % never
verified. Then:

- build time and database size;
- the coverage table (supervision.coverage, what /supervision/coverage renders) p50 / p95 over
  `--runs` calls each, varied between the whole city and single-district regulators: as the page asks
  (today, with the counts' basis today or a day behind, as between two runs of the daily job), and for
  a day up to 60 ahead (each day ahead corrects the kept counts by the instruments whose dates pass
  meanwhile: a cost that grows with the window and the city);
- DuckDB's recount: the instruments and catalogue types exported to Parquet, every cell (district,
  zone, item, period class, standing) counted by DuckDB from the rules as standing.py states them, and
  compared with the platform's kept counts corrected to that day — today and 45 days ahead, then again
  after random registrations, relocations, scrappings and a revoked certificate made through the
  services, and after the basis advances a day; DuckDB's full-scan time is printed beside ours.

Goal (issue 17): p95 ≤ 1 s at 5 million instruments, and every cell equal to DuckDB's.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import duckdb  # noqa: E402
from issue_certificates import PG_ADMIN  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from tests.support import world  # noqa: E402

from jiliang.auth import load_actor  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.certificates import service as certificates  # noqa: E402
from jiliang.platform import Platform, shanghai_today  # noqa: E402
from jiliang.registry import service as registry  # noqa: E402
from jiliang.registry.tables import catalogue_types, districts, instruments, regulators, users  # noqa: E402
from jiliang.settings import Settings  # noqa: E402
from jiliang.supervision import coverage  # noqa: E402
from jiliang.supervision.counts import Key, advance, counts_on, coverage_counts, rebuild  # noqa: E402
from jiliang.verification import service as workflow  # noqa: E402

COLUMNS = (
    "owner_id item_code type_id name serial_no parameters district_code location use status barred label_token "
    "registered_at last_verified_on last_conclusion valid_until replace_by manufacturer model"
).split()


def _rows(n: int, owners: dict[str, int], types: list[tuple[int, str]], today: date, start: int):
    """N instruments as tuples in COLUMNS' order, reproducible."""
    rng = random.Random(17 + start)
    codes = sorted(owners)
    for k in range(start, start + n):
        district = rng.choice(codes)
        type_id, item = types[rng.randrange(len(types))]
        verified = rng.random() >= 0.10
        until = today + timedelta(days=rng.randint(-1460, 1460)) if verified else None
        yield (
            owners[district],
            item,
            type_id,
            "器具",
            f"B{k}",
            "{}",
            district,
            "",
            "trade",
            "in_use",
            rng.random() < 0.02,
            f"b{k}",
            datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=k),
            until - timedelta(days=365) if until else None,
            "pass" if verified else None,
            until,
            until if until and rng.random() < 0.25 else None,
            "",
            "",
        )


def _load(platform: Platform, n: int, today: date) -> None:
    """The instruments, by COPY on PostgreSQL, in chunks of 200,000."""
    owners = {}
    with platform.engine.connect() as c:
        codes = list(c.execute(select(districts.c.code)).scalars())
        types = [(r.id, r.item_code) for r in c.execute(select(catalogue_types.c.id, catalogue_types.c.item_code))]
    for code in codes:
        owners[code] = world.make_owner(platform, code).owner_id
    chunk = 200_000
    for start in range(0, n, chunk):
        rows = list(_rows(min(chunk, n - start), owners, types, today, start))
        with platform.engine.begin() as c:
            if c.dialect.name == "postgresql":
                raw = c.connection.dbapi_connection
                with raw.cursor() as cur, cur.copy(f"COPY instruments ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(COLUMNS))
                c.connection.dbapi_connection.executemany(
                    f"INSERT INTO instruments ({', '.join(COLUMNS)}) VALUES ({marks})",
                    [(*r[:12], r[12].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[13:]) for r in rows],
                )
        print(f"  loaded {start + len(rows):,} instruments", flush=True)
    with platform.engine.begin() as c:
        rebuild(c, today)
    with platform.engine.connect() as c:
        c.execute(text("ANALYZE"))
        c.commit()


def _size(platform: Platform, path: Path) -> int:
    with platform.engine.connect() as c:
        if c.dialect.name == "postgresql":
            return int(c.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    return path.stat().st_size


# the rules of supervision/standing.py, written again for DuckDB from their statement
DUCK_CELLS = """
WITH x AS (
  SELECT i.district_code AS district, coalesce(i.zone, '') AS zone, i.item_code AS item,
    CASE WHEN t.mode = 'periodic' AND t.period_months IS NOT NULL THEN 'periodic'
         WHEN t.mode = 'first_only_limited_use' AND t.service_life_months IS NOT NULL THEN 'limited_use'
         WHEN t.mode = 'first_only_scrap' THEN 'scrap' ELSE 'unknown' END AS period,
    i.barred, i.valid_until, i.replace_by, i.last_verified_on, i.last_conclusion
  FROM instruments i LEFT JOIN types t ON t.id = i.type_id
  WHERE i.status = 'in_use' AND i.item_code IS NOT NULL)
SELECT district, zone, item, period,
  CASE WHEN barred::BOOLEAN THEN 'barred'
       WHEN period = 'periodic' AND valid_until >= $day THEN 'covered'
       WHEN period = 'limited_use' AND last_conclusion = 'pass' AND replace_by >= $day THEN 'covered'
       WHEN period = 'scrap' AND last_conclusion = 'pass' AND (valid_until IS NULL OR valid_until >= $day)
            THEN 'covered'
       WHEN (CASE WHEN period = 'limited_use' THEN replace_by ELSE valid_until END) < $day THEN 'overdue'
       WHEN last_verified_on IS NULL THEN 'never_verified'
       ELSE 'no_valid_date' END AS standing,
  count(*) AS n
FROM x GROUP BY ALL
"""


def _export(platform: Platform, folder: Path) -> None:
    """The instruments and types as Parquet files DuckDB reads (through CSV: no other library)."""
    cols = "id, district_code, zone, item_code, type_id, status, barred, valid_until, replace_by, "
    cols += "last_verified_on, last_conclusion"
    for table, q in (
        ("instruments", f"SELECT {cols} FROM instruments"),
        ("types", "SELECT id, mode, period_months, service_life_months FROM catalogue_types"),
    ):
        path = folder / f"{table}.csv"
        with platform.engine.connect() as c, path.open("w", newline="") as out:
            if c.dialect.name == "postgresql":
                with (
                    c.connection.dbapi_connection.cursor() as cur,
                    cur.copy(f"COPY ({q}) TO STDOUT WITH CSV HEADER") as cp,
                ):
                    for block in cp:
                        out.write(bytes(block).decode())
            else:
                rows = c.exec_driver_sql(q)
                w = csv.writer(out)
                w.writerow(rows.keys())
                w.writerows(rows)
        texts = ("district_code", "zone", "item_code", "last_conclusion") if table == "instruments" else ("mode",)
        types = ", ".join(f"'{t}': 'VARCHAR'" for t in texts)
        read = f"read_csv('{path}', header = true, types = {{{types}}})"
        duckdb.sql(f"COPY (SELECT * FROM {read}) TO '{folder / table}.parquet' (FORMAT PARQUET)")
        path.unlink()


def _duck(folder: Path, day: date) -> tuple[dict[Key, int], float]:
    con = duckdb.connect()
    con.sql(f"CREATE VIEW instruments AS SELECT * FROM '{folder}/instruments.parquet'")
    con.sql(f"CREATE VIEW types AS SELECT * FROM '{folder}/types.parquet'")
    started = time.perf_counter()
    rows = con.execute(DUCK_CELLS, {"day": day}).fetchall()
    took = time.perf_counter() - started
    con.close()
    return {(d, z, i, p, s): n for d, z, i, p, s, n in rows}, took


def _ours(platform: Platform, day: date) -> tuple[dict[Key, int], float]:
    with platform.engine.connect() as c:
        started = time.perf_counter()
        kept = counts_on(c, day, instruments.c.id.is_not(None), coverage_counts.c.n.is_not(None))
        return dict(kept), time.perf_counter() - started


def _agree(platform: Platform, folder: Path, days: list[date], when: str) -> None:
    _export(platform, folder)
    for day in days:
        theirs, duck_s = _duck(folder, day)
        ours, ours_s = _ours(platform, day)
        bad = {
            k: (ours.get(k, 0), theirs.get(k, 0)) for k in set(ours) | set(theirs) if ours.get(k, 0) != theirs.get(k, 0)
        }
        verdict = "every cell equal" if not bad else f"{len(bad)} cells differ, e.g. {sorted(bad.items(), key=str)[:3]}"
        print(
            f"supervision[recount {when}, {day}]: {len(theirs)} cells, {sum(theirs.values()):,} instruments — "
            f"{verdict}; "
            f"ours {ours_s * 1000:.1f} ms, DuckDB full scan {duck_s * 1000:.0f} ms",
            flush=True,
        )
        if bad:
            raise SystemExit(1)


def _regulators(platform: Platform) -> list:
    """The whole city (the administrator) and one regulator account per district bureau."""
    admin = world.admin(platform)
    out = [admin]
    with platform.engine.connect() as c:
        bureaus = list(c.execute(select(regulators.c.id, regulators.c.code).where(regulators.c.code.like("SAMR-3%"))))
        made = {u for u in c.execute(select(users.c.username)).scalars()}
    for rid, code in bureaus:
        name = f"bench-{code.lower()}"
        if name not in made:
            registry.create_user(platform.uow(), admin, name, "bench-password", name, ["regulator"], regulator_id=rid)
        with platform.engine.connect() as c:
            out.append(load_actor(c, c.execute(select(users.c.id).where(users.c.username == name)).scalar_one()))
    return out


def _changes(platform: Platform, rng: random.Random, today: date) -> None:
    """Registrations, relocations, scrappings and a revoked certificate, through the services."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    scales = [world.scale(platform, owner) for _ in range(20)]
    tasks = workflow.apply(platform.uow(), owner, scales[:4])
    numbers = [world.verify(platform, lab, t) for t in tasks]
    certificates.revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), numbers[0], "benchmark")
    for iid in scales[4:10]:
        registry.relocate_instrument(platform.uow(), owner, iid, rng.choice(["310101", "310105", "310115"]), "")
    for iid in scales[10:13]:
        registry.scrap_instrument(platform.uow(), owner, iid)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instruments", type=int, default=500_000)
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--reuse", action="store_true", help="keep and reuse the data set between runs")
    a = ap.parse_args()
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-password")
    n = a.instruments
    data = Path(f"/tmp/jiliang-bench-supervision-{a.backend}-{n}")
    dbname = f"jl_supervision_{n}"
    url = f"sqlite:///{data / 'jiliang.db'}"
    fresh = True
    if a.backend == "postgresql":
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
        admin_engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as c:
            exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": dbname}).first()
            if exists and not a.reuse:
                c.execute(text(f'DROP DATABASE "{dbname}" WITH (FORCE)'))
            if not exists or not a.reuse:
                c.execute(text(f'CREATE DATABASE "{dbname}"'))
            fresh = not (exists and a.reuse)
    else:
        fresh = not (a.reuse and (data / "jiliang.db").exists())
        if fresh and data.exists():
            for f in data.glob("jiliang.db*"):
                f.unlink()
    data.mkdir(parents=True, exist_ok=True)
    today = shanghai_today()
    started = time.perf_counter()
    platform, _ = init_platform(Settings(data, url, None, 0, 600))
    if fresh:
        _load(platform, n, today)
        build = time.perf_counter() - started
        print(f"supervision[build]: {n:,} instruments in {build:.0f} s ({a.backend})", flush=True)
    with platform.engine.connect() as c:
        total = c.execute(select(func.count()).select_from(instruments)).scalar_one()
    print(f"supervision[size]: {total:,} instruments, database {_size(platform, data / 'jiliang.db') / 2**30:.2f} GiB")

    actors = _regulators(platform)
    rng = random.Random(5)

    def timed(days: list[int]) -> list[float]:
        out = []
        for k in range(a.runs + 1):
            actor = actors[0] if k % 3 == 0 else rng.choice(actors[1:])
            day = today + timedelta(days=rng.choice(days))
            with platform.engine.connect() as c:
                t0 = time.perf_counter()
                coverage(c, actor, day)
                if k:  # the first is a warm-up
                    out.append(time.perf_counter() - t0)
        return sorted(out)

    def report(what: str, times: list[float]) -> None:
        p95, p50 = times[max(0, round(0.95 * len(times)) - 1)], statistics.median(times)
        print(
            f"supervision[coverage table, {what}, {total:,} instruments]: p50 {p50 * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms over {len(times)} calls (city and district regulators) — "
            f"{'PASS' if p95 <= 1 else 'FAIL'} (goal p95 ≤ 1 s)",
            flush=True,
        )

    # as the page asks: today, the counts' basis today (the daily job ran) or yesterday (not yet today)
    page = timed([0])
    with platform.engine.begin() as c:
        advance(c, today - timedelta(days=1))
    page += timed([0])
    with platform.engine.begin() as c:
        advance(c, today)
    report("today, basis today or yesterday", sorted(page))
    report("a day 0–60 ahead", timed(list(range(61))))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _agree(platform, folder, [today, today + timedelta(days=45)], "as built")
        _changes(platform, rng, today)
        _agree(platform, folder, [today, today + timedelta(days=45)], "after changes")
        with platform.engine.begin() as c:
            advance(c, today + timedelta(days=1))
        _agree(platform, folder, [today + timedelta(days=1), today + timedelta(days=45)], "after the basis advanced")
        with platform.engine.begin() as c:
            advance(c, today)  # back, for a --reuse run
    if not a.reuse and a.backend == "postgresql":
        platform.engine.dispose()
        with admin_engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
