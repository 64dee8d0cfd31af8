"""Benchmark: each main page's server time and full load time in the browser, on the demo data.

    .venv/bin/python benchmarks/pages.py [--instruments 10000] [--runs 15] [--browser-runs 5] [--data DIR]

The demo world (`jiliang demo-data --instruments N`, about three years of history) is built once into
DIR (default /tmp/jiliang-bench-pages-N) and reused. The app is served by uvicorn on 127.0.0.1, one
process, as `jiliang serve` runs it. For every main page of every role, logged in as that role's demo
account:

- server time: the app's own `Server-Timing: app;dur=` over `--runs` requests (after one warm-up),
  median and worst;
- full load: Debian chromium (Playwright), from navigation start until the load event, or for pages
  that finish their work after load (the certificate check in the browser, the chart) until the
  User Timing mark the page sets when that work is done. Each run opens a fresh browser context and
  one tab and loads the page five times: the first load is a first visit (empty cache: HTML, CSS,
  HTMX, ECharts fetched and compiled); loads 3 to 5 are returning visits (static files are immutable
  for a year, so only the page itself is fetched, and Chromium reuses the scripts' compiled code
  from their second load on).

Goal (issue 4): every page under 300 ms, server time and full load (the returning visit, the daily
case); the first-visit figure is printed beside it. One line per page and a summary.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jiliang.api import create_app  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.certificates.tables import certificates  # noqa: E402
from jiliang.demo import DEMO_PASSWORD, generate_demo  # noqa: E402
from jiliang.platform import Platform  # noqa: E402
from jiliang.registry.tables import instruments, owners, users  # noqa: E402
from jiliang.settings import Settings  # noqa: E402
from jiliang.verification.tables import tasks  # noqa: E402

GOAL_MS = 300.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
CHECKED = "jiliang:verdict"  # the certificate page's checks in the browser are done
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Page:
    role: str  # demo login, or "" for a public page
    path: str
    done: str | None = None  # the User Timing mark the page sets when its work after load is finished


def build(data: Path, n: int) -> Platform:
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-password")
    settings = Settings(data, f"sqlite:///{data / 'jiliang.db'}", None, 0, 480, checkpoint_interval=0)
    fresh = not (data / "jiliang.db").exists()
    platform, _ = init_platform(settings)
    if fresh:
        started = time.perf_counter()
        report = generate_demo(platform, n, 0)
        print(f"# demo data built in {time.perf_counter() - started:.0f} s: {report.summary()}", flush=True)
    return platform


def pages(platform: Platform) -> list[Page]:
    """The main pages, with real ids from the demo data (the demo owner's instrument, a queued task
    of the demo institution, a valid certificate with its QR token)."""
    with platform.engine.connect() as c:
        owner_id = c.execute(select(users.c.owner_id).where(users.c.username == "demo-owner")).scalar_one()
        inst = c.execute(
            select(instruments.c.id, instruments.c.label_token).where(instruments.c.owner_id == owner_id).limit(1)
        ).one()
        inst_id, label_token = inst
        inst_of_demo_lab = c.execute(select(users.c.institution_id).where(users.c.username == "demo-verifier")).scalar()
        task_id = c.execute(
            select(tasks.c.id).where(tasks.c.institution_id == inst_of_demo_lab).order_by(tasks.c.id.desc()).limit(1)
        ).scalar()
        cert = c.execute(
            select(certificates.c.number, certificates.c.public_token)
            .where(certificates.c.status == "valid", certificates.c.kind == "verification")
            .order_by(certificates.c.id.desc())
            .limit(1)
        ).one()
        assert c.execute(select(owners.c.id).limit(1)).first() is not None
    return [
        Page("", "/login"),
        Page("demo-owner", "/owner/instruments"),
        Page("demo-owner", f"/owner/instruments/{inst_id}"),
        Page("demo-owner", "/owner/apply"),
        Page("demo-owner", "/owner/certificates"),
        Page("demo-verifier", "/work/tasks"),
        Page("demo-verifier", f"/work/tasks/{task_id}"),
        Page("demo-approver", "/work/certificates"),
        Page("demo-manager", "/lab/staff"),
        Page("demo-manager", "/lab/standards"),
        Page("demo-manager", "/lab/owners"),
        Page("demo-regulator-city", "/supervision/coverage"),
        Page("demo-regulator-city", "/supervision/overdue"),
        Page("demo-regulator-city", "/supervision/certificates", done="jiliang:chart-drawn"),
        Page("demo-regulator-xuhui", "/supervision/coverage"),
        Page("admin", "/admin/users"),
        Page("admin", "/admin/catalogue"),
        Page("admin", "/admin/rules"),
        Page("admin", "/lab/institutions"),
        Page("", "/public/verify"),
        Page("", f"/public/verify/{cert.number}?token={cert.public_token}", done=CHECKED),
        Page("", f"/public/label/{inst_id}?token={label_token}"),
    ]


def serve(platform: Platform) -> tuple[str, Callable[[], None]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(platform), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{sock.getsockname()[1]}", stop


def session_cookie(base: str, username: str) -> str:
    with httpx.Client(base_url=base) as client:
        token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
        password = os.environ["JILIANG_ADMIN_PASSWORD"] if username == "admin" else DEMO_PASSWORD
        r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert r.status_code in (200, 303) and client.cookies.get("jiliang_session"), (
            f"login {username}: {r.text[:200]}"
        )
        return str(client.cookies.get("jiliang_session"))


def server_times(base: str, page: Page, cookie: str | None, runs: int) -> list[float]:
    cookies = {"jiliang_session": cookie} if cookie else {}
    out = []
    with httpx.Client(base_url=base, cookies=cookies) as client:
        for i in range(runs + 1):
            r = client.get(page.path)
            assert r.status_code == 200, f"{page.path} as {page.role or 'public'}: HTTP {r.status_code}"
            if i:  # the first is a warm-up
                out.append(float(r.headers["server-timing"].split("dur=")[1]))
    return out


def load_times(browser, base: str, page: Page, cookie: str | None, runs: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """(first visits, returning visits). Each run opens a fresh browser context (empty cache) and one tab
    and loads the page five times in it: the first load is a first visit; loads 3 to 5 are a returning
    visitor's, whose browser has the static files and, from their second load on, their compiled
    script (Chromium's code cache), as when a person works through the site in one tab."""
    first, returning = [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        if cookie:
            context.add_cookies([{"name": "jiliang_session", "value": cookie, "url": base}])
        tab = context.new_page()
        for times in (first, None, returning, returning, returning):
            tab.goto(base + page.path, wait_until="load")
            if times is not None:
                times.append(_finished(tab, page.done) if page.done else _load_event(tab))
        context.close()
    return first, returning


def _finished(tab, mark: str) -> float:  # type: ignore[no-untyped-def]
    """When the page marked its work done (User Timing), from navigation start."""
    deadline = time.monotonic() + 15
    while True:  # polled from here: the pages' CSP forbids the eval that wait_for_function needs
        marks = tab.evaluate(f"performance.getEntriesByName({mark!r}).map(m => m.startTime)")
        if marks:
            return float(marks[0])
        if time.monotonic() > deadline:
            raise TimeoutError(f"{tab.url}: no {mark} mark")
        time.sleep(0.02)


def _load_event(tab) -> float:  # type: ignore[no-untyped-def]
    return float(tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instruments", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--browser-runs", type=int, default=5)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--only", default="", help="only the pages whose path contains this text")
    args = ap.parse_args()
    data = args.data or Path(f"/tmp/jiliang-bench-pages-{args.instruments}")
    data.mkdir(parents=True, exist_ok=True)
    platform = build(data, args.instruments)
    base, stop = serve(platform)
    from playwright.sync_api import sync_playwright

    worst = 0.0
    misses = []
    try:
        chosen = [p for p in pages(platform) if args.only in p.path]
        cookies = {p.role: session_cookie(base, p.role) for p in chosen if p.role}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for page in chosen:
                cookie = cookies.get(page.role)
                server = server_times(base, page, cookie, args.runs)
                cold, warm = load_times(browser, base, page, cookie, args.browser_runs)  # first, returning
                s50, s_max = statistics.median(server), max(server)
                c50, w50 = statistics.median(cold), statistics.median(warm)
                verdict = "PASS" if max(s50, w50) < GOAL_MS else "MISS"
                if verdict == "MISS":
                    misses.append(page.path)
                worst = max(worst, s50, w50)
                shown = page.path.split("?")[0]
                print(
                    f"pages[{shown} as {page.role or 'public'}]: server median {s50:.1f} ms (max {s_max:.1f}); "
                    f"full load median {w50:.0f} ms (returning visit), {c50:.0f} ms (first visit) "
                    f"— {verdict} (goal < {GOAL_MS:.0f} ms)",
                    flush=True,
                )
            browser.close()
    finally:
        stop()
    print(
        f"pages: {args.instruments:,} demo instruments; slowest median {worst:.0f} ms; "
        + ("every page under 300 ms" if not misses else f"over 300 ms: {', '.join(misses)}")
    )


if __name__ == "__main__":
    main()
