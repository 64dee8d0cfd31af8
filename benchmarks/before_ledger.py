"""Issuance on the commit before the ledger and on this tree, side by side in one run (issue 14).

    .venv/bin/python benchmarks/before_ledger.py [--rev 35ac390] [--n 2000] [--repeat 3] [--rounds 2]

The old commit (by default 35ac390, the last before leaves were appended in each change's transaction)
is checked out into a temporary git worktree and runs its own benchmarks/issue_certificates.py; this
tree runs its benchmark with `--record weighing` (an in-service weighing test: E0 and five loads, 6
readings), the record closest to the old commit's 4-point scale record — the old code knows neither
the regulation's whole test nor uncertainty budgets, so the mix cannot run there. The two alternate,
`--rounds` times, so that the machine's drift falls on both alike; each prints the median of its runs.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURE = re.compile(r"issue_certificates\[(\w+)\]: median ([\d,]+) certificates/s")


def _run(cmd: list[str], cwd: Path) -> dict[str, float]:
    env = os.environ | {"PYTHONPATH": f"{cwd / 'src'}{os.pathsep}{cwd}"}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout
    return {m[1]: float(m[2].replace(",", "")) for m in FIGURE.finditer(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="35ac390")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--skip-postgres", action="store_true")
    a = ap.parse_args()
    common = ["--n", str(a.n), "--batch", str(a.batch), "--repeat", str(a.repeat), "--skip-wrk"]
    common += ["--skip-postgres"] if a.skip_postgres else []
    with tempfile.TemporaryDirectory(prefix="jiliang-before-ledger-") as tmp:
        old = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(old), a.rev], cwd=ROOT, check=True, capture_output=True
        )
        try:
            runs: dict[str, dict[str, list[float]]] = {"before": {}, "now": {}}
            for k in range(a.rounds):
                for label, cmd, cwd in (
                    ("before", [sys.executable, "benchmarks/issue_certificates.py", *common], old),
                    (
                        "now",
                        [
                            sys.executable,
                            "benchmarks/issue_certificates.py",
                            *common,
                            "--record",
                            "weighing",
                            "--floor-repeat",
                            "1",
                        ],
                        ROOT,
                    ),
                ):
                    for db, rate in _run(cmd, cwd).items():
                        runs[label].setdefault(db, []).append(rate)
                    print(f"round {k + 1}: {label}: {runs[label]}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    for db in runs["before"]:
        before, now = statistics.median(runs["before"][db]), statistics.median(runs["now"].get(db, [0.0]))
        print(
            f"before_ledger[{db}]: {a.rev} {before:,.0f}/s (4 readings), this tree {now:,.0f}/s (6 readings, "
            f"ledger, audit trail, rights, column checks) = {100 * now / before:.0f}% of before"
        )


if __name__ == "__main__":
    main()
