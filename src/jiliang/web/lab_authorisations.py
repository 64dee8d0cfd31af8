"""The page of an institution's 授权项目 (/lab/institutions/{code}/authorisations): the catalogue items
it may verify, which decide where owners' applications go. Its lab manager reads their own
institution's; an administrator reads and sets any institution's (registry/authorisations.py, as over
the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..auth import Actor
from ..errors import JiliangError
from ..registry.authorisations import authorised_items, set_authorisations
from ..registry.directory import catalogue_names
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .work_common import message, platform_of, reading, translate

__all__ = ["router"]

router = page_router("/lab/institutions")


def _page(request: Request, actor: Actor, code: str, error: str | None = None, status: int = 200) -> Response:
    with reading(request) as conn:
        inst = authorised_items(conn, actor, code)
        items = catalogue_names(conn).items
    context = {"inst": inst, "items": items, "can_set": actor.has("admin"), "error": error}
    return render(request, "lab/authorisations.html", context, status_code=status)


@router.get("/{institution_code}/authorisations", response_class=HTMLResponse)
def authorisations_page(request: Request, institution_code: str, actor: PageActor) -> Response:
    return _page(request, actor, institution_code)


@router.post("/{institution_code}/authorisations", response_class=HTMLResponse)
def save_authorisations(
    request: Request,
    institution_code: str,
    actor: PageActor,
    item_codes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        changed = set_authorisations(platform_of(request).uow(), actor, institution_code, item_codes or [])
    except JiliangError as exc:
        return _page(request, actor, institution_code, message(request, exc), exc.status)
    done = N_("Authorised items saved.") if changed else N_("Nothing changed.")
    return redirect(f"/lab/institutions/{institution_code}/authorisations", flash=translate(request, done))
