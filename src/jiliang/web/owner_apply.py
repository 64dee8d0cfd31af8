"""Applying for verification (or calibration) at /owner/apply: the owner ticks instruments on a page of
those in use (by default those overdue, due soon or never verified, ticked; or all in use; searched by
name, serial number, model or type), `verification.service.apply` makes one task per instrument at an
authorised institution, and the page shows the tasks. An instrument whose task is still in progress is
marked and cannot be ticked: the service refuses a second task for it (rule duplicate_task)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import FormData

from ..auth import Actor
from ..deps import ConnDep, PlatformDep
from ..errors import JiliangError
from ..listing import Keyset, PageAt, Search
from ..platform import shanghai_today
from ..registry.directory import catalogue_names, institution_names, own_organisation
from ..registry.queries import instrument_list_page, instrument_status_counts
from ..verification import queries as workflow_queries
from ..verification import service as workflow
from ..verification.in_progress import tasks_in_progress
from .i18n import N_, bilingual
from .owner_access import OWNER_PAGES
from .render import language_of, redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import ATTENTION, INSTRUMENT_STATUSES, translate, vocabulary

__all__ = ["router"]

router = page_router("/owner/apply", OWNER_PAGES)

IN_USE = tuple(s for s in INSTRUMENT_STATUSES if s != "scrapped")
MAX_CREATED_SHOWN = 200  # the tasks listed after applying (the flash gives the full count)


@dataclass(frozen=True)
class Shown:
    """Which instruments the page lists: `due` (those needing verification) or `all` in use, the search
    and the page."""

    show: str
    q: str
    at: Keyset


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
    shown: Shown,
    chosen: set[int] | None,
    form: dict[str, str],
    created: list[int] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    today = shanghai_today()
    counts = instrument_status_counts(conn, actor, today, shown.q)
    due, in_use = (sum(counts.get(s, 0) for s in group) for group in (ATTENTION, IN_USE))
    show = "all" if shown.show == "all" or not due else "due"
    found = instrument_list_page(conn, actor, today, shown.at, ATTENTION if show == "due" else IN_USE, shown.q)
    busy = tasks_in_progress(conn, [r["id"] for r in found.rows])
    if chosen is None:
        chosen = {r["id"] for r in found.rows if r["due_status"] in ATTENTION and r["item_code"] is not None}
    names = catalogue_names(conn)
    context = {
        "organisation": own_organisation(conn, actor),
        "candidates": found.rows,
        # the list's own address, also when a refused application is shown again
        "pages": found.links(
            request.url.replace(query=urlencode({"show": show, **({"q": shown.q} if shown.q else {})}))
        ),
        "busy": busy,
        "chosen": chosen - busy.keys(),
        "show": show,
        "q": shown.q,
        "at": shown.at,
        "due": due,
        "in_use": in_use,
        "form": form,
        "created": _created_tasks(conn, actor, created) if created else [],
        "error": error,
        "type_names": names.types,
        **vocabulary(),
    }
    return render(request, "owner/apply.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def apply_page(
    request: Request,
    actor: PageActor,
    conn: ConnDep,
    at: PageAt,
    show: Annotated[str, Query(max_length=8)] = "",
    q: Search = "",
    instrument: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    created: Annotated[str, Query(max_length=2000)] = "",
) -> HTMLResponse:
    """`?instrument=ID` lists the instruments in use from that one on, with just it ticked (from its
    page); `?created=1,2` shows the new tasks."""
    if instrument is not None:
        shown, chosen = Shown("all", "", Keyset(after=instrument - 1)), {instrument}
    else:
        shown, chosen = Shown(show, q, at), None
    made = _ids(created.split(",")) if created else None
    return _page(request, actor, conn, shown, chosen, {"kind": "verification"}, made)


def _shown(form: FormData) -> Shown:
    """The page the form was on: its list, its search and its place (posted back)."""
    at = Keyset.posted(str(form.get("after") or ""), str(form.get("before") or ""))
    return Shown(str(form.get("show") or "")[:8], str(form.get("q") or "")[:64], at)


@router.post("", response_class=HTMLResponse)
def do_apply(request: Request, actor: PageActor, platform: PlatformDep, conn: ConnDep, form: Posted) -> Response:
    ids = _ids([str(v) for v in form.getlist("instrument_id")])
    kind = str(form.get("kind") or "verification")
    note = str(form.get("note") or "").strip()
    statement = form.get("conformity_statement") == "yes"
    values = {"kind": kind, "note": note, "conformity_statement": "yes" if statement else ""}
    if len(note) > 2000:
        message = translate(request, N_("The note is too long (at most 2000 characters)."))
        return _page(request, actor, conn, _shown(form), set(ids), values, error=message, status=422)
    try:
        task_ids = workflow.apply(platform.uow(), actor, ids, kind, statement, note)
    except JiliangError as exc:
        message = bilingual(exc.message, language_of(request))
        return _page(request, actor, conn, _shown(form), set(ids), values, error=message, status=exc.status)
    flash = translate(request, N_("Application sent. Tasks created: %(n)s."), n=len(task_ids))
    shown = ",".join(map(str, task_ids[:MAX_CREATED_SHOWN]))
    return redirect(f"/owner/apply?created={shown}", flash=flash)
