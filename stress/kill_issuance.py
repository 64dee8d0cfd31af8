"""Crash test: a worker issues certificates in batches (apply, record, check, approve: numbers,
signatures, ledger leaves, audit events) while the parent SIGKILLs it at random moments, again and
again. After all the kills: certificate numbers are gap-free per institution and year with no
duplicate, every issued certificate's record is approved and ledgered, and `jiliang audit` finds
nothing. Uses a fresh SQLite file or a fresh PostgreSQL database.

    .venv/bin/python stress/kill_issuance.py [--kills 200] [--backend sqlite|postgresql] [--batch 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from jiliang.bootstrap import init_platform  # noqa: E402
from jiliang.certificates.tables import certificates  # noqa: E402
from jiliang.ledger.auditor import audit  # noqa: E402
from jiliang.platform import Platform  # noqa: E402
from jiliang.settings import Settings  # noqa: E402
from jiliang.verification import service as workflow  # noqa: E402

PG_ADMIN = os.environ.get("JILIANG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _worker(settings: Settings, lab: object, owner: object, batch: int, seed: int) -> None:
    from tests.support import world

    platform = Platform(settings)
    rng = random.Random(seed)
    while True:  # until killed
        ids = [world.scale(platform, owner) for _ in range(rng.randint(1, batch))]
        for task in workflow.apply(platform.uow(), owner, ids):
            world.verify(platform, lab, task)  # record, check, approve: the certificate is issued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("JILIANG_ADMIN_PASSWORD", "stress-admin-password")
    tmp = Path(tempfile.mkdtemp(prefix="jiliang-kill-"))
    dbname = None
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp / 'jiliang.db'}"
    else:
        dbname = f"jl_kill_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{dbname}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    settings = Settings(tmp, url, None, 0, 60)
    platform, _ = init_platform(settings)
    from tests.support import world

    lab = world.make_lab(platform, "D310104", ["nawi"])
    owner = world.make_owner(platform)
    platform.engine.dispose()
    rng = random.Random(args.seed)
    ctx = multiprocessing.get_context("fork")
    started = time.perf_counter()
    for k in range(args.kills):
        worker = ctx.Process(target=_worker, args=(settings, lab, owner, args.batch, rng.randrange(2**31)))
        worker.start()
        time.sleep(rng.uniform(0.3, 2.0))  # somewhere in a batch: numbering, signing, ledger, commit
        os.kill(worker.pid, signal.SIGKILL)
        worker.join()
        if (k + 1) % 50 == 0:
            print(f"{k + 1} kills …", flush=True)
    elapsed = time.perf_counter() - started
    platform = Platform(settings)
    with platform.engine.connect() as c:
        rows = c.execute(select(certificates.c.institution_id, certificates.c.year, certificates.c.seq)).all()
        issued = c.execute(select(func.count()).select_from(certificates)).scalar_one()
    by_series: dict[tuple[int, int], list[int]] = {}
    for inst, year, seq in rows:
        by_series.setdefault((inst, year), []).append(seq)
    gaps = {
        k: sorted(set(range(1, max(v) + 1)) - set(v))
        for k, v in by_series.items()
        if set(v) != set(range(1, max(v) + 1))
    }
    duplicates = {k: len(v) - len(set(v)) for k, v in by_series.items() if len(v) != len(set(v))}
    report = audit(platform)
    print(
        f"kill_issuance[{args.backend}]: {args.kills} SIGKILLs in {elapsed:.0f} s, {issued} certificates issued; "
        f"gaps: {gaps or 'none'}; duplicates: {duplicates or 'none'}; "
        f"audit: {'clean' if report.clean else 'FINDINGS'} ({report.leaves} leaves, {report.records} records)"
    )
    for finding in report.findings[:20]:
        print("  ", finding)
    platform.engine.dispose()
    if dbname:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
    sys.exit(0 if report.clean and not gaps and not duplicates else 1)


if __name__ == "__main__":
    main()
