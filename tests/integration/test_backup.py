"""`jiliang backup` / `jiliang restore` on both databases: the restored database has the backed-up
ledger (same root at the manifest's size) and audits clean; a backup that does not match its
manifest, or a target that is not empty, is refused."""

from __future__ import annotations

import json
import shutil
import tarfile
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from jiliang.backup import backup, ledger_root
from jiliang.cli import app
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.platform import Platform
from tests.conftest import BACKEND, pg_admin_engine, pg_url
from tests.support import world


@pytest.fixture
def target(platform, tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """An empty database and a data dir holding the source's keys and checkpoint log (both kept and
    backed up outside the database)."""
    data_dir = tmp_path / "restored"
    shutil.copytree(platform.settings.data_dir / "keys", data_dir / "keys")
    log = platform.settings.data_dir / "checkpoints.log"  # written by _issued below
    monkeypatch.setenv("JILIANG_CHECKPOINT_LOG", str(log))
    if BACKEND == "sqlite":
        url = f"sqlite:///{data_dir / 'jiliang.db'}"
        name = None
    else:
        name = f"jl_restore_{uuid.uuid4().hex[:10]}"
        with pg_admin_engine().connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = pg_url(name)
    monkeypatch.setenv("JILIANG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", url)
    yield url
    if name:
        with pg_admin_engine().connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _issued(platform) -> None:  # type: ignore[no-untyped-def]
    world.issued_certificate(platform)
    log = platform.settings.data_dir / "checkpoints.log"
    issue_checkpoint(Platform(replace(platform.settings, checkpoint_log=log), platform.engine))


def test_a_backup_restores_into_an_empty_database_and_the_ledger_proves_it(platform, target, tmp_path) -> None:
    _issued(platform)
    size, root = ledger_root(platform.engine)
    archive = tmp_path / "b.tar.gz"
    manifest = backup(platform.engine, archive)
    assert (manifest.tree_size, manifest.root) == (size, root) and size > 50
    r = CliRunner().invoke(app, ["restore", str(archive)], catch_exceptions=False)
    assert r.exit_code == 0, r.output + r.stderr
    assert "restored and proven" in " ".join(r.stdout.split()) and "audit clean" in r.stdout
    r = CliRunner().invoke(app, ["restore", str(archive)], catch_exceptions=False)  # not into a used database
    assert r.exit_code == 2 and "not empty" in r.stderr


def test_a_backup_whose_data_is_not_its_manifests_is_refused(platform, target, tmp_path) -> None:
    _issued(platform)
    archive = tmp_path / "b.tar.gz"
    backup(platform.engine, archive)
    work = tmp_path / "x"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    manifest = json.loads((work / "manifest.json").read_text())
    manifest["root"] = "00" * 32  # the manifest no longer describes the data beside it
    (work / "manifest.json").write_text(json.dumps(manifest))
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(forged, "w:gz") as tar:
        for name in ("manifest.json", manifest["data"]):
            tar.add(work / name, name)
    r = CliRunner().invoke(app, ["restore", str(forged)], catch_exceptions=False)
    assert r.exit_code == 1 and "not the one backed up" in " ".join(r.stderr.split())
