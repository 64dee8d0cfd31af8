"""Reminder pages: the owner's at /owner/reminders (the channels chosen, in-app notices with their
unread state, every notice with its delivery log) and the regulator's at /supervision/reminders
(per district of the jurisdiction: notices sent, failed and waiting, and instruments whose period is
unknown, which get no reminder)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from ..auth import Actor
from ..deps import ConnDep, PlatformDep
from ..errors import JiliangError
from ..platform import shanghai_today
from ..registry.directory import list_districts, own_organisation
from ..reminders import queries
from ..reminders.service import ChannelChoice, mark_read, set_channels
from .i18n import N_, bilingual
from .owner_access import OWNER_PAGES
from .render import language_of, redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import translate

__all__ = ["owner_router", "supervision_router", "KIND_NAMES", "CHANNEL_NAMES", "STATE_NAMES"]

owner_router = page_router("/owner/reminders", OWNER_PAGES)
supervision_router = page_router("/supervision/reminders")

KIND_NAMES = {"due_soon": N_("Due within 30 days"), "overdue": N_("Overdue"), "revoked": N_("Certificate revoked")}
CHANNEL_NAMES = {"app": N_("In the platform"), "sms": N_("SMS"), "email": N_("E-mail")}
STATE_NAMES = {
    "pending": N_("Waiting"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}
OUTCOME_NAMES = {"sent": N_("Sent"), "retry": N_("Will retry"), "failed": N_("Failed")}


def _owner_page(
    request: Request,
    actor: Actor,
    conn: Connection,
    before: int | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    shown = queries.notices(conn, actor, before)
    context = {
        "organisation": own_organisation(conn, actor),
        "channels": values or queries.channels(conn, actor),
        "notices": shown,
        "inbox": [n for n in shown if n.channel == "app" and n.state == "sent"],
        "unread": queries.unread_count(conn, actor),
        "older": shown[-1].id if len(shown) == queries.PAGE else None,
        "error": error,
        "KIND_NAMES": KIND_NAMES,
        "CHANNEL_NAMES": CHANNEL_NAMES,
        "STATE_NAMES": STATE_NAMES,
        "OUTCOME_NAMES": OUTCOME_NAMES,
    }
    return render(request, "owner/reminders.html", context, status_code=status)


@owner_router.get("", response_class=HTMLResponse)
def reminders_page(
    request: Request, actor: PageActor, conn: ConnDep, before: Annotated[int | None, Query(ge=1)] = None
) -> HTMLResponse:
    return _owner_page(request, actor, conn, before)


@owner_router.post("/channels", response_class=HTMLResponse)
def save_channels(
    request: Request,
    actor: PageActor,
    platform: PlatformDep,
    conn: ConnDep,
    sms_phone: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    try:
        set_channels(platform.uow(), actor, ChannelChoice(sms_phone, email))
    except JiliangError as exc:
        message = bilingual(exc.message, language_of(request))
        return _owner_page(request, actor, conn, None, message, {"sms_phone": sms_phone, "email": email}, exc.status)
    return redirect("/owner/reminders", flash=translate(request, N_("Your reminder channels are saved.")))


@owner_router.post("/read", response_class=HTMLResponse)
def read_all(request: Request, actor: PageActor, platform: PlatformDep) -> Response:
    mark_read(platform.uow(), actor)
    return redirect("/owner/reminders")


@supervision_router.get("", response_class=HTMLResponse)
def district_page(request: Request, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    lang = language_of(request)
    today = shanghai_today()
    rows = queries.district_reminders(conn, actor, today)
    names = {d.code: (d.name_zh if lang == "zh-CN" else d.name_en) for d in list_districts(conn)}
    totals = {k: sum(getattr(r, k) for r in rows) for k in ("sent", "failed", "waiting", "period_unknown")}
    return render(request, "supervision/reminders.html", {"rows": rows, "names": names, "totals": totals})
