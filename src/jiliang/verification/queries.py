"""Reading the workflow: an institution's task queue and a record with its points and sign-offs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, func, select

from ..auth import Actor
from ..errors import NotFound
from ..registry.tables import instruments, owners, users
from .tables import measurement_points, record_standards, signoffs, tasks, verification_records

__all__ = ["task_queue", "task_counts", "task_detail", "record_detail"]


def _queue(actor: Actor) -> tuple[Select[Any], ColumnElement[str]]:
    """The institution's tasks joined to their open record, and the stage each stands at."""
    active = verification_records.alias("active")
    stage = func.coalesce(active.c.status, tasks.c.state).label("state")
    q = (
        select(stage)
        .select_from(tasks)
        .outerjoin(
            active,
            (active.c.task_id == tasks.c.id) & active.c.status.in_(("recorded", "checked")),
        )
        .where(tasks.c.institution_id == actor.institution_id)
    )
    return q.add_columns(active.c.id.label("record_id")), stage


def task_queue(conn: Connection, actor: Actor, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The institution's tasks with where each stands: assigned, recorded, checked or issued (an open
    task's stage is its current record's)."""
    if actor.institution_id is None:
        return []
    q, stage = _queue(actor)
    q = (
        q.add_columns(
            *(c for c in tasks.c if c.name != "state"),
            instruments.c.name.label("instrument_name"),
            instruments.c.serial_no,
            instruments.c.item_code,
            owners.c.name.label("owner_name"),
        )
        .join(instruments, instruments.c.id == tasks.c.instrument_id)
        .join(owners, owners.c.id == instruments.c.owner_id)
    )
    if state:
        q = q.where(stage == state)
    return [dict(r._mapping) for r in conn.execute(q.order_by(tasks.c.id).limit(limit))]


def task_counts(conn: Connection, actor: Actor) -> dict[str, int]:
    """How many of the institution's tasks stand at each stage (one grouped query)."""
    if actor.institution_id is None:
        return {}
    q, stage = _queue(actor)
    counted = q.with_only_columns(stage).subquery()
    return {s: n for s, n in conn.execute(select(counted.c.state, func.count()).group_by(counted.c.state))}


def task_detail(conn: Connection, actor: Actor, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    owner_ok = (
        row is not None
        and actor.owner_id is not None
        and conn.execute(select(instruments.c.owner_id).where(instruments.c.id == row.instrument_id)).scalar_one()
        == actor.owner_id
    )
    if row is None or not (row.institution_id == actor.institution_id or owner_ok or actor.has("admin")):
        raise NotFound(f"没有可查看的任务 {task_id} / no task {task_id} that you may see")
    d = dict(row._mapping)
    d["instrument"] = dict(
        conn.execute(select(instruments).where(instruments.c.id == row.instrument_id)).one()._mapping
    )
    d["instrument"].pop("label_token", None)
    d["records"] = [
        r.id for r in conn.execute(select(verification_records.c.id).where(verification_records.c.task_id == task_id))
    ]
    return d


def record_detail(conn: Connection, actor: Actor, record_id: int) -> dict[str, Any]:
    rec = conn.execute(select(verification_records).where(verification_records.c.id == record_id)).first()
    if rec is None or (rec.institution_id != actor.institution_id and not actor.has("admin")):
        raise NotFound(f"本机构没有记录 {record_id} / no record {record_id} at your institution")
    d = dict(rec._mapping)
    d["points"] = [
        dict(p._mapping)
        for p in conn.execute(
            select(measurement_points)
            .where(measurement_points.c.record_id == record_id)
            .order_by(measurement_points.c.seq)
        )
    ]
    d["standards"] = [
        r.standard_id
        for r in conn.execute(select(record_standards.c.standard_id).where(record_standards.c.record_id == record_id))
    ]
    d["signoffs"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(signoffs.c.step, signoffs.c.signed_at, signoffs.c.content_hash, users.c.display_name)
            .join(users, users.c.id == signoffs.c.user_id)
            .where(signoffs.c.record_id == record_id)
            .order_by(signoffs.c.id)
        )
    ]
    return d
