"""Persistence helpers shared by the workflow steps: batch reads, set-based updates, and the
contents already hashed inside the current transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from ..bulk import among
from ..db import UnitOfWork
from .tables import tasks

__all__ = ["by_id", "set_where_in", "set_task_states", "signed_contents"]


def by_id(conn: Connection, table: Any, ids: Sequence[int]) -> dict[int, Any]:
    return {r.id: r for r in conn.execute(select(table).where(among(conn, table.c.id, list(set(ids)))))} if ids else {}


_CHUNK = 1000  # ids per IN list: well inside SQLite's and PostgreSQL's limits on bound parameters


def set_where_in(conn: Connection, table: Any, ids: Sequence[int], **values: Any) -> None:
    """One set-based UPDATE per chunk instead of a statement per row."""
    for k in range(0, len(ids), _CHUNK):
        conn.execute(update(table).where(among(conn, table.c.id, ids[k : k + _CHUNK])).values(**values))


def set_task_states(conn: Connection, task_ids: Sequence[int], state: str, now: Any) -> None:
    set_where_in(conn, tasks, task_ids, state=state, updated_at=now)


def signed_contents(uow: UnitOfWork) -> dict[int, tuple[dict[str, Any], str]]:
    """Contents hashed earlier in this same transaction (a batch that records, checks and approves):
    nothing outside the transaction can have changed them, so they need not be read and hashed again."""
    cache: dict[int, tuple[dict[str, Any], str]] = uow.memo.setdefault("signed_contents", {})
    return cache
