"""Load test: the highest rate with p99 < 300 ms of the public QR check and of the API lists, served by
several uvicorn worker processes on one PostgreSQL database, beside a bare FastAPI endpoint served
alike; then zero errors at 80 % of that rate.

    .venv/bin/python benchmarks/load.py [--workers 2] [--certificates 5000] [--step-duration 5] [--duration 30]
                                        [--max-connections 128] [--headroom 2] [--all-steps]
                                        [--skip-bare] [--skip-public] [--skip-api]

A fresh PostgreSQL database (`JILIANG_TEST_PG_ADMIN_URL`) gets the platform (`init_platform`) and
`--certificates` scales, each with its issued certificate (the helpers of `issue_certificates.py`).
uvicorn serves `jiliang.asgi:app` with `--workers` processes on 127.0.0.1 only, public rate limit
off (`JILIANG_PUBLIC_RATE_LIMIT=0`: wrk is one address); the three API tokens come from
`POST /api/auth/login` (three logins, far below the login limit; tokens live 8 h). The yardstick,
`benchmarks/bare_app.py`, is served the same way with the same worker count. Targets:

- bare: `GET /bare`;
- public: `GET /public/certificates/{number}?token=…`, every certificate in turn (signature checked);
- instruments: `GET /api/instruments?limit=50&cursor=…` as the owner, every page in turn;
- tasks: `GET /api/tasks` as the verifier (the queue: 200 tasks with instrument and owner);
- certificates: `GET /api/certificates?limit=50&cursor=…` as the approver, every page in turn.

Each target: a discarded warm-up, then wrk (closed loop) at 1, 2, 4 … `--max-connections`
connections for `--step-duration` s each, stopping at the first step whose p99 reaches 300 ms or
that has an error (`--all-steps` goes on, to show overload). The maximum is the highest req/s of a
step with p99 < 300 ms and no error. Then 80 % of that rate for `--duration` s on `--headroom`
times the connections of the maximum, paced: wrk's `delay()` hook gives each request a
slot on a fixed schedule (per wrk thread, monotonic clock through LuaJIT's FFI) and counts the
requests that found no free connection at their slot (sent late: their latency, measured from the
send, leaves out that wait). Errors are non-2xx answers, socket errors and timeouts (2 s); an
error in an 80 % run exits 1, and so does a target with no step under the bound. An 80 % run more
than 5 % below its target rate is reported (the server did not keep up) but is no error.

Beside each figure: memory (VmRSS of the uvicorn workers before and after the target, RssAnon of
the PostgreSQL backends on the database), and where the CPU went (the workers' CPU per request;
cores busy: workers, PostgreSQL, wrk, anything else — the machine must be otherwise idle).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import world  # noqa: E402

from benchmarks.issue_certificates import (  # noqa: E402
    PG_ADMIN,
    free_port,
    fresh_database,
    issue,
    lua_paths,
    prepare,
    serve,
    server_env,
    wait_ready,
)
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.certificates.tables import certificates  # noqa: E402
from jiliang.registry.tables import instruments, users  # noqa: E402
from jiliang.settings import Settings  # noqa: E402
from jiliang.verification.tables import tasks  # noqa: E402

P99_BOUND_MS = 300.0
PAGE = 50  # rows per page of the paged lists
WRK_THREADS = 2  # one per core
RATE_TOLERANCE = 0.95  # an 80 % run below this share of its target rate did not hold the rate
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")

# Appended to the path rotation of `lua_paths`: a start offset per thread, non-2xx answers counted,
# one JSON line of results from `done`.
LUA_COMMON = """
threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  i = math.floor((id or 0) * #paths / THREADS)
  bad, late, max_late = 0, 0, 0
end
function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad, late, max_late = 0, 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("bad") or 0)
    late = late + (t:get("late") or 0)
    max_late = math.max(max_late, t:get("max_late") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, "max_us": %.0f, ' ..
    '"socket": %.0f, "timeout": %.0f, "non2xx": %.0f, "late": %.0f, "max_late_us": %.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write, e.timeout, bad, late, max_late))
end
"""
# The pacing: RATE_PER_THREAD requests a second from each wrk thread, on a fixed schedule.
LUA_PACED = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } jl_timespec_t;
int clock_gettime(int clk_id, jl_timespec_t *tp);
]]
local ts = ffi.new("jl_timespec_t")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
local interval = 1000000 / RATE_PER_THREAD
local due = nil
-- called when a connection is free to send: it takes the next slot and waits for it
function delay()
  local now = now_us()
  if due == nil then due = now else due = due + interval end
  local wait = due - now
  if wait < -1000 then late = late + 1 end  -- over 1 ms behind: no connection was free in time
  if -wait > max_late then max_late = -wait end
  if wait <= 0 then return 0 end
  return math.floor(wait / 1000)
end
"""


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    paths: list[str]
    token: str | None = None


# ---------------------------------------------------------------- processes: memory and CPU


def _stat(pid: int | str) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of /proc/<pid>/stat, or None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    head, rest = raw.rsplit(")", 1)
    return head.split("(", 1)[1], rest.split()


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def worker_pids(master: int) -> list[int]:
    """The uvicorn worker processes: the master's children, without multiprocessing's helpers."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _stat(entry.name)
        if stat is None or int(stat[1][1]) != master:
            continue
        try:
            if b"resource_tracker" not in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(pids)


def _cpu_s(fields: list[str], children: bool = False) -> float:
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:  # cutime, cstime: the children it has reaped
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def postgres_cpu_s() -> float:
    """CPU time of every PostgreSQL process, with the backends that have exited (their time is
    added to the postmaster's when it reaps them)."""
    procs = {e.name: s for e in Path("/proc").glob("[0-9]*") if (s := _stat(e.name)) and s[0] == "postgres"}
    return sum(_cpu_s(f, children=f[1] not in procs) for _, f in procs.values())


def machine_busy_s() -> float:
    """CPU time the machine spent outside idle and I/O wait, all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS


def children_cpu_s() -> float:
    """CPU time of this process's finished children: wrk's, when read around its run."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Cpu:
    """CPU seconds: the uvicorn workers, PostgreSQL, wrk, the whole machine."""

    server: float
    postgres: float
    wrk: float
    machine: float

    @classmethod
    def now(cls, master: int) -> Cpu:
        workers = [s for p in worker_pids(master) if (s := _stat(p))]
        return cls(sum(_cpu_s(f) for _, f in workers), postgres_cpu_s(), children_cpu_s(), machine_busy_s())

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.server - other.server,
            self.postgres - other.postgres,
            self.wrk - other.wrk,
            self.machine - other.machine,
        )


def workers_rss_mb(master: int) -> float:
    return sum(_status_kb(p, "VmRSS") for p in worker_pids(master)) / 1024


def postgres_memory(admin: Engine, dbname: str) -> tuple[int, float]:
    """(client backends on the database, their summed private memory RssAnon in MB)."""
    with admin.connect() as c:
        pids = list(
            c.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND backend_type = 'client backend'"),
                {"d": dbname},
            ).scalars()
        )
    return len(pids), sum(_status_kb(p, "RssAnon") for p in pids) / 1024


# ---------------------------------------------------------------- wrk


@dataclass(frozen=True)
class Run:
    connections: int
    requests: int
    seconds: float  # as wrk measured it
    wall: float  # around the wrk process, for the CPU shares
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write
    timeouts: int
    non2xx: int
    late: int  # paced runs: requests sent more than 1 ms after their slot
    max_late_ms: float
    cpu: Cpu

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return self.socket_errors + self.timeouts + self.non2xx

    def error_kinds(self) -> str:
        kinds = (("non-2xx", self.non2xx), ("socket errors", self.socket_errors), ("timeouts", self.timeouts))
        return ", ".join(f"{n:,} {kind}" for kind, n in kinds if n)

    def error_text(self) -> str:
        return f"{self.errors} errors (non-2xx {self.non2xx}, socket {self.socket_errors}, timeouts {self.timeouts})"

    def cpu_text(self) -> str:
        c, w = self.cpu, self.wall
        other = max(c.machine - c.server - c.postgres - c.wrk, 0.0)  # below 0: clock-tick rounding
        return (
            f"workers {1000 * c.server / max(self.requests, 1):.2f} ms CPU a request; "
            f"cores busy {c.machine / w:.2f} of {CORES}: workers {c.server / w:.2f}, PostgreSQL {c.postgres / w:.2f}, "
            f"wrk {c.wrk / w:.2f}, other {other / w:.2f}"
        )


def wrk_script(workdir: Path, target: Target, rate: float | None) -> Path:
    body = lua_paths(target.paths) + LUA_COMMON.replace("THREADS", str(WRK_THREADS))
    if target.token:
        body += f'wrk.headers["Authorization"] = "Bearer {target.token}"\n'
    if rate is not None:
        body += LUA_PACED.replace("RATE_PER_THREAD", repr(rate / WRK_THREADS))
    path = workdir / f"{target.name}-{'paced' if rate else 'closed'}.lua"
    path.write_text(body)
    return path


def wrk(url: str, script: Path, connections: int, seconds: float, master: int) -> Run:
    cmd = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "2s"]
    before, start = Cpu.now(master), time.perf_counter()
    out = subprocess.run([*cmd, "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    wall, cpu = time.perf_counter() - start, Cpu.now(master) - before
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    r = json.loads(line.removeprefix("RESULT "))
    return Run(
        connections,
        int(r["requests"]),
        r["duration_us"] / 1e6,
        wall,
        r["p50_us"] / 1000,
        r["p99_us"] / 1000,
        r["max_us"] / 1000,
        int(r["socket"]),
        int(r["timeout"]),
        int(r["non2xx"]),
        int(r["late"]),
        r["max_late_us"] / 1000,
        cpu,
    )


# ---------------------------------------------------------------- the servers


def get(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def api_login(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": world.PASSWORD}).encode()
    req = urllib.request.Request(
        base + "/api/auth/login", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(json.load(r)["token"])


class Server:
    """uvicorn with N workers on 127.0.0.1, its output in a log file."""

    def __init__(self, app: str, env: dict[str, str], workers: int, ready_path: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log, self.log_read = log, 0
        self.proc = serve([app, "--host", "127.0.0.1", "--port", str(self.port)], env, workers, log)
        wait_ready(self.port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(self.base + ready_path) == 200 and len(worker_pids(self.proc.pid)) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"{app} did not start:\n{log.read_text(errors='replace')[-3000:]}")

    def new_exceptions(self) -> Counter[str]:
        """The exceptions the server logged since the last call, by their last traceback line."""
        data = self.log.read_bytes() if self.log.exists() else b""
        logged, self.log_read = data[self.log_read :].decode("utf-8", "replace"), len(data)
        found: Counter[str] = Counter()
        for block in logged.split("Exception in ASGI application")[1:]:
            last = [x for x in block.splitlines() if EXCEPTION_LINE.match(x)]
            found[last[-1][:160] if last else "(no exception line)"] += 1
        return found

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- the test


@dataclass(frozen=True)
class Outcome:
    target: Target
    steps: list[Run]
    best: Run | None
    paced: Run | None
    rate: float  # the 80 % target
    memory: tuple[float, float]  # workers' RSS before and after, MB
    postgres: tuple[int, float] | None  # backends, their RssAnon in MB
    exceptions: Counter[str]  # logged by the server during this target (each an HTTP 500)

    @property
    def failures(self) -> list[str]:
        if self.best is None or self.paced is None:
            return [f"{self.target.name}: no step with p99 < {P99_BOUND_MS:.0f} ms and no error"]
        return [f"{self.target.name}: {self.paced.error_text()} at 80 %"] if self.paced.errors else []

    @property
    def rate_held(self) -> bool:
        return self.paced is not None and self.paced.rps >= RATE_TOLERANCE * self.rate


def connection_steps(maximum: int) -> list[int]:
    steps, c = [], 1
    while c < maximum:
        steps.append(c)
        c *= 2
    return [*steps, maximum]


def run_target(
    server: Server, target: Target, a: argparse.Namespace, workdir: Path, pg: tuple[Engine, str] | None
) -> Outcome:
    for path in target.paths[:5]:
        status = get(server.base + path, target.token)
        if status != 200:
            raise SystemExit(f"{target.name}: GET {path} answered {status}")
    master, url = server.proc.pid, server.base + target.paths[0]
    rss_before = workers_rss_mb(master)
    closed = wrk_script(workdir, target, None)
    wrk(url, closed, 8, 3, master)  # warm-up, discarded
    steps: list[Run] = []
    for c in connection_steps(a.max_connections):
        run = wrk(url, closed, c, a.step_duration, master)
        steps.append(run)
        print(
            f"  {target.name}: {c} connections: {run.rps:,.0f} req/s, p99 {run.p99_ms:.1f} ms, {run.error_text()}",
            file=sys.stderr,
            flush=True,
        )
        if (run.p99_ms >= P99_BOUND_MS or run.errors) and not a.all_steps:
            break
    best = max((r for r in steps if r.p99_ms < P99_BOUND_MS and not r.errors), key=lambda r: r.rps, default=None)
    paced, rate = None, 0.0
    if best is not None:
        rate = 0.8 * best.rps
        # more connections than at the maximum (× --headroom), so that a slot mostly finds one free;
        # but none idle past uvicorn's 5 s keep-alive (the server would close it: a read error for wrk)
        conns = max(WRK_THREADS, min(round(a.headroom * best.connections), int(2 * rate)))
        paced = wrk(url, wrk_script(workdir, target, rate), conns, a.duration, master)
    return Outcome(
        target,
        steps,
        best,
        paced,
        rate,
        (rss_before, workers_rss_mb(master)),
        postgres_memory(*pg) if pg else None,
        server.new_exceptions(),
    )


def report(o: Outcome, workers: int, bare: Outcome | None) -> None:
    name = f"load[{o.target.label}]"
    steps = ", ".join(
        f"{r.connections}: {r.rps:,.0f}/{r.p99_ms:.0f}" + (f" ({r.error_kinds()})" if r.errors else "") for r in o.steps
    )
    if o.best is None or o.paced is None:
        print(f"{name}: no rate with p99 < {P99_BOUND_MS:.0f} ms and no error (connections: req/s/p99 ms {steps}) FAIL")
    else:
        b, p = o.best, o.paced
        versus = ""
        if bare is not None and bare.best is not None and bare is not o:
            versus = f" = {100 * b.rps / bare.best.rps:.0f}% of bare"
        print(
            f"{name}: max {b.rps:,.0f} req/s{versus}, p99 {b.p99_ms:.1f} ms (p50 {b.p50_ms:.1f}) at {b.connections} "
            f"connections, {workers} workers (connections: req/s/p99 ms {steps}); {b.cpu_text()}"
        )
        held = "schedule held" if not p.late else f"{p.late:,} sent late, at most {p.max_late_ms:.0f} ms"
        verdict = "FAIL" if o.failures else "PASS"
        caveats = [f"{100 * p.rps / o.rate:.0f}% of the target rate"] if not o.rate_held else []
        caveats += [f"p99 above {P99_BOUND_MS:.0f} ms"] if p.p99_ms >= P99_BOUND_MS else []
        if caveats and not o.failures:
            verdict += f" (zero errors; {', '.join(caveats)})"
        print(
            f"{name}: at 80% = {o.rate:,.0f} req/s for {p.seconds:.0f} s: {p.rps:,.0f} req/s, p99 {p.p99_ms:.1f} ms "
            f"(p50 {p.p50_ms:.1f}, max {p.max_ms:.0f}), {p.requests:,} requests, {p.error_text()}; "
            f"{p.connections} connections, {held}; {p.cpu_text()} {verdict}"
        )
    pg = "" if o.postgres is None else f"; PostgreSQL {o.postgres[0]} backends, RssAnon {o.postgres[1]:.0f} MB"
    print(f"{name}: memory {workers} workers RSS {o.memory[0]:.0f} MB before, {o.memory[1]:.0f} MB after{pg}")
    if o.exceptions:
        logged = "; ".join(f"{n} × {line}" for line, n in o.exceptions.most_common(3))
        print(f"{name}: the server logged {o.exceptions.total()} exceptions (HTTP 500): {logged}")


def pages(path: str, ids: Sequence[int]) -> list[str]:
    """Every page of a list, as a client walks it: the first, then each with the cursor of the last id
    of the page before."""
    return [f"{path}?limit={PAGE}"] + [f"{path}?limit={PAGE}&cursor={ids[k - 1]}" for k in range(PAGE, len(ids), PAGE)]


def build_world(platform_dir: Path, url: str, n: int) -> tuple[Settings, dict[str, str], dict[str, list[str]]]:
    """The platform with n issued certificates: its settings, who lists what, the paths of each target."""
    settings = Settings(platform_dir, url, None, 0, 480)
    platform, _ = init_platform(settings)
    start = time.perf_counter()
    prepared = prepare(platform, n, "full")  # JJG 539's whole subsequent verification, as before
    issue(platform, prepared, prepared.tasks, 1000)
    lab, first_task = prepared.lab, prepared.tasks[0][0]
    with platform.engine.connect() as c:
        rows = c.execute(select(certificates.c.number, certificates.c.public_token).order_by(certificates.c.id)).all()
        first = select(tasks.c.instrument_id).where(tasks.c.id == first_task).scalar_subquery()
        owner_id = c.execute(select(instruments.c.owner_id).where(instruments.c.id == first)).scalar_one()
        owner = c.execute(select(users.c.username).where(users.c.owner_id == owner_id)).scalar_one()
        # the keyset cursors a client walking every page gets from the Link headers: the last id of
        # the page before (instruments in id order, certificates newest first)
        instrument_ids = (
            c.execute(select(instruments.c.id).where(instruments.c.owner_id == owner_id).order_by(instruments.c.id))
            .scalars()
            .all()
        )
        certificate_ids = (
            c.execute(
                select(certificates.c.id)
                .where(certificates.c.institution_id == lab.institution_id)
                .order_by(certificates.c.id.desc())
            )
            .scalars()
            .all()
        )
    platform.engine.dispose()
    print(f"load: {len(rows):,} certificates issued on {n:,} instruments in {time.perf_counter() - start:.0f} s")
    paths = {
        "public": [f"/public/certificates/{num}?token={tok}" for num, tok in rows],
        "instruments": pages("/api/instruments", instrument_ids),
        "tasks": ["/api/tasks"],
        "certificates": pages("/api/certificates", certificate_ids),
    }
    people = {"instruments": owner, "tasks": lab.verifier.username, "certificates": lab.approver.username}
    return settings, people, paths


def idle_check(seconds: float = 3.0) -> str:
    start = machine_busy_s()
    time.sleep(seconds)
    busy = (machine_busy_s() - start) / seconds
    warning = " — the machine is not idle: the figures will be low" if busy > 0.2 else ""
    return f"{busy:.2f} of {CORES} cores busy before the run{warning}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2: one per core)")
    ap.add_argument("--certificates", type=int, default=5000, help="scales, each with an issued certificate")
    ap.add_argument("--step-duration", type=float, default=5, help="seconds per connection step")
    ap.add_argument("--duration", type=float, default=30, help="seconds of each 80 %% run")
    ap.add_argument("--max-connections", type=int, default=128)
    ap.add_argument(
        "--headroom",
        type=float,
        default=2.0,
        help="connections of an 80 %% run, as a multiple of those at the maximum (default 2)",
    )
    ap.add_argument(
        "--all-steps", action="store_true", help="run every connection step, past the bound too (shows overload)"
    )
    ap.add_argument("--skip-bare", action="store_true", help="no bare FastAPI yardstick")
    ap.add_argument("--skip-public", action="store_true", help="no public QR check")
    ap.add_argument("--skip-api", action="store_true", help="no API lists")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("load: needs Debian's wrk (apt-get install wrk)")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="jiliang-load-"))
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    outcomes: list[Outcome] = []
    try:
        with fresh_database("jl_load") as (url, dbname):
            with admin.connect() as c:
                version = c.execute(text("SHOW server_version")).scalar_one().split()[0]
            print(
                f"load: {a.workers} uvicorn workers on 127.0.0.1, PostgreSQL {version}, wrk -t{WRK_THREADS}; "
                f"connections 1…{a.max_connections}, {a.step_duration:g} s a step; 80 % runs {a.duration:g} s; "
                f"bound p99 < {P99_BOUND_MS:.0f} ms; {idle_check()}",
                flush=True,
            )
            settings, people, paths = build_world(workdir / "platform", url, a.certificates)
            env = server_env(settings) | {"JILIANG_TOKEN_TTL_MINUTES": "480"}  # outlives any run
            if not a.skip_bare:
                bare_server = Server("benchmarks.bare_app:app", env, a.workers, "/bare", workdir / "bare.log")
                try:
                    bare_target = Target("bare", "bare FastAPI", ["/bare"])
                    outcomes.append(run_target(bare_server, bare_target, a, workdir, None))
                finally:
                    bare_server.stop()
            server = Server("jiliang.asgi:app", env, a.workers, "/health", workdir / "jiliang.log")
            try:
                targets = []
                if not a.skip_public:
                    targets.append(Target("public", "public check, number+token", paths["public"]))
                if not a.skip_api:
                    for name, label in (
                        ("instruments", f"GET /api/instruments, {PAGE} a page, owner"),
                        ("tasks", "GET /api/tasks, verifier"),
                        ("certificates", f"GET /api/certificates, {PAGE} a page, approver"),
                    ):
                        targets.append(Target(name, label, paths[name], api_login(server.base, people[name])))
                for target in targets:
                    outcomes.append(run_target(server, target, a, workdir, (admin, dbname)))
            finally:
                server.stop()
    finally:
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    bare = next((o for o in outcomes if o.target.name == "bare"), None)
    for o in outcomes:
        report(o, a.workers, bare)
    failures = [f for o in outcomes for f in o.failures]
    short = [o.target.name for o in outcomes if o.paced is not None and not o.rate_held]
    held = f"; the 80 % rate not held (below {RATE_TOLERANCE:.0%}) by: {', '.join(short)}" if short else ""
    print(
        f"load: {len(outcomes)} targets in {time.perf_counter() - started:.0f} s; "
        + (f"zero errors at 80 % of each maximum PASS{held}" if not failures else "FAIL: " + "; ".join(failures))
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
