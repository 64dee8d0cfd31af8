"""Owner registrations awaiting approval at /lab/owners: a district bureau, an institution's lab
manager or an administrator approves or rejects them (registry.service.decide_owner_registration,
which enforces the jurisdiction; registry.queries.pending_owners lists only those the actor may decide)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import ConnDep, PlatformDep
from ..errors import InvalidInput
from ..registry import queries, service
from ..registry.directory import list_districts
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import translate

__all__ = ["router"]

router = page_router("/lab/owners")

DECISIONS = {"approve": True, "reject": False}


@router.get("", response_class=HTMLResponse)
def pending_registrations(request: Request, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    context = {
        "owners": queries.pending_owners(conn, actor),
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
    name = next((o["name"] for o in queries.pending_owners(conn, actor) if o["id"] == owner_id), str(owner_id))
    service.decide_owner_registration(platform.uow(), actor, owner_id, DECISIONS[decision])
    if DECISIONS[decision]:
        flash = translate(request, N_("%(name)s is approved."), name=name)
    else:
        flash = translate(request, N_("The registration of %(name)s is rejected."), name=name)
    return redirect("/lab/owners", flash=flash)
