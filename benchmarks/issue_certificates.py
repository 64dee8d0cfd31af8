"""Benchmark: certificates issued per second end to end through the service layer, on SQLite and
PostgreSQL; then the public verification endpoint beside a bare FastAPI endpoint under wrk.

    .venv/bin/python benchmarks/issue_certificates.py [--n 5000] [--batch 1000] [--repeat 5] [--skip-wrk]

Each certificate goes results → MPE decision → check → approval → number → Ed25519 signature →
persist (record, points, sign-offs, certificate, audit events, instrument's current status). A
batch puts `--batch` certificates in one transaction (the re-entrant unit of work); each person
confirms their password once for the batch session, as a signing clerk would. SQLite runs in WAL
mode with synchronous=NORMAL; PostgreSQL at its defaults. wrk (Debian package `wrk`) drives both
HTTP endpoints at 64 connections for 10 s with the public rate limit and any caching off.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import jjg539, world  # noqa: E402
from tests.support.uncertainty_world import budget_standards  # noqa: E402

from benchmarks import floor, phases  # noqa: E402
from jiliang.auth import confirm_password, load_actor  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.bulk import insert_returning_ids  # noqa: E402
from jiliang.certificates.tables import certificates  # noqa: E402
from jiliang.platform import Platform, shanghai_today  # noqa: E402
from jiliang.registry.tables import instruments  # noqa: E402
from jiliang.settings import Settings  # noqa: E402
from jiliang.types import utcnow  # noqa: E402
from jiliang.verification import service as workflow  # noqa: E402
from jiliang.verification.tables import applications, tasks  # noqa: E402

PG_ADMIN = os.environ.get("JILIANG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_database(prefix: str = "jl_bench") -> Iterator[tuple[str, str]]:
    """A new, empty PostgreSQL database for one run, dropped afterwards: (its URL, its name)."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    dbname = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname, dbname
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


# --record full: a subsequent verification as JJG 539's whole test (weighing with E0 and five loads,
# eccentricity, repeatability, discrimination, zero-setting: 20 readings); --record weighing: an in-service
# inspection's weighing test alone (E0 and five loads: 6 readings), about the size of the 4-point
# records measured before issue 11
RECORDS = {
    "full": (world.SCALE_PASS, "subsequent"),
    "weighing": (jjg539.as_inputs(jjg539.weighing()), "in_service"),
}


# The batch mixes instruments as the demo's (scales first), with a fifth whose procedure carries an
# uncertainty budget: EV AC chargers (JJG 1148-2022, U of the relative energy error decided by JJF 1094)
# and thermometers sent for calibration (U with k = 2 at three bath points, a correction curve).
EV_READINGS = [workflow.ReadingInput("energy", "10.000", "10.02")]
THERMOMETER_READINGS = [
    workflow.ReadingInput("t1", "0.000", "0.02"),
    workflow.ReadingInput("t2", "20.000", "20.03"),
    workflow.ReadingInput("t3", "40.000", "39.98"),
]
BATH = {"temperature": "20.3 °C", "bath_uniformity": "0.01", "bath_stability": "0.005"}


@dataclass(frozen=True)
class Kind:
    """One kind of certificate in the batch: what is registered and what the verifier records."""

    name: str
    item_code: str | None
    type_name: str | None
    procedure_code: str
    parameters: dict[str, str]
    task_kind: str
    readings: list[Any]
    stage: str | None
    environment: dict[str, str]
    standard: str  # which of the lab's standards is used: "lab", "energy", "thermometer"


SCALE = ("nawi", "数字指示秤/电子计价秤", "nawi", {"accuracy_class": "III", "e": "0.005"})
KINDS = {
    "full": Kind(
        "scale, JJG 539 subsequent", *SCALE, "verification", *RECORDS["full"], {"temperature": "20.1 °C"}, "lab"
    ),
    "weighing": Kind(
        "scale, in-service weighing", *SCALE, "verification", *RECORDS["weighing"], {"temperature": "20.1 °C"}, "lab"
    ),
    "ev": Kind(
        "EV AC charger",
        "ev_charger",
        "电动汽车交流充电桩",
        "ev_charger_ac",
        {"accuracy_class": "1", "resolution": "0.001"},
        "verification",
        EV_READINGS,
        "subsequent",
        {"temperature": "21.0 °C"},
        "energy",
    ),
    "thermometer": Kind(
        "thermometer calibration",
        None,
        None,
        "thermometer_calibration",
        {"resolution": "0.01"},
        "calibration",
        THERMOMETER_READINGS,
        None,
        BATH,
        "thermometer",
    ),
}
# every tenth certificate an EV charger, every tenth a thermometer: 20 % with a budget
MIX = ("full", "weighing", "ev", "full", "weighing", "thermometer", "full", "weighing", "full", "weighing")
BATCHES = {"mix": MIX, "full": ("full",), "weighing": ("weighing",)}


@dataclass(frozen=True)
class Prepared:
    lab: world.Lab
    standards: dict[str, int]
    tasks: list[tuple[int, Kind]]


def _standards(platform: Platform, lab: world.Lab) -> dict[str, int]:
    """The lab's scale standard, an energy standard with relative U and a standard thermometer with U."""
    return {"lab": lab.standard_id} | budget_standards(platform, lab)


def prepare(platform: Platform, n: int, batch: str) -> Prepared:
    """Owner, lab with its standards and n registered instruments with assigned tasks (not timed)."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", ["nawi", "ev_charger"])
    standards = _standards(platform, lab)
    kinds = [KINDS[BATCHES[batch][i % len(BATCHES[batch])]] for i in range(n)]
    types = {k.name: world.type_id(platform, k.item_code, k.type_name) for k in kinds if k.type_name}
    uow = platform.uow()
    with uow:
        now = utcnow()
        rows = [
            {
                "owner_id": owner.owner_id,
                "item_code": k.item_code,
                "type_id": types.get(k.name),
                "procedure_code": k.procedure_code,
                "name": k.name,
                "serial_no": f"B{i:07d}",
                "manufacturer": "",
                "model": "",
                "location": "",
                "parameters": k.parameters,
                "district_code": "310104",
                "use": "trade",
                "label_token": uuid.uuid4().hex[:16],
                "registered_at": now,
                "status": "in_use",
                "barred": False,
            }
            for i, k in enumerate(kinds)
        ]
        ids = insert_returning_ids(uow.conn, instruments, rows)
        apps = {}
        for task_kind, statement in (("verification", True), ("calibration", False)):
            apps[task_kind] = uow.conn.execute(
                insert(applications)
                .values(
                    owner_id=owner.owner_id,
                    kind=task_kind,
                    created_by=owner.user_id,
                    created_at=now,
                    conformity_statement=statement,
                )
                .returning(applications.c.id)
            ).scalar_one()
        task_rows = [
            {
                "application_id": apps[k.task_kind],
                "instrument_id": i,
                "institution_id": lab.institution_id,
                "kind": k.task_kind,
                "state": "assigned",
                "created_at": now,
                "updated_at": now,
            }
            for i, k in zip(ids, kinds, strict=True)
        ]
        task_ids = insert_returning_ids(uow.conn, tasks, task_rows)
        uow.commit()
    return Prepared(lab, standards, list(zip(task_ids, kinds, strict=True)))


def entries(prepared: Prepared, chunk: list[tuple[int, Kind]]) -> list[tuple[int, workflow.ResultsInput]]:
    today = shanghai_today()
    return [
        (
            tid,
            workflow.ResultsInput(
                performed_on=today,
                standard_ids=[prepared.standards[k.standard]],
                readings=k.readings,
                stage=k.stage,
                environment=k.environment,
            ),
        )
        for tid, k in chunk
    ]


def issue(platform: Platform, prepared: Prepared, chunk: list[tuple[int, Kind]], batch: int) -> float:
    lab = prepared.lab
    with platform.engine.connect() as c:
        v, ch, ap = (
            confirm_password(c, load_actor(c, p.user_id), world.PASSWORD)
            for p in (lab.verifier, lab.checker, lab.approver)
        )
    start = time.perf_counter()
    for k in range(0, len(chunk), batch):
        uow = platform.uow()
        with uow:  # one transaction for the batch: results, check, approval, certificates
            record_ids = workflow.record_results_batch(uow, v, entries(prepared, chunk[k : k + batch]))
            workflow.check_records(uow, ch, record_ids)
            workflow.approve_records(uow, ap, record_ids)
            uow.commit()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Figures:
    rate: float  # certificates/s, the median of the runs
    runs: list[float]
    floor: float  # certificates/s of the floor (benchmarks/floor.py), the median of its runs
    floor_rows: int  # rows the floor inserted per run
    share: float  # the median of each run's rate ÷ its own floor


def _empty_platform(name: str, url: str | None, workdir: Path) -> Platform:
    data_dir = workdir / name
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-pass")
    platform, _ = init_platform(Settings(data_dir, url or f"sqlite:///{data_dir / 'jiliang.db'}", None, 0, 60))
    return platform


def run_backend(
    name: str, url: str | None, n: int, batch: int, repeat: int, workdir: Path, mix: str, floor_repeat: int
) -> tuple[Figures, Platform]:
    """`repeat` timed runs of n certificates each on one database, each followed by its floor: that
    run's payloads signed and its rows inserted again with the bare driver (`floor_repeat` times, the
    median kept), so that the machine's speed, which wanders from minute to minute on this virtual
    machine, weighs on a run and its floor alike. The figures are the medians: of the rates, of the
    floors, and of each run's share of its own floor."""
    platform = _empty_platform(name, url, workdir)
    prepared = prepare(platform, n * (repeat + 1), mix)  # the last n for the phase breakdown
    _ = platform.procedures
    gc.freeze()  # what the server does once started (jiliang/asgi.py): start-up objects out of the GC's scans
    rates, floors = [], []
    for k in range(repeat):
        marks = floor.watermarks(platform.engine)
        rates.append(n / issue(platform, prepared, prepared.tasks[k * n : (k + 1) * n], batch))
        captured = floor.capture(platform.engine, marks)
        assert captured.certificates == n, captured.certificates
        after = [n / floor.floor_seconds(platform.engine, captured, marks) for _ in range(floor_repeat)]
        floors.append(statistics.median(after))
    with platform.engine.connect() as c:
        issued = c.execute(
            select(certificates.c.id).where(certificates.c.institution_id == prepared.lab.institution_id)
        ).all()
    assert len(issued) == n * repeat, (len(issued), n * repeat)
    with phases.charged() as spent:
        issue(platform, prepared, prepared.tasks[repeat * n :], batch)
    total = sum(spent.values())
    breakdown = "\n".join(
        f"    {name:<30} {1000 * t / n:6.3f} ms per certificate {100 * t / total:5.1f}%"
        for name, t in sorted(spent.items(), key=lambda kv: -kv[1])
    )
    shares = [r / f for r, f in zip(rates, floors, strict=True)]
    median = statistics.median
    figures = Figures(median(rates), rates, median(floors), captured.rows, median(shares))
    print(
        f"issue_certificates[{name}]: median {figures.rate:,.0f} certificates/s over {repeat} runs of {n} "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}; batch {batch})\n"
        f"  floor[{name}]: {figures.floor:,.0f} certificates/s "
        f"(after each run: {', '.join(f'{r:,.0f}' for r in floors)}; "
        f"{captured.rows / n:.1f} rows and one signature per certificate, bare driver, one transaction, "
        f"the same schema and constraints; each the median of {floor_repeat})\n"
        f"  issuance = {100 * figures.share:.0f}% of the floor, the median of each run's share "
        f"({', '.join(f'{100 * x:.0f}%' for x in shares)}; goal >= 25%)\n"
        f"  phases[{name}] (one more run of {n}, benchmarks/phases.py):\n{breakdown}",
        flush=True,
    )
    return figures, platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, script: Path | None, connections: int = 64, headers: tuple[str, ...] = ()) -> tuple[float, float]:
    """req/s and p99 (ms) of `wrk -t2 -c<connections> -d10s`, each header given as "Name: value"."""
    extra = [arg for h in headers for arg in ("-H", h)] + (["-s", str(script)] if script else [])
    cmd = ["wrk", "-t2", f"-c{connections}", "-d10s", "--latency", *extra, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    p99 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("99%"))
    unit = 1000.0 if p99.endswith("us") else (1.0 if p99.endswith("ms") else 0.001)
    p99_ms = float(p99.rstrip("mus")) / unit if not p99.endswith("ms") else float(p99[:-2])
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rps, p99_ms


WORKERS = 2  # one per core; both servers run alike


def lua_paths(paths: list[str]) -> str:
    """A wrk script that requests the paths in turn."""
    return (
        "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
        "i = 0\nrequest = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )


def server_env(settings: Settings) -> dict[str, str]:
    """The environment of a `uvicorn jiliang.asgi:app` serving this platform, public rate limit off."""
    return os.environ | {
        "JILIANG_DATA_DIR": str(settings.data_dir),
        "JILIANG_DATABASE_URL": settings.database_url,
        "JILIANG_PUBLIC_RATE_LIMIT": "0",  # the limiter would answer 429s to wrk's single address
        "PYTHONPATH": str(ROOT / "src"),
    }


def serve(
    args: list[str], env: dict[str, str], workers: int = WORKERS, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """uvicorn with `workers` processes; its output goes to `log` when given."""
    out = None if log is None else log.open("ab")
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                *args,
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=None if out is None else subprocess.STDOUT,
        )
    finally:
        if out is not None:
            out.close()  # the server has its own copy


def wait_ready(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def http_bench(platform: Platform, workdir: Path) -> None:
    if shutil.which("wrk") is None:
        print("public_endpoint: skipped — install Debian's wrk (apt-get install wrk)")
        return
    with platform.engine.connect() as c:
        rows = c.execute(select(certificates.c.number, certificates.c.public_token).limit(2000)).all()
    scripts = {}
    for kind, paths in (
        ("facts", [f"/public/certificates/{n}?token={t}" for n, t in rows]),
        ("status", [f"/public/certificates/{n}" for n, _ in rows]),
    ):
        scripts[kind] = workdir / f"{kind}.lua"
        scripts[kind].write_text(lua_paths(paths))
    env = server_env(platform.settings)
    results = {}
    for name, target, script in (
        ("bare", "benchmarks.bare_app:app", None),
        ("facts", "jiliang.asgi:app", scripts["facts"]),
        ("status", "jiliang.asgi:app", scripts["status"]),
    ):
        port = free_port()
        proc = serve([target, "--port", str(port)], env)
        try:
            wait_ready(port)
            url = f"http://127.0.0.1:{port}" + ("/bare" if name == "bare" else "")
            wrk(url, script)  # warm-up run, discarded
            results[name] = wrk(url, script)
        finally:
            proc.terminate()
            proc.wait()
    bare_rps, bare_p99 = results["bare"]
    print(f"bare_fastapi: {bare_rps:,.0f} req/s p99 {bare_p99:.1f} ms ({WORKERS} workers, wrk -t2 -c64 -d10s)")
    for name, label in (
        ("facts", "public_endpoint[number+token, signature checked]"),
        ("status", "public_endpoint[number only]"),
    ):
        rps, p99 = results[name]
        print(
            f"{label}: {rps:,.0f} req/s p99 {p99:.1f} ms = {100 * rps / bare_rps:.0f}% of bare "
            "(goal >= 40%, p99 < 25 ms)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--floor-repeat", type=int, default=3, help="floor runs, each in an empty database")
    ap.add_argument(
        "--record", choices=sorted(BATCHES), default="mix", help="what each certificate records (default: the mix)"
    )
    a = ap.parse_args()
    shares = {KINDS[k].name: BATCHES[a.record].count(k) / len(BATCHES[a.record]) for k in BATCHES[a.record]}
    print("issue_certificates: batch of " + ", ".join(f"{v:.0%} {k}" for k, v in shares.items()))
    workdir = Path(tempfile.mkdtemp(prefix="jiliang-bench-"))
    try:
        sqlite, sqlite_platform = run_backend("sqlite", None, a.n, a.batch, a.repeat, workdir, a.record, a.floor_repeat)
        pg = None
        if not a.skip_postgres:
            with fresh_database() as (url, _):
                pg, pg_platform = run_backend(
                    "postgresql", url, a.n, a.batch, a.repeat, workdir, a.record, a.floor_repeat
                )
                pg_platform.engine.dispose()
        print(
            f"issue_certificates: SQLite {sqlite.rate:,.0f}/s = {100 * sqlite.share:.0f}% of its floor, "
            "PostgreSQL "
            + ("n/a" if pg is None else f"{pg.rate:,.0f}/s = {100 * pg.share:.0f}% of its floor")
            + " (goal >= 25% of the floor on each: about 2,000/s and 1,000/s on a normal day)"
        )
        if not a.skip_wrk:
            http_bench(sqlite_platform, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
