"""Which instruments already have a task in progress — one assigned and not yet issued, which `apply`
refuses to duplicate (rule duplicate_task) — for a page of instruments, in one statement."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, select

from .tables import tasks

__all__ = ["tasks_in_progress"]


def tasks_in_progress(conn: Connection, instrument_ids: Collection[int]) -> dict[int, int]:
    """instrument id → the id of its task in progress, for those of `instrument_ids` that have one (the
    caller lists only instruments the actor may see)."""
    if not instrument_ids:
        return {}
    found = select(tasks.c.instrument_id, tasks.c.id).where(
        tasks.c.instrument_id.in_(instrument_ids), tasks.c.state == "assigned"
    )
    return {instrument: task for instrument, task in conn.execute(found)}
