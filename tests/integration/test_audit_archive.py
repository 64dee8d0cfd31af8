"""Audit-log retention: events are kept at least six months (GB/T 22239-2019 level 3), for ever by
default; with a period set, `jiliang audit-archive` moves exactly the older events to a file whose
SHA-256 the archive event records, and the audit accepts their absence and nothing else's."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jiliang.audit import audit_events, event_digest
from jiliang.audit_archive import archive_events
from jiliang.cli import app
from jiliang.errors import RuleViolation
from jiliang.ledger.auditor import audit
from jiliang.platform import Platform
from jiliang.settings import Settings, check_retention
from jiliang.types import clock_at, utcnow
from tests.support import tamper, world


def test_a_period_under_six_months_is_refused(monkeypatch) -> None:
    assert check_retention(0) == 0 and check_retention(183) == 183
    with pytest.raises(ValueError, match="at least 183 days"):
        check_retention(182)
    monkeypatch.setenv("JILIANG_AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(ValueError, match="JILIANG_AUDIT_RETENTION_DAYS=90"):
        Settings.from_env()


@pytest.fixture
def aged(settings):  # type: ignore[no-untyped-def]
    """A year-old history (a lab set up and a certificate issued then), and one event of today."""
    platform = Platform(replace(settings, audit_retention_days=183))
    with clock_at(utcnow() - timedelta(days=365)):
        world.issued_certificate(platform)
    world.make_owner(platform, "310105")  # today
    yield platform
    platform.engine.dispose()


def _ids(platform) -> list[int]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return list(c.execute(select(audit_events.c.id).order_by(audit_events.c.id)).scalars())


def test_older_events_move_to_a_file_that_the_archive_event_vouches_for(aged, tmp_path) -> None:
    platform = aged
    with platform.engine.connect() as c:
        old = [
            dict(r)
            for r in c.execute(
                select(audit_events)
                .where(audit_events.c.at < utcnow() - timedelta(days=183))
                .order_by(audit_events.c.id)
            ).mappings()
        ]
        young = c.execute(
            select(func.count()).select_from(audit_events).where(audit_events.c.at >= utcnow() - timedelta(days=1))
        ).scalar()
    assert len(old) > 10 and young >= 1
    out = tmp_path / "audit-2025.jsonl"
    report = archive_events(platform, out, world.admin(platform).user_id)
    assert report.events == len(old) and report.up_to_id == old[-1]["id"]

    lines = out.read_bytes().splitlines(keepends=True)
    assert [orjson.loads(line)["id"] for line in lines] == [e["id"] for e in old]
    assert [orjson.loads(line)["digest"] for line in lines] == [event_digest(e) for e in old]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == report.sha256
    remaining = _ids(platform)
    assert min(remaining) > report.up_to_id
    with platform.engine.connect() as c:
        event = c.execute(select(audit_events).where(audit_events.c.action == "audit.archived")).one()
    assert event.after["sha256"] == report.sha256 and event.after["events"] == len(old)
    assert audit(platform).findings == []

    # what the archive did not move is still guarded: a young event deleted with SQL is named
    victim = remaining[0]
    tamper.sql(platform, audit_events.delete().where(audit_events.c.id == victim))
    assert {(f.what, f.table, f.id) for f in audit(platform).findings} == {("deleted", "audit_events", str(victim))}


def test_an_old_event_deleted_with_sql_instead_of_archived_is_named(aged) -> None:
    victim = _ids(aged)[3]
    tamper.sql(aged, audit_events.delete().where(audit_events.c.id == victim))
    assert {(f.what, f.table, f.id) for f in audit(aged).findings} == {("deleted", "audit_events", str(victim))}


def test_kept_for_ever_by_default_and_a_file_is_never_overwritten(settings, aged, tmp_path) -> None:
    forever = Platform(settings)
    with pytest.raises(RuleViolation, match="for ever"):
        archive_events(forever, tmp_path / "a.jsonl", None)
    forever.engine.dispose()
    taken = tmp_path / "taken.jsonl"
    taken.write_text("keep me")
    with pytest.raises(RuleViolation, match="exists"):
        archive_events(aged, taken, None)
    assert taken.read_text() == "keep me"


def test_the_command_line_archives_and_says_what(aged, settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JILIANG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("JILIANG_AUDIT_RETENTION_DAYS", "200")
    out = tmp_path / "old.jsonl"
    r = CliRunner().invoke(app, ["audit-archive", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "archived" in r.stdout and out.exists()
    again = CliRunner().invoke(app, ["audit-archive", str(tmp_path / "again.jsonl")], catch_exceptions=False)
    assert again.exit_code == 0 and "no audit event is older" in " ".join(again.stdout.split())
