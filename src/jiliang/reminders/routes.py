"""HTTP routes of reminders: an owner's channels and notices, marking notices read, and the regulator's
per-district figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ..deps import ActorDep, ConnDep, PlatformDep
from ..platform import shanghai_today
from . import queries
from .service import ChannelChoice, mark_read, set_channels

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["reminders 到期提醒"])


class ChannelsBody(BaseModel):
    sms_phone: str | None = Field(None, max_length=32, description="接收短信的手机号码，空则不发短信 / SMS number")
    email: str | None = Field(None, max_length=254, description="电子邮件地址，空则不发邮件 / e-mail address")


class ChannelsAnswer(BaseModel):
    sms_phone: str | None
    email: str | None
    app: bool = True  # in-app notices are always on


class NoticeAnswer(BaseModel):
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
    deliveries: list[dict[str, Any]]


class DistrictAnswer(BaseModel):
    district_code: str
    sent: int
    failed: int
    waiting: int
    period_unknown: int


def _channels(conn: Any, actor: Any) -> ChannelsAnswer:
    chosen = queries.channels(conn, actor)
    return ChannelsAnswer(sms_phone=chosen["sms_phone"], email=chosen["email"])


@router.get("/reminders/channels", summary="提醒方式 / the owner's reminder channels")
def get_channels(actor: ActorDep, conn: ConnDep) -> ChannelsAnswer:
    return _channels(conn, actor)


@router.put("/reminders/channels", summary="设置提醒方式 / choose the reminder channels")
def put_channels(body: ChannelsBody, actor: ActorDep, platform: PlatformDep) -> ChannelsAnswer:
    saved = set_channels(platform.uow(), actor, ChannelChoice(body.sms_phone, body.email))
    return ChannelsAnswer(sms_phone=saved.sms_phone, email=saved.email)


@router.get("/reminders", summary="提醒及发送记录 / the owner's reminders with their delivery log")
def list_notices(
    actor: ActorDep,
    conn: ConnDep,
    before: Annotated[int | None, Query(ge=1, description="上一页最后一条的 id / the previous page's last id")] = None,
) -> list[NoticeAnswer]:
    return [
        NoticeAnswer(
            **{f: getattr(n, f) for f in NoticeAnswer.model_fields if f != "deliveries"},
            deliveries=list(n.deliveries),
        )
        for n in queries.notices(conn, actor, before)
    ]


@router.post("/reminders/read", summary="站内通知标为已读 / mark in-app notices read")
def read_notices(
    actor: ActorDep, platform: PlatformDep, notice: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, int]:
    return {"marked": mark_read(platform.uow(), actor, notice)}


@router.get("/supervision/reminders", summary="各区提醒发送与周期未知 / reminders per district")
def district_figures(actor: ActorDep, conn: ConnDep) -> list[DistrictAnswer]:
    return [DistrictAnswer(**vars_of(r)) for r in queries.district_reminders(conn, actor, shanghai_today())]


def vars_of(row: queries.DistrictReminders) -> dict[str, Any]:
    return {f: getattr(row, f) for f in DistrictAnswer.model_fields}
