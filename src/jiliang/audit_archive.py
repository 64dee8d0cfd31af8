"""Keeping the audit trail: every event stays in the database for at least the retention period —
six months at the least, as GB/T 22239-2019 (等保 2.0) level 3 asks of security audit records — and by
default for ever (`JILIANG_AUDIT_RETENTION_DAYS=0`). With a period set, `jiliang audit-archive` moves
the events older than it into a JSON-lines file (each event with its digest) and deletes them in one
transaction that records an `audit.archived` event naming the last id moved, the count and the
file's SHA-256. The auditor accepts the absence of exactly those events; any other missing event is
still named. Keep the file as long as the law asks; `sha256sum` checks it against the event."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select

from .audit import audit_events, event_digest, record_event
from .errors import RuleViolation
from .settings import check_retention
from .types import utcnow

__all__ = ["ArchiveReport", "archive_events", "archived_up_to"]


@dataclass(frozen=True)
class ArchiveReport:
    events: int
    up_to_id: int | None
    sha256: str | None


def archive_events(platform: Any, out: Path, actor_id: int | None) -> ArchiveReport:
    days = check_retention(platform.settings.audit_retention_days)
    if days == 0:
        raise RuleViolation(
            "审计日志设为永久保存，不归档 / the audit trail is kept for ever (JILIANG_AUDIT_RETENTION_DAYS=0)"
        )
    if out.exists():
        raise RuleViolation(f"{out} 已存在 / {out} exists: choose a new file")
    cutoff = utcnow() - timedelta(days=days)
    uow = platform.uow()
    with uow:
        conn = uow.conn
        young = conn.execute(select(func.min(audit_events.c.id)).where(audit_events.c.at >= cutoff)).scalar()
        # a contiguous run of ids from the start: an old event written after a young one waits its turn
        up_to = (young - 1) if young is not None else conn.execute(select(func.max(audit_events.c.id))).scalar()
        if up_to is None or up_to < 1:
            return ArchiveReport(0, None, None)
        rows = conn.execute(select(audit_events).where(audit_events.c.id <= up_to).order_by(audit_events.c.id))
        digest = hashlib.sha256()
        count = 0
        partial = out.with_name(out.name + ".partial")
        with partial.open("wb") as f:
            for row in rows.mappings():
                event = {str(k): v for k, v in row.items()}
                line = orjson.dumps({**event, "digest": event_digest(event)}, option=orjson.OPT_SORT_KEYS) + b"\n"
                f.write(line)
                digest.update(line)
                count += 1
            f.flush()
            os.fsync(f.fileno())
        if count == 0:
            partial.unlink()
            return ArchiveReport(0, None, None)
        partial.rename(out)  # the file is complete before the events leave the database
        conn.execute(delete(audit_events).where(audit_events.c.id <= up_to))
        after = {
            "up_to_id": up_to,
            "events": count,
            "older_than": cutoff,
            "sha256": digest.hexdigest(),
            "file": out.name,
        }
        record_event(uow, actor_id, "audit.archived", "audit_events", up_to, None, after)
        uow.commit()
    return ArchiveReport(count, up_to, digest.hexdigest())


def archived_up_to(conn: Any) -> int:
    """The last event id an archive moved out (0: none)."""
    rows = conn.execute(select(audit_events.c.after).where(audit_events.c.action == "audit.archived"))
    return max((int(after["up_to_id"]) for (after,) in rows), default=0)
