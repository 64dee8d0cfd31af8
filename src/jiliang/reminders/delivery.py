"""Delivering the outbox: claim the notices that are due, send each over its channel, record the
outcome in the delivery log (ledgered) and the notice's state.

A claim is atomic, so two runners never take the same notice: on PostgreSQL one UPDATE over the
rows a `SELECT … FOR UPDATE SKIP LOCKED` picked (a runner skips what another is claiming); on SQLite
the same UPDATE in a `BEGIN IMMEDIATE` transaction (one writer at a time, and the UPDATE re-checks
that each row is still pending). A claimed notice is 'sending' under the claim's token and lease;
sending happens outside any transaction, and only the holder of the token records its outcome. A
runner that dies between claiming and recording leaves its notices to be claimed again once the
lease has run out: such a notice may go out twice (e-mail carries the notice's own Message-ID so the
copy is recognisable) — the one case where at-least-once wins over at-most-once, since a lost
reminder costs an owner more than a repeated one.

Before sending, each notice is checked against the instrument as it is now: a notice whose due date
no longer holds, whose instrument left its owner or the register, whose period became unknown or
whose channel the owner turned off is cancelled instead (a safety net behind re-planning)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from ..ledger.append import track
from ..platform import Platform
from ..registry.tables import instruments, owners
from ..supervision.standing import due_on, instruments_with_types
from ..types import utcnow
from .model import compose, retry_delay
from .planning import wants_reminders
from .senders import Senders, SendFailed
from .tables import reminder_channels, reminder_deliveries, reminder_outbox

__all__ = ["Policy", "Tally", "deliver_due"]


@dataclass(frozen=True)
class Policy:
    """JILIANG_REMINDER_ATTEMPTS (5): attempts before a notice is failed; JILIANG_REMINDER_RETRY_SECONDS
    (300): the wait after the first failure, doubled after each next one (at most a day)."""

    attempts: int = 5
    retry_seconds: int = 300
    lease_seconds: int = 600  # how long a claim holds before another runner may take the notice
    batch: int = 50

    @classmethod
    def from_env(cls) -> Policy:
        return cls(
            attempts=int(os.environ.get("JILIANG_REMINDER_ATTEMPTS", "5")),
            retry_seconds=int(os.environ.get("JILIANG_REMINDER_RETRY_SECONDS", "300")),
        )


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


o = reminder_outbox.c


def _due(today: date, now: datetime) -> Any:
    return or_(
        and_(
            o.state == "pending",
            o.not_before <= today,
            or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now),
        ),
        and_(o.state == "sending", o.claimed_until < now),  # a runner died holding it
    )


def _claim(platform: Platform, today: date, now: datetime, policy: Policy, token: str) -> list[int]:
    pick = select(o.id).where(_due(today, now)).order_by(o.id).limit(policy.batch)
    if platform.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    with platform.uow() as uow:
        claimed = list(
            uow.conn.execute(
                update(reminder_outbox)
                .where(o.id.in_(pick.scalar_subquery()), _due(today, now))
                .values(
                    state="sending",
                    claimed_by=token,
                    claimed_until=now + timedelta(seconds=policy.lease_seconds),
                    attempts=o.attempts + 1,
                )
                .returning(o.id)
            ).scalars()
        )
        uow.commit()
    return sorted(claimed)


def _details(platform: Platform, ids: list[int]) -> list[Any]:
    ins, ch = instruments.c, reminder_channels.c
    q = (
        select(
            o.id,
            o.kind,
            o.channel,
            o.due_on,
            o.owner_id,
            o.attempts,
            ins.name,
            ins.serial_no,
            ins.status,
            ins.last_conclusion,
            ins.owner_id.label("owner_now"),
            due_on().label("due_now"),
            wants_reminders().label("wanted"),
            owners.c.name.label("owner_name"),
            ch.sms_phone,
            ch.email,
        )
        .select_from(
            reminder_outbox.join(instruments_with_types(), instruments.c.id == o.instrument_id)
            .join(owners, owners.c.id == o.owner_id)
            .outerjoin(reminder_channels, ch.owner_id == o.owner_id)
        )
        .where(o.id.in_(ids))
        .order_by(o.id)
    )
    with platform.engine.connect() as conn:
        return list(conn.execute(q).all())


def _still_wanted(n: Any, today: date) -> bool:
    if n.owner_now != n.owner_id or n.status != "in_use":
        return False
    if n.channel == "sms" and not n.sms_phone or n.channel == "email" and not n.email:
        return False
    if n.kind == "revoked":
        return bool(n.last_conclusion == "revoked")
    if not n.wanted or n.due_now != n.due_on:
        return False
    return n.kind != "due_soon" or today <= n.due_on


def _send(senders: Senders, n: Any) -> str:
    """Sends the notice; returns the address it went to."""
    message = compose(n.kind, n.owner_name, n.name, n.serial_no, n.due_on)
    if n.channel == "sms":
        try:
            senders.sms.send(n.sms_phone, message.sms)
        except SendFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - a gateway's own error is a failed attempt
            raise SendFailed(f"SMS: {exc}") from exc
        return str(n.sms_phone)
    if n.channel == "email":
        senders.mailer.send(n.email, message, n.id)
        return str(n.email)
    return ""  # in-app: listed on the owner's pages once sent


def _record(
    platform: Platform, n: Any, token: str, now: datetime, values: dict[str, Any], log: dict[str, Any] | None
) -> None:
    with platform.uow() as uow:
        uow.conn.execute(
            update(reminder_outbox)
            .where(o.id == n.id, o.state == "sending", o.claimed_by == token)
            .values(claimed_by=None, claimed_until=None, **values)
        )
        if log is not None:  # what was attempted is recorded even if the claim was lost meanwhile
            row = {"outbox_id": n.id, "attempt": n.attempts, "channel": n.channel, "at": now, **log}
            rid = uow.conn.execute(insert(reminder_deliveries).values(**row).returning(reminder_deliveries.c.id))
            row["id"] = rid.scalar_one()
            track(uow, "reminder_delivery", [row["id"]], new=True, rows=[row])
        uow.commit()


def _deliver(
    platform: Platform, senders: Senders, n: Any, today: date, now: datetime, policy: Policy, token: str, tally: Tally
) -> None:
    if not _still_wanted(n, today):
        _record(platform, n, token, now, {"state": "cancelled"}, None)
        tally.cancelled += 1
        return
    address = {"sms": n.sms_phone, "email": n.email}.get(n.channel) or ""
    try:
        address = _send(senders, n)
    except SendFailed as exc:
        error = str(exc)[:500]
        if n.attempts >= policy.attempts:
            values: dict[str, Any] = {"state": "failed", "last_error": error}
            outcome = "failed"
            tally.failed += 1
        else:
            wait = retry_delay(n.attempts, policy.retry_seconds)
            values = {"state": "pending", "last_error": error, "next_attempt_at": now + wait}
            outcome = "retry"
            tally.retried += 1
        _record(platform, n, token, now, values, {"address": address, "outcome": outcome, "error": error})
        return
    _record(
        platform,
        n,
        token,
        now,
        {"state": "sent", "sent_at": now, "last_error": None},
        {"address": address, "outcome": "sent", "error": None},
    )
    tally.sent += 1


def deliver_due(
    platform: Platform, senders: Senders, today: date, now: datetime | None = None, policy: Policy | None = None
) -> Tally:
    """Sends every notice due on `today` (a Shanghai day) at `now` (UTC, default the clock), batch by
    batch, until none is left to claim; returns what happened."""
    now = now or utcnow()
    policy = policy or Policy()
    token = secrets.token_hex(8)
    tally = Tally()
    while claimed := _claim(platform, today, now, policy, token):
        found = _details(platform, claimed)
        gone = set(claimed) - {n.id for n in found}  # an instrument or owner no longer there
        if gone:
            with platform.uow() as uow:
                uow.conn.execute(update(reminder_outbox).where(o.id.in_(gone)).values(state="cancelled"))
                uow.commit()
            tally.cancelled += len(gone)
        for n in found:
            _deliver(platform, senders, n, today, now, policy, token, tally)
    return tally
