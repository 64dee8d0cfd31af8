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
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import jjg539, world  # noqa: E402

from jiliang.auth import confirm_password, load_actor  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
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
READINGS, STAGE = RECORDS["full"]


def prepare(platform: Platform, n: int) -> tuple[world.Lab, list[int]]:
    """Owner, lab and n registered scales with assigned tasks (not timed)."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    tid = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    inst_id = world.institution_id(platform, "D310104")
    uow = platform.uow()
    with uow:
        now = utcnow()
        rows = [
            {
                "owner_id": owner.owner_id,
                "item_code": "nawi",
                "type_id": tid,
                "procedure_code": "nawi",
                "name": "电子计价秤",
                "serial_no": f"B{i:07d}",
                "parameters": {"accuracy_class": "III", "e": "0.005"},
                "district_code": "310104",
                "use": "trade",
                "label_token": uuid.uuid4().hex[:16],
                "registered_at": now,
                "status": "in_use",
                "barred": False,
            }
            for i in range(n)
        ]
        uow.conn.execute(insert(instruments), rows)
        ids = list(
            uow.conn.execute(
                select(instruments.c.id).where(instruments.c.owner_id == owner.owner_id).order_by(instruments.c.id)
            ).scalars()
        )
        app_id = uow.conn.execute(
            insert(applications)
            .values(
                owner_id=owner.owner_id,
                kind="verification",
                created_by=owner.user_id,
                created_at=now,
                conformity_statement=True,
            )
            .returning(applications.c.id)
        ).scalar_one()
        uow.conn.execute(
            insert(tasks),
            [
                {
                    "application_id": app_id,
                    "instrument_id": i,
                    "institution_id": inst_id,
                    "kind": "verification",
                    "state": "assigned",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
        task_ids = list(
            uow.conn.execute(select(tasks.c.id).where(tasks.c.application_id == app_id).order_by(tasks.c.id)).scalars()
        )
        uow.commit()
    return lab, task_ids


def issue(platform: Platform, lab: world.Lab, task_ids: list[int], batch: int) -> float:
    with platform.engine.connect() as c:
        v, ch, ap = (
            confirm_password(c, load_actor(c, p.user_id), world.PASSWORD)
            for p in (lab.verifier, lab.checker, lab.approver)
        )
    today = shanghai_today()
    start = time.perf_counter()
    for k in range(0, len(task_ids), batch):
        uow = platform.uow()
        with uow:  # one transaction for the batch: results, check, approval, certificates
            entries = [
                (
                    tid,
                    workflow.ResultsInput(
                        performed_on=today,
                        standard_ids=[lab.standard_id],
                        readings=READINGS,
                        stage=STAGE,
                        environment={"temperature": "20.1 °C"},
                    ),
                )
                for tid in task_ids[k : k + batch]
            ]
            record_ids = workflow.record_results_batch(uow, v, entries)
            workflow.check_records(uow, ch, record_ids)
            workflow.approve_records(uow, ap, record_ids)
            uow.commit()
    return time.perf_counter() - start


def run_backend(name: str, url: str | None, n: int, batch: int, repeat: int, workdir: Path) -> tuple[float, Platform]:
    """`repeat` timed runs of n certificates each on one database; the median is the figure (this
    virtual machine's speed wanders by about ±8 % from run to run)."""
    data_dir = workdir / name
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-pass")
    platform, _ = init_platform(Settings(data_dir, url or f"sqlite:///{data_dir / 'jiliang.db'}", None, 0, 60))
    lab, task_ids = prepare(platform, n * repeat)
    rates = [n / issue(platform, lab, task_ids[k * n : (k + 1) * n], batch) for k in range(repeat)]
    with platform.engine.connect() as c:
        issued = c.execute(select(certificates.c.id).where(certificates.c.institution_id == lab.institution_id)).all()
    assert len(issued) == n * repeat, (len(issued), n * repeat)
    rate = statistics.median(rates)
    print(
        f"issue_certificates[{name}]: median {rate:,.0f} certificates/s over {repeat} runs of {n} "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)}; batch {batch})",
        flush=True,
    )
    return rate, platform


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
    ap.add_argument("--record", choices=sorted(RECORDS), default="full", help="the readings of each certificate")
    a = ap.parse_args()
    global READINGS, STAGE
    READINGS, STAGE = RECORDS[a.record]
    print(f"issue_certificates: {len(READINGS)} readings per certificate ({a.record}, stage {STAGE})")
    workdir = Path(tempfile.mkdtemp(prefix="jiliang-bench-"))
    try:
        sqlite_rate, sqlite_platform = run_backend("sqlite", None, a.n, a.batch, a.repeat, workdir)
        pg_rate = None
        if not a.skip_postgres:
            with fresh_database() as (url, _):
                pg_rate, pg_platform = run_backend("postgresql", url, a.n, a.batch, a.repeat, workdir)
                pg_platform.engine.dispose()
        print(
            f"issue_certificates: SQLite {sqlite_rate:,.0f}/s (goal >= 2,000), PostgreSQL "
            f"{'n/a' if pg_rate is None else f'{pg_rate:,.0f}/s'} (goal >= 1,000)"
        )
        if not a.skip_wrk:
            http_bench(sqlite_platform, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
