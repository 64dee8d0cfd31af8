"""Reminder use cases of an owner: choosing the channels (one transaction with its audit record and
the re-planned outbox of the owner's instruments) and marking in-app notices read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import Forbidden, InvalidInput
from ..registry.tables import instruments
from ..types import utcnow
from .model import valid_email, valid_phone
from .planning import replan
from .tables import reminder_channels, reminder_outbox

__all__ = ["ChannelChoice", "mark_read", "owner_of", "set_channels"]


@dataclass(frozen=True)
class ChannelChoice:
    """'' or None turns a channel off; in-app notices are always on."""

    sms_phone: str | None = None
    email: str | None = None


def owner_of(actor: Actor) -> int:
    if actor.owner_id is None or not actor.has("owner_user"):
        raise Forbidden("只有使用单位可以设置提醒方式 / only an owner chooses its reminders", rule="tenancy")
    return actor.owner_id


def _clean(choice: ChannelChoice) -> tuple[str | None, str | None]:
    phone = (choice.sms_phone or "").replace(" ", "").replace("-", "") or None
    email = (choice.email or "").strip() or None
    if phone is not None and not valid_phone(phone):
        raise InvalidInput(
            "手机号码应为 11 位中国大陆手机号 / the SMS number must be an 11-digit mainland mobile number",
            rule="sms_phone",
        )
    if email is not None and not valid_email(email):
        raise InvalidInput("电子邮件地址格式不正确 / the e-mail address is not valid", rule="email")
    return phone, email


def set_channels(uow: UnitOfWork, actor: Actor, choice: ChannelChoice) -> ChannelChoice:
    """The owner's channels; the notices of its instruments follow at once (a channel turned off
    cancels its pending notices, one turned on adds them); returns the channels as saved."""
    owner = owner_of(actor)
    phone, email = _clean(choice)
    with uow:
        conn, c = uow.conn, reminder_channels.c
        before = conn.execute(select(c.sms_phone, c.email).where(c.owner_id == owner)).first()
        values = {"sms_phone": phone, "email": email, "updated_at": utcnow()}
        if before is None:
            conn.execute(reminder_channels.insert().values(owner_id=owner, **values))
        else:
            conn.execute(update(reminder_channels).where(c.owner_id == owner).values(**values))
        replan(conn, instruments.c.owner_id == owner)
        record_event(
            uow,
            actor.user_id,
            "reminder.channels_set",
            "owner",
            owner,
            None if before is None else {"sms_phone": before.sms_phone, "email": before.email},
            {"sms_phone": phone, "email": email},
        )
        uow.commit()
    return ChannelChoice(phone, email)


def mark_read(uow: UnitOfWork, actor: Actor, notice_id: int | None = None) -> int:
    """Marks the owner's sent in-app notices read (one, or all unread); returns how many."""
    owner = owner_of(actor)
    o = reminder_outbox.c
    with uow:
        where = [o.owner_id == owner, o.channel == "app", o.state == "sent", o.read_at.is_(None)]
        if notice_id is not None:
            where.append(o.id == notice_id)
        n = uow.conn.execute(update(reminder_outbox).where(*where).values(read_at=utcnow())).rowcount
        uow.commit()
        return int(n or 0)
