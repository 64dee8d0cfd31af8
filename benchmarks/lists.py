"""Benchmark: an API list page beside a bare endpoint that answers the same bytes, in the same run.

    .venv/bin/python benchmarks/lists.py [--rows 200] [--backend sqlite|postgresql]

An owner with `--rows` instruments (and one of another owner, filtered out) logs in; the JSON of
`GET /api/instruments?limit=<rows>` is captured and served as constant bytes by bare_bytes_app.py.
Both run under uvicorn with the same number of workers and are driven by `wrk -t2 -c32 -d10s` after a
discarded warm-up. Goal (issue 14): the list answers at >= 40 % of the bare endpoint's req/s.

The list is measured twice: as served (its pages kept while the ledger does not move, page_cache.py;
after the warm-up every request finds its page kept) and with JILIANG_PAGE_CACHE_BYTES=0, each page
built by the database: what every first request after a change costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fastapi.testclient import TestClient  # noqa: E402
from issue_certificates import free_port, fresh_database, serve, server_env, wait_ready, wrk  # noqa: E402
from tests.support import world  # noqa: E402

from jiliang.api import create_app  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("install Debian's wrk (apt-get install wrk)")
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-pass")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        url = f"sqlite:///{data / 'jiliang.db'}"
        if a.backend == "postgresql":
            url, _ = stack.enter_context(fresh_database("jl_lists"))
        settings = Settings(data, url, None, 0, 600)
        platform, _ = init_platform(settings)
        owner = world.make_owner(platform, "310104")
        for _ in range(a.rows):
            world.scale(platform, owner)
        world.scale(platform, world.make_owner(platform, "310104"))
        path = f"/api/instruments?limit={a.rows}"
        with TestClient(create_app(platform)) as client:
            login = client.post("/api/auth/login", json={"username": owner.username, "password": world.PASSWORD})
            header = f"Authorization: Bearer {login.json()['token']}"
            body = client.get(path, headers={"Authorization": header.split(": ", 1)[1]}).content
        (Path(tmp) / "body.json").write_bytes(body)
        env = server_env(settings) | {"JILIANG_BARE_BYTES": str(Path(tmp) / "body.json")}
        results = {}
        for name, target, target_path, extra in (
            ("bare", "benchmarks.bare_bytes_app:app", "/bare", {}),
            ("list", "jiliang.asgi:app", path, {}),
            ("built", "jiliang.asgi:app", path, {"JILIANG_PAGE_CACHE_BYTES": "0"}),
        ):
            port = free_port()
            proc = serve([target, "--port", str(port)], env | extra)
            try:
                wait_ready(port)
                target_url = f"http://127.0.0.1:{port}{target_path}"
                wrk(target_url, None, 32, (header,))  # warm-up, discarded
                results[name] = wrk(target_url, None, 32, (header,))
            finally:
                proc.terminate()
                proc.wait()
        bare, listed, built = results["bare"], results["list"], results["built"]
        print(
            f"lists[{a.backend}]: bare endpoint, the same {len(body):,} bytes: "
            f"{bare[0]:,.0f} req/s p99 {bare[1]:.1f} ms"
        )
        print(
            f"lists[{a.backend}]: GET {path} ({a.rows} rows): {listed[0]:,.0f} req/s p99 {listed[1]:.1f} ms "
            f"= {listed[0] / bare[0]:.0%} of bare (goal >= 40%)"
        )
        print(
            f"lists[{a.backend}]: the same, each page built (no page kept): {built[0]:,.0f} req/s "
            f"p99 {built[1]:.1f} ms = {built[0] / bare[0]:.0%} of bare"
        )
        platform.engine.dispose()


if __name__ == "__main__":
    main()
