"""Applying for verification (or calibration) at /owner/apply: the owner ticks instruments (those
overdue, due soon or never verified are listed first and ticked), `verification.service.apply`
makes one task per instrument at an authorised institution, and the page shows the tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import FormData

from ..auth import Actor
from ..deps import ConnDep, PlatformDep
from ..errors import JiliangError
from ..registry.directory import catalogue_names, institution_names, own_organisation
from ..verification import queries as workflow_queries
from ..verification import service as workflow
from .i18n import N_, bilingual
from .owner import all_instruments
from .owner_access import OWNER_PAGES
from .render import language_of, redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import ATTENTION, INSTRUMENT_STATUSES, translate, vocabulary

__all__ = ["router"]

router = page_router("/owner/apply", OWNER_PAGES)

_ORDER = {s: n for n, s in enumerate(INSTRUMENT_STATUSES)}
MAX_CREATED_SHOWN = 200  # the tasks listed after applying (the flash gives the full count)


async def _posted(request: Request) -> FormData:
    return await request.form()  # already read (and cached) by the CSRF check


Posted = Annotated[FormData, Depends(_posted)]


def _ids(raw: list[str]) -> list[int]:
    return [int(x) for x in raw if x.strip().isdigit()]


def _created_tasks(conn: Connection, actor: Actor, task_ids: list[int]) -> list[dict[str, Any]]:
    """The tasks just made (verification.queries.task_detail checks that each is the owner's)."""
    tasks = [workflow_queries.task_detail(conn, actor, tid) for tid in task_ids[:MAX_CREATED_SHOWN]]
    names = institution_names(conn, (t["institution_id"] for t in tasks))
    for t in tasks:
        t["institution"] = names.get(t["institution_id"], ("", ""))
    return tasks


def _page(
    request: Request,
    actor: Actor,
    conn: Connection,
    chosen: set[int] | None,
    form: dict[str, str],
    created: list[int] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    rows, _cut = all_instruments(conn, actor)
    candidates = sorted(
        (r for r in rows if r["status"] != "scrapped"), key=lambda r: (_ORDER.get(r["due_status"], 99), r["id"])
    )
    if chosen is None:
        chosen = {r["id"] for r in candidates if r["due_status"] in ATTENTION and r["item_code"] is not None}
    names = catalogue_names(conn)
    items, types = names.items, names.types
    context = {
        "organisation": own_organisation(conn, actor),
        "candidates": candidates,
        "chosen": chosen,
        "form": form,
        "created": _created_tasks(conn, actor, created) if created else [],
        "error": error,
        "item_names": items,
        "type_names": types,
        **vocabulary(),
    }
    return render(request, "owner/apply.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def apply_page(
    request: Request,
    actor: PageActor,
    conn: ConnDep,
    instrument: Annotated[list[str] | None, Query()] = None,
    created: Annotated[str, Query(max_length=2000)] = "",
) -> HTMLResponse:
    """`?instrument=ID` ticks just that instrument (from its page); `?created=1,2` shows the new tasks."""
    chosen = set(_ids(instrument)) if instrument else None
    made = _ids(created.split(",")) if created else None
    return _page(request, actor, conn, chosen, {"kind": "verification"}, made)


@router.post("", response_class=HTMLResponse)
def do_apply(request: Request, actor: PageActor, platform: PlatformDep, conn: ConnDep, form: Posted) -> Response:
    ids = _ids([str(v) for v in form.getlist("instrument_id")])
    kind = str(form.get("kind") or "verification")
    note = str(form.get("note") or "").strip()
    statement = form.get("conformity_statement") == "yes"
    values = {"kind": kind, "note": note, "conformity_statement": "yes" if statement else ""}
    if len(note) > 2000:
        message = translate(request, N_("The note is too long (at most 2000 characters)."))
        return _page(request, actor, conn, set(ids), values, error=message, status=422)
    try:
        task_ids = workflow.apply(platform.uow(), actor, ids, kind, statement, note)
    except JiliangError as exc:
        message = bilingual(exc.message, language_of(request))
        return _page(request, actor, conn, set(ids), values, error=message, status=exc.status)
    flash = translate(request, N_("Application sent. Tasks created: %(n)s."), n=len(task_ids))
    shown = ",".join(map(str, task_ids[:MAX_CREATED_SHOWN]))
    return redirect(f"/owner/apply?created={shown}", flash=flash)
