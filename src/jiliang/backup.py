"""Backup and restore: a consistent snapshot of the database (SQLite's online backup, `pg_dump` for
PostgreSQL) with a manifest holding the ledger's size and root at that moment. A restore puts the
snapshot back into an empty database and proves it with the ledger: the restored tree must have the
manifest's size and root, and the auditor must find nothing (the key folder, with the ledger MAC key,
is backed up with the other keys, not here)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, make_url

from .ledger.tiles import TileReader, tree_size

__all__ = ["BackupManifest", "backup", "restore", "ledger_root", "root_at"]

FORMAT = "jiliang-backup/1"


@dataclass(frozen=True)
class BackupManifest:
    dialect: str
    tree_size: int
    root: str  # hex SHA-256 of the ledger's tree of that size
    taken_at: str


def ledger_root(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        size = tree_size(conn)
        root = TileReader(conn).root(size).hex() if size else ""
        conn.rollback()
    return size, root


def root_at(engine: Engine, size: int) -> str:
    """The root of the first `size` leaves of the ledger in `engine`'s database."""
    with engine.connect() as conn:
        root = TileReader(conn).root(size).hex() if size else ""
        conn.rollback()
    return root


def _pg_url(engine: Engine) -> str:
    url = make_url(engine.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def backup(engine: Engine, out: Path) -> BackupManifest:
    """Write OUT (a tar file): the snapshot and manifest.json."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if engine.dialect.name == "sqlite":
            source = sqlite3.connect(str(make_url(engine.url).database))
            target = sqlite3.connect(str(work / "jiliang.db"))
            with target:
                source.backup(target)  # one consistent snapshot, also while the platform runs
            source.close()
            target.close()
            size, root = ledger_root(_sqlite_engine(work / "jiliang.db"))
            data = "jiliang.db"
        else:
            size, root = ledger_root(engine)  # the dump below holds at least these leaves
            subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", f"--file={work / 'jiliang.dump'}", _pg_url(engine)],
                check=True,
                capture_output=True,
            )
            data = "jiliang.dump"
        manifest = BackupManifest(engine.dialect.name, size, root, datetime.now(UTC).isoformat(timespec="seconds"))
        (work / "manifest.json").write_text(json.dumps({"format": FORMAT, **manifest.__dict__, "data": data}))
        with tarfile.open(out, "w:gz") as tar:
            tar.add(work / "manifest.json", "manifest.json")
            tar.add(work / data, data)
    return manifest


def _sqlite_engine(path: Path) -> Engine:
    from .db import make_engine

    return make_engine(f"sqlite:///{path}")


def restore(engine: Engine, archive: Path) -> BackupManifest:
    """Put a backup into the (empty) database of `engine`; refuses a non-empty one. Returns the
    manifest; the caller proves the result (`ledger_root` equal to it, and a clean audit)."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive, "r:gz") as tar:
        work = Path(tmp)
        tar.extractall(work, filter="data")
        raw = json.loads((work / "manifest.json").read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"not a jiliang backup ({raw.get('format')!r})")
        manifest = BackupManifest(raw["dialect"], int(raw["tree_size"]), raw["root"], raw["taken_at"])
        if manifest.dialect != engine.dialect.name:
            raise ValueError(f"a {manifest.dialect} backup cannot be restored into {engine.dialect.name}")
        with engine.connect() as conn:
            if conn.exec_driver_sql(_TABLES[engine.dialect.name]).first() is not None:
                raise ValueError("the target database is not empty: restore into a new one")
        if engine.dialect.name == "sqlite":
            engine.dispose()
            shutil.copyfile(work / raw["data"], str(make_url(engine.url).database))
        else:
            subprocess.run(
                ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_pg_url(engine)}", str(work / raw["data"])],
                check=True,
                capture_output=True,
            )
    return manifest


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' LIMIT 1",
}
