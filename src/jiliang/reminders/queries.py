"""What the pages and the API read: an owner's channels and notices with their delivery log, and the
regulator's per-district figures (notices sent, failed and waiting; instruments whose period is
unknown, which get no reminder)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ..auth import Actor
from ..registry.access import supervised_jurisdiction
from ..registry.tables import instruments
from ..supervision.counts import coverage_basis, coverage_counts, recount
from .service import owner_of
from .tables import reminder_channels, reminder_deliveries, reminder_outbox

__all__ = ["DistrictReminders", "Notice", "channels", "district_reminders", "notices", "unread_count"]

PAGE = 50


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    kind: str
    channel: str
    state: str
    due_on: date
    not_before: date
    attempts: int
    sent_at: datetime | None
    read_at: datetime | None
    last_error: str | None
    instrument_id: int
    instrument: str
    serial_no: str
    deliveries: tuple[dict[str, Any], ...]


def channels(conn: Connection, actor: Actor) -> dict[str, str | None]:
    owner = owner_of(actor)
    c = reminder_channels.c
    row = conn.execute(select(c.sms_phone, c.email).where(c.owner_id == owner)).first()
    return {"sms_phone": row.sms_phone if row else None, "email": row.email if row else None}


def notices(
    conn: Connection, actor: Actor, before: int | None = None, channel: str | None = None, limit: int = PAGE
) -> list[Notice]:
    """The owner's notices newest first (not the cancelled ones), a page at a time by id (`before`: the
    last id of the previous page), each with its delivery attempts."""
    owner = owner_of(actor)
    o, ins = reminder_outbox.c, instruments.c
    q = (
        select(reminder_outbox, ins.name, ins.serial_no)
        .join_from(reminder_outbox, instruments, ins.id == o.instrument_id)
        .where(o.owner_id == owner, o.state != "cancelled")
        .order_by(o.id.desc())
        .limit(limit)
    )
    if before is not None:
        q = q.where(o.id < before)
    if channel is not None:
        q = q.where(o.channel == channel)
    rows = conn.execute(q).all()
    log: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        d = reminder_deliveries.c
        for r in conn.execute(
            select(d.outbox_id, d.attempt, d.address, d.outcome, d.error, d.at)
            .where(d.outbox_id.in_([r.id for r in rows]))
            .order_by(d.id)
        ).mappings():
            log[r["outbox_id"]].append(dict(r))
    return [
        Notice(
            r.id,
            r.kind,
            r.channel,
            r.state,
            r.due_on,
            r.not_before,
            r.attempts,
            r.sent_at,
            r.read_at,
            r.last_error,
            r.instrument_id,
            r.name,
            r.serial_no,
            tuple(log[r.id]),
        )
        for r in rows
    ]


def unread_count(conn: Connection, actor: Actor) -> int:
    o = reminder_outbox.c
    q = select(func.count()).where(
        o.owner_id == owner_of(actor), o.channel == "app", o.state == "sent", o.read_at.is_(None)
    )
    return int(conn.execute(q).scalar_one())


@dataclass(frozen=True, slots=True)
class DistrictReminders:
    district_code: str
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # pending or being sent
    period_unknown: int = 0  # in-use catalogue instruments whose period is unknown: no reminder


def district_reminders(conn: Connection, actor: Actor, today: date) -> list[DistrictReminders]:
    """Per district of the actor's jurisdiction (by the instrument's district): the notices sent,
    failed and waiting, and the instruments counted as "period unknown" (from the kept coverage counts:
    a period class does not change with the day)."""
    where = supervised_jurisdiction(conn, actor)
    o, ins = reminder_outbox.c, instruments.c
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    state = func.coalesce(o.state, "")
    q = (
        select(o.district_code, state, func.count())
        .join_from(reminder_outbox, instruments, ins.id == o.instrument_id)
        .where(o.state.in_(("sent", "failed", "pending", "sending")), where.clause())
        .group_by(o.district_code, state)
    )
    for district, st, n in conn.execute(q):
        figures[district]["waiting" if st in ("pending", "sending") else st] += n
    if conn.execute(select(coverage_basis.c.counted_on)).first() is not None:
        cc = coverage_counts.c
        unknown: list[tuple[str, int]] = [
            (d, int(n or 0))
            for d, n in conn.execute(
                select(cc.district_code, func.sum(cc.n))
                .where(cc.period == "unknown", where.clause(coverage_counts))
                .group_by(cc.district_code)
            )
        ]
    else:
        counted = recount(conn, today, where.clause())
        totals: dict[str, int] = defaultdict(int)
        for key, n in counted.items():
            if key[3] == "unknown":
                totals[key[0]] += n
        unknown = list(totals.items())
    for district, n in unknown:
        if n:
            figures[district]["period_unknown"] += int(n)
    return [DistrictReminders(d, **dict(f)) for d, f in sorted(figures.items())]
