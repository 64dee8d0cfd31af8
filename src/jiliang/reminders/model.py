"""What a reminder is, when it may be sent and what it says (no I/O).

- due_soon 到期提醒: from 30 days before the due date (the last day the instrument is covered);
- overdue 超期提醒: from the day after the due date;
- revoked 证书撤销: at once, when the certificate that covered the instrument is revoked.

A notice goes out over each channel the owner chose: in-app always, SMS to a mainland mobile number,
e-mail to an address. A failed attempt is retried after a delay that doubles each time, up to a
number of attempts, then the notice is failed and stays in the delivery log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

__all__ = [
    "CHANNELS",
    "Channel",
    "Kind",
    "LEAD_DAYS",
    "Message",
    "Planned",
    "State",
    "channels_of",
    "compose",
    "planned_notices",
    "retry_delay",
    "valid_email",
    "valid_phone",
]

Kind = Literal["due_soon", "overdue", "revoked"]
Channel = Literal["sms", "email", "app"]
State = Literal["pending", "sending", "sent", "failed", "cancelled"]
CHANNELS: tuple[Channel, ...] = ("app", "sms", "email")
LEAD_DAYS = 30  # a due-soon notice goes out this many days before the due date

_PHONE = re.compile(r"1[3-9]\d{9}")  # a mainland China mobile number (11 digits)
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,24}")


@dataclass(frozen=True, slots=True)
class Planned:
    kind: Kind
    due_on: date
    not_before: date


def planned_notices(due_on: date, today: date) -> list[Planned]:
    """The notices an instrument due on `due_on` gets; a due-soon notice only while the due date is
    not yet past on `today` (after it, the overdue notice says what matters)."""
    out = [Planned("overdue", due_on, due_on + timedelta(days=1))]
    if due_on >= today:
        out.insert(0, Planned("due_soon", due_on, due_on - timedelta(days=LEAD_DAYS)))
    return out


def channels_of(sms_phone: str | None, email: str | None) -> tuple[Channel, ...]:
    """In-app always; SMS and e-mail where the owner gave a number or an address."""
    out: list[Channel] = ["app"]
    if sms_phone:
        out.append("sms")
    if email:
        out.append("email")
    return tuple(out)


def valid_phone(phone: str) -> bool:
    return _PHONE.fullmatch(phone) is not None


def valid_email(email: str) -> bool:
    return len(email) <= 254 and _EMAIL.fullmatch(email) is not None


def retry_delay(attempts: int, base_seconds: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2 × base, 4 × base, … at most a day."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 86_400))


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    body: str
    sms: str  # one short text


def compose(kind: Kind, owner: str, instrument: str, serial_no: str, due_on: date) -> Message:
    """The notice in Chinese, naming the instrument and its due date (an English line follows in e-mail)."""
    what = f"{instrument}（出厂编号 {serial_no}）"
    day = f"{due_on.year}年{due_on.month}月{due_on.day}日"
    if kind == "due_soon":
        headline = f"{what}的检定有效期将于{day}届满"
        advice = "请在到期前申请检定，逾期未检的计量器具不得继续使用。"
        english = f"The verification of {instrument} (serial {serial_no}) expires on {due_on.isoformat()}."
    elif kind == "overdue":
        headline = f"{what}的检定有效期已于{day}届满，已超期未检"
        advice = "请立即停止使用并申请检定。"
        english = f"The verification of {instrument} (serial {serial_no}) expired on {due_on.isoformat()}: overdue."
    else:
        headline = f"{what}的检定证书已被撤销，不再处于检定有效期内"
        advice = "请停止使用并重新申请检定。"
        english = f"The verification certificate of {instrument} (serial {serial_no}) was revoked."
    subject = f"【计量器具检定提醒】{headline}"
    body = (
        f"{owner}：\n\n{headline}。{advice}\n"
        "可登录计量平台“我的器具”页面申请检定。\n\n"
        f"{english}\n\n上海市法制计量平台（本邮件由系统自动发送）\n"
    )
    sms = f"【计量平台】{owner}：{headline}。{advice}"
    return Message(subject, body, sms)
