"""Writing the outbox in the caller's transaction: every change that sets or clears an instrument's due
date re-plans its notices (`replan`), and a revoked certificate adds a notice of its own
(`notify_revoked`). Called by the verification, certificate and registry services beside their
coverage-count restatement, so the notices and the change commit together or not at all.

Re-planning compares the notices an instrument should have with those written: a missing one is
added, a pending one no longer wanted is cancelled, a cancelled one wanted again is pending again; a
sent or failed one is never touched (the unique key keeps each notice to one row)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select, update

from ..registry.tables import instruments
from ..supervision.standing import due_on, eligible, instruments_with_types, period_class
from ..types import utcnow
from .model import Channel, channels_of, planned_notices
from .tables import reminder_channels, reminder_outbox

__all__ = ["notify_revoked", "replan", "wants_reminders"]

_CHUNK = 500
NoticeKey = tuple[int, int, str, date, str]  # instrument, owner, kind, due date, channel


def wants_reminders() -> ColumnElement[bool]:
    """An in-use catalogue instrument whose due date ends its coverage (standing.py's rules): a
    periodic one with a valid-until; a limited-use or scrap-mode one after a pass, with its replace-by
    or the institution's limit. Never one whose period is unknown, nor one barred by a failed check
    (needs `instruments_with_types`)."""
    return and_(
        eligible(),
        instruments.c.barred.is_(False),
        due_on().is_not(None),
        or_(
            period_class() == "periodic",
            and_(period_class().in_(("limited_use", "scrap")), instruments.c.last_conclusion == "pass"),
        ),
    )


def _channels(conn: Connection, owner_ids: Iterable[int]) -> dict[int, tuple[Channel, ...]]:
    ids = sorted(set(owner_ids))
    rows = conn.execute(select(reminder_channels).where(reminder_channels.c.owner_id.in_(ids))).all() if ids else []
    found = {r.owner_id: channels_of(r.sms_phone, r.email) for r in rows}
    return {o: found.get(o, ("app",)) for o in ids}


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for k in range(0, len(ids), _CHUNK):
        yield ids[k : k + _CHUNK]


def replan(conn: Connection, which: ColumnElement[bool], today: date | None = None) -> None:
    """Bring the outbox of the instruments `which` selects in line with their due dates and owners'
    channels (in the caller's transaction)."""
    from ..platform import shanghai_today

    today = today or shanghai_today()
    rows = conn.execute(
        select(
            instruments.c.id,
            instruments.c.owner_id,
            instruments.c.district_code,
            instruments.c.last_conclusion,
            instruments.c.status,
            due_on().label("due"),
            wants_reminders().label("wanted"),
        )
        .select_from(instruments_with_types())
        .where(which)
    ).all()
    if not rows:
        return
    channels = _channels(conn, (r.owner_id for r in rows))
    wanted: dict[NoticeKey, tuple[date, str]] = {}  # → not_before, district
    district = {r.id: r.district_code for r in rows}
    revoked_ok = {(r.id, r.owner_id) for r in rows if r.last_conclusion == "revoked" and r.status == "in_use"}
    for r in rows:
        if not r.wanted:
            continue
        for notice in planned_notices(r.due, today):
            for channel in channels[r.owner_id]:
                wanted[(r.id, r.owner_id, notice.kind, notice.due_on, channel)] = (notice.not_before, r.district_code)
    o = reminder_outbox.c
    cancel, revive, moved = [], [], []
    for part in _chunks(sorted(district)):
        for e in conn.execute(
            select(o.id, o.instrument_id, o.owner_id, o.kind, o.due_on, o.channel, o.state, o.district_code).where(
                o.instrument_id.in_(part)
            )
        ):
            key = (e.instrument_id, e.owner_id, e.kind, e.due_on, e.channel)
            keep = key in wanted or (
                e.kind == "revoked"
                and (e.instrument_id, e.owner_id) in revoked_ok
                and e.channel in channels.get(e.owner_id, ())
            )
            wanted.pop(key, None)
            if e.state in ("pending", "cancelled") and e.district_code != district[e.instrument_id]:
                moved.append({"oid": e.id, "d": district[e.instrument_id]})
            if e.state == "pending" and not keep:
                cancel.append(e.id)
            elif e.state == "cancelled" and keep:
                revive.append(e.id)
    if cancel:
        conn.execute(update(reminder_outbox).where(o.id.in_(cancel)).values(state="cancelled"))
    if revive:
        conn.execute(
            update(reminder_outbox)
            .where(o.id.in_(revive))
            .values(state="pending", attempts=0, next_attempt_at=None, last_error=None)
        )
    if moved:
        from sqlalchemy import bindparam

        conn.execute(
            update(reminder_outbox).where(o.id == bindparam("oid")).values(district_code=bindparam("d")), moved
        )
    _insert(conn, wanted)


def _insert(conn: Connection, notices: dict[NoticeKey, tuple[date, str]]) -> None:
    if not notices:
        return
    now = utcnow()
    conn.execute(
        insert(reminder_outbox),
        [
            {
                "instrument_id": iid,
                "owner_id": owner,
                "kind": kind,
                "due_on": due,
                "channel": channel,
                "not_before": not_before,
                "district_code": district,
                "state": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for (iid, owner, kind, due, channel), (not_before, district) in notices.items()
        ],
    )


def notify_revoked(conn: Connection, instrument_id: int, on: date | None = None) -> None:
    """A revoked pass leaves the instrument uncovered: its owner is told at once (`on`, default today),
    over each channel (after `replan` has cancelled the notices of the due date that no longer holds)."""
    from ..platform import shanghai_today

    on = on or shanghai_today()
    inst: Any = conn.execute(
        select(instruments.c.owner_id, instruments.c.district_code, instruments.c.status).where(
            instruments.c.id == instrument_id
        )
    ).first()
    if inst is None or inst.status != "in_use":
        return
    o = reminder_outbox.c
    written = set(
        conn.execute(
            select(o.channel).where(
                o.instrument_id == instrument_id, o.owner_id == inst.owner_id, o.kind == "revoked", o.due_on == on
            )
        ).scalars()
    )
    fresh: dict[NoticeKey, tuple[date, str]] = {
        (instrument_id, inst.owner_id, "revoked", on, channel): (on, inst.district_code)
        for channel in _channels(conn, [inst.owner_id])[inst.owner_id]
        if channel not in written
    }
    _insert(conn, fresh)
