"""Benchmark: `jiliang audit` speed on a ledger whose every leaf stands for a live row.

    .venv/bin/python benchmarks/audit.py [--records 500000] [--backends sqlite,postgresql] [--workers 2] [--runs 3]

N instruments (with their owner) are written in bulk and ledgered through the real flush path (one
leaf each, batches of 10,000, each batch with its audit event naming the administrator), a checkpoint
is signed, and then, `--runs` times each:

- the tree check alone (`jiliang audit --tree-only`): every leaf hash and tile recomputed, every
  checkpoint's root — leaves/s, goal (issue 3) >= 500,000;
- the full audit, every check kept: leaves, tree, checkpoints, every row re-serialised under its
  leaf's projection and compared, signatures, tasks, tokens, the audit trail, MACs and the rights
  check — records/s, goal (issue 14) >= 40,000.

Prints each run, then one summary line per backend with the medians and the phases of the median run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jiliang.audit import record_event  # noqa: E402
from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.bulk import insert_returning_ids  # noqa: E402
from jiliang.ledger.append import track  # noqa: E402
from jiliang.ledger.auditor import audit  # noqa: E402
from jiliang.ledger.checkpoints import issue_checkpoint  # noqa: E402
from jiliang.platform import Platform  # noqa: E402
from jiliang.registry.tables import instruments as instruments_table  # noqa: E402
from jiliang.registry.tables import owners, users  # noqa: E402
from jiliang.settings import Settings  # noqa: E402
from jiliang.types import utcnow  # noqa: E402

PG_ADMIN = os.environ.get("JILIANG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 10_000


def populate(platform: Platform, n: int) -> None:
    """An owner and n ledgered instruments (not timed)."""
    now = utcnow()
    with platform.engine.connect() as conn:
        admin_id = conn.execute(select(users.c.id).where(users.c.username == "admin")).scalar_one()
    with platform.uow() as uow:
        owner = uow.conn.execute(
            insert(owners)
            .values(
                credit_code="91310000MA1FL0000X",
                name="bench",
                district_code="310104",
                status="approved",
                registered_at=now,
            )
            .returning(owners.c.id)
        ).scalar_one()
        track(uow, "owner", [owner], new=True)
        uow.commit()
    for start in range(0, n, BATCH):
        rows = [
            {
                "owner_id": owner,
                "item_code": "nawi",
                "type_id": None,
                "procedure_code": "nawi",
                "name": "电子计价秤",
                "manufacturer": "上海某衡器厂",
                "model": "ACS-30",
                "serial_no": f"SN{i:08d}",
                "software_version": None,
                "software_checksum": None,
                "parameters": {"accuracy_class": "III", "e": "0.005", "max": "30"},
                "district_code": "310104",
                "zone": None,
                "location": "徐汇区某菜场",
                "use": "trade",
                "status": "in_use",
                "barred": False,
                "label_token": secrets.token_urlsafe(12),
                "registered_at": now,
            }
            for i in range(start, min(start + BATCH, n))
        ]
        with platform.uow() as uow:
            ids = insert_returning_ids(uow.conn, instruments_table, rows)
            track(uow, "instrument", ids, new=True)
            # as the administrator registering for an owner: the rights check has an actor to judge
            record_event(uow, admin_id, "instrument.registered", "instrument", ids[0], None, {"count": len(ids)})
            uow.commit()


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the audit's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run(name: str, url: str, n: int, workers: int, runs: int, workdir: Path) -> None:
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "bench-admin-pass")
    platform, _ = init_platform(Settings(workdir / name, url, None, 0, 60))
    t = time.perf_counter()
    populate(platform, n)
    issue_checkpoint(platform)
    print(f"audit[{name}]: {n:,} instruments ledgered in {time.perf_counter() - t:.1f} s (not timed)", flush=True)
    trees, fulls = [], []
    for k in range(1, runs + 1):
        tree = audit(platform, workers=workers, records=False)
        assert tree.clean, tree.findings[:5]
        t, cpu = time.perf_counter(), _cpu()
        report = audit(platform, workers=workers)
        total, cpu = time.perf_counter() - t, _cpu() - cpu
        assert report.clean, report.findings[:5]
        trees.append(tree.leaves / tree.timings["tree check"])
        fulls.append((report.records / total, total, report))
        print(
            f"audit[{name}] run {k}: {report.records / total:,.0f} records/s ({total:.2f} s, {cpu:.2f} s of CPU in "
            f"the audit and its workers, database server not counted); tree check alone "
            f"{trees[-1]:,.0f} leaves/s ({tree.timings['tree check']:.2f} s); phases "
            + ", ".join(f"{p} {v:.2f} s" for p, v in report.timings.items()),
            flush=True,
        )
    rate, total, report = sorted(fulls, key=lambda r: r[0])[len(fulls) // 2]
    leaves = sorted(trees)[len(trees) // 2]
    print(
        f"audit[{name}]: {report.records:,} records and {report.leaves:,} leaves with {workers} worker(s), median of "
        f"{runs}: {rate:,.0f} records/s, every check (goal >= 40,000: {'PASS' if rate >= 40_000 else 'MISS'}); "
        f"tree check alone {leaves:,.0f} leaves/s (goal >= 500,000: {'PASS' if leaves >= 500_000 else 'MISS'}); "
        f"phases of the median run ({total:.2f} s) " + ", ".join(f"{p} {v:.2f} s" for p, v in report.timings.items()),
        flush=True,
    )
    platform.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=3, help="audits of the same ledger; the median is reported")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for backend in a.backends.split(","):
            if backend == "sqlite":
                run("sqlite", f"sqlite:///{workdir / 'audit.db'}", a.records, a.workers, a.runs, workdir)
                continue
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            db = f"jl_audit_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{db}"'))
            try:
                run("postgresql", PG_ADMIN.rsplit("/", 1)[0] + "/" + db, a.records, a.workers, a.runs, workdir)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
