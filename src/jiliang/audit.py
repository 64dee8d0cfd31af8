"""The audit trail: who changed which record, when, and what it was before and after.

Events are buffered on the unit of work and written with one executemany just before commit,
so they share the change's transaction without costing a round trip each. The ledger then records,
in the same transaction, one leaf naming each event written and its digest (`event_digest`): an
event changed or deleted later, or slipped in with SQL, is named by the auditor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import orjson
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, select

from .bulk import insert_with_ids
from .db import UnitOfWork, metadata
from .types import UtcDateTime, utcnow

__all__ = ["audit_events", "record_event", "flush_events", "history", "event_digest"]

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", ForeignKey("users.id")),
    Column("action", String(48), nullable=False),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("institution_id", Integer),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_audit_events_record", "record_type", "record_id"),
)


_PLAIN = (str, int, bool, type(None))


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dict):
        return {str(k): v if type(v) in _PLAIN else _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str):  # subclasses of the plain types
        return value
    return str(value)  # dates, Decimals: their exact text


def record_event(
    uow: UnitOfWork,
    actor_id: int | None,
    action: str,
    record_type: str,
    record_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    institution_id: int | None = None,
) -> None:
    uow.pending_audit.append(
        {
            "at": utcnow(),
            "actor_id": actor_id,
            "action": action,
            "record_type": record_type,
            "record_id": str(record_id),
            "institution_id": institution_id,
            "before": _jsonable(before),
            "after": _jsonable(after),
        }
    )


def flush_events(uow: UnitOfWork) -> None:
    """Write the buffered events; keep (id, digest) of each for the ledger's audit leaf."""
    if uow.pending_audit:
        written = insert_with_ids(uow.conn, audit_events, uow.pending_audit)  # ours: ids set in place
        uow.flushed_audit.extend((row["id"], event_digest(row)) for row in written)
        uow.pending_audit.clear()


def event_digest(event: Mapping[str, Any]) -> str:
    """SHA-256 of an event's JSON with sorted keys, the same whether computed from the values written or
    the row read back (times in UTC to the microsecond; before/after hold plain JSON values: strings,
    integers, booleans, null, lists and objects, which orjson writes one way only)."""
    at = event["at"]
    body = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        **{k: event[k] for k in ("actor_id", "action", "record_type", "record_id", "institution_id")},
        "before": event["before"],
        "after": event["after"],
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def history(conn: Any, record_type: str, record_id: object) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(audit_events)
        .where(audit_events.c.record_type == record_type, audit_events.c.record_id == str(record_id))
        .order_by(audit_events.c.id)
    ).mappings()
    return [dict(r) for r in rows]
