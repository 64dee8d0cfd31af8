"""Benchmark: does a login answer tell whether the username exists? Times wrong-password logins for an
existing account and for unknown usernames through the real app (FastAPI TestClient, SQLite in a
temporary folder), interleaved, and prints the medians and their ratio. Before the hardening of issue
13 an existing account answered in ~78 ms and an unknown one in ~2 ms.

    .venv/bin/python benchmarks/login_timing.py [--n 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient  # noqa: E402

from jiliang.api import create_app  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.platform import Platform  # noqa: E402
from jiliang.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["JILIANG_ADMIN_PASSWORD"] = "bench-admin-password"
        settings = Settings(Path(tmp), f"sqlite:///{tmp}/jiliang.db", None, 0, 60)
        init_platform(settings)[0].engine.dispose()
        # no lock and no rate limit, so that every attempt does the full work
        platform = Platform(replace(settings, login_max_failures=10**9, login_rate_limit=0))
        known, unknown = [], []
        with TestClient(create_app(platform)) as client:
            for i in range(args.n):
                for name, into in (("admin", known), (f"nobody-{i}", unknown)):
                    start = time.perf_counter()
                    r = client.post("/api/auth/login", json={"username": name, "password": "wrong-password"})
                    into.append(time.perf_counter() - start)
                    assert r.status_code == 401, r.text
        k, u = statistics.median(known), statistics.median(unknown)
        print(
            f"login_timing[{args.n} each, interleaved]: existing account {1000 * k:.1f} ms, "
            f"unknown username {1000 * u:.1f} ms (median); unknown/existing = {u / k:.2f}"
        )


if __name__ == "__main__":
    main()
