"""Owner registrations awaiting approval at /lab/owners: a district bureau, an institution's lab
manager or an administrator approves or rejects them (registry.service.decide_owner_registration,
which enforces the jurisdiction; registry.queries.pending_owners lists only those the actor may decide)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import ConnDep, PlatformDep
from ..errors import InvalidInput
from ..listing import PageAt, Search
from ..registry import queries, service
from ..registry.directory import list_districts, organisation
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import translate

__all__ = ["router"]

router = page_router("/lab/owners")

DECISIONS = {"approve": True, "reject": False}


@router.get("", response_class=HTMLResponse)
def pending_registrations(
    request: Request, actor: PageActor, conn: ConnDep, at: PageAt, q: Search = ""
) -> HTMLResponse:
    """A page of the registrations awaiting the actor's decision, searched by name or credit code."""
    found = queries.pending_owners_page(conn, actor, at, q)
    context = {
        "owners": found.rows,
        "pages": found.links(request.url),
        "q": q,
        "district_names": {d.code: d for d in list_districts(conn)},
    }
    return render(request, "registrations/owners.html", context)


@router.post("/{owner_id:int}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    owner_id: int,
    actor: PageActor,
    platform: PlatformDep,
    conn: ConnDep,
    decision: Annotated[str, Form(max_length=8)],
) -> Response:
    if decision not in DECISIONS:
        raise InvalidInput("请选择批准或驳回 / choose approve or reject")
    service.decide_owner_registration(platform.uow(), actor, owner_id, DECISIONS[decision])
    decided = organisation(conn, owner_id)  # the service refused any the actor may not decide
    name = decided.name if decided is not None else str(owner_id)
    if DECISIONS[decision]:
        flash = translate(request, N_("%(name)s is approved."), name=name)
    else:
        flash = translate(request, N_("The registration of %(name)s is rejected."), name=name)
    return redirect("/lab/owners", flash=flash)
