"""Reading the workflow: an institution's task queue and a record with its points and sign-offs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, false, func, or_, select, true

from ..auth import Actor
from ..errors import NotFound
from ..listing import JsonList, Keyset, KeysetPage, Page, contains
from ..registry.tables import instruments, owners, users
from .tables import measurement_points, record_standards, signoffs, tasks, verification_records

__all__ = ["task_queue", "task_queue_page", "tasks_page", "task_counts", "task_detail", "record_detail"]


# each task joined to its current record (a returned one is only history: at most one other per task);
# an open task stands at its record's stage, an issued one names the record its certificate came from
_ACTIVE = verification_records.alias("active")
_OPEN = ("recorded", "checked")
_STAGE = case((_ACTIVE.c.status.in_(_OPEN), _ACTIVE.c.status), else_=tasks.c.state)
_QUEUE = (
    tasks.outerjoin(_ACTIVE, (_ACTIVE.c.task_id == tasks.c.id) & _ACTIVE.c.status.in_((*_OPEN, "approved")))
    .join(instruments, instruments.c.id == tasks.c.instrument_id)
    .join(owners, owners.c.id == instruments.c.owner_id)
)
_TASKS = JsonList(
    [
        _STAGE.label("state"),
        _ACTIVE.c.id.label("record_id"),
        *(c for c in tasks.c if c.name != "state"),
        instruments.c.name.label("instrument_name"),
        instruments.c.serial_no,
        instruments.c.item_code,
        owners.c.name.label("owner_name"),
    ],
    utc_suffix="Z",  # as the framework's encoder wrote the queue's times before
)


def _scope(actor: Actor) -> ColumnElement[bool]:
    """Whose tasks the actor sees: an administrator every institution's (as `task_detail` answers them),
    institution staff their institution's, anyone else none."""
    if actor.has("admin"):
        return true()
    if actor.institution_id is None:
        return false()
    return tasks.c.institution_id == actor.institution_id


def _listed(actor: Actor, state: str | None) -> Select[Any]:
    """The tasks the actor sees with where each stands: assigned, recorded, checked or issued, with the
    current record, the instrument and its owner's name, in id order."""
    q = _TASKS.select().select_from(_QUEUE).where(_scope(actor))
    if state:
        q = q.where(_STAGE == state)
    return q.order_by(tasks.c.id)


def task_queue(conn: Connection, actor: Actor, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The first `limit` tasks of the queue (for the pages)."""
    return [dict(r._mapping) for r in conn.execute(_listed(actor, state).limit(limit))]


def task_queue_page(
    conn: Connection, actor: Actor, at: Keyset, state: str | None = None, search: str = ""
) -> KeysetPage[dict[str, Any]]:
    """A page of the queue, oldest first, for the pages: of one stage if given, and those `search`
    finds by the task's number, the instrument's name or serial number, or the owner's name."""
    q = _TASKS.select().select_from(_QUEUE).where(_scope(actor))
    if state:
        q = q.where(_STAGE == state)
    found = contains(search, instruments.c.name, instruments.c.serial_no, owners.c.name)
    if found is not None:
        number = search.strip().lstrip("#")
        q = q.where(or_(found, tasks.c.id == int(number)) if number.isdigit() and len(number) < 10 else found)
    return at.fetch(conn, q, tasks.c.id, lambda r: dict(r._mapping))


def tasks_page(
    conn: Connection, actor: Actor, state: str | None = None, limit: int = 200, after: int | None = None
) -> Page:
    """The API's page of the queue after the task id `after`, its JSON written by the database."""
    q = _listed(actor, state)
    if after is not None:
        q = q.where(tasks.c.id > after)
    return _TASKS.fetch(conn, q.limit(limit))


def task_counts(conn: Connection, actor: Actor) -> dict[str, int]:
    """How many of the tasks the actor sees stand at each stage (one grouped query)."""
    staged = select(_STAGE.label("state")).select_from(_QUEUE).where(_scope(actor)).subquery()
    return {s: n for s, n in conn.execute(select(staged.c.state, func.count()).group_by(staged.c.state))}


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
