"""Pages under /lab/institutions: what an institution's printed certificates carry besides the signed
payload — its 计量授权证书 number and its 检定专用章 (registry/institution_settings.py). A lab manager
goes straight to their own institution; an administrator picks one from the list of all, or adds a
new one (registry/institution_create.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ..auth import Actor
from ..errors import JiliangError
from ..listing import PageAt, Search
from ..registry import institution_settings as settings
from ..registry.institution_create import CODE_MAX, NAME_MAX, create_institution, district_choices
from ..registry.seal_image import KEPT_SIDE, MAX_BYTES, MAX_SIDE, MIN_SIDE
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .work_common import message, platform_of, reading, translate

__all__ = ["router"]

router = page_router("/lab/institutions")


@router.get("", response_class=HTMLResponse)
def institutions_page(request: Request, actor: PageActor, at: PageAt, q: Search = "") -> Response:
    """An administrator's list of institutions, a page at a time, searched by name or code."""
    with reading(request) as conn:
        found = settings.institution_overview(conn, actor, at, q)
    if not actor.has("admin") and len(found.rows) == 1:
        return redirect(f"/lab/institutions/{found.rows[0]['code']}")
    context = {"institutions": found.rows, "pages": found.links(request.url), "q": q, "can_add": actor.has("admin")}
    return render(request, "lab/institutions.html", context)


def _new_form(
    request: Request, actor: Actor, typed: dict[str, Any], error: str | None = None, status: int = 200
) -> Response:
    with reading(request) as conn:
        districts = district_choices(conn, actor)
    context = {"districts": districts, "typed": typed, "error": error, "limits": {"code": CODE_MAX, "name": NAME_MAX}}
    return render(request, "lab/institution_new.html", context, status_code=status)


@router.get("/new", response_class=HTMLResponse)
def new_institution_page(request: Request, actor: PageActor) -> Response:
    """An administrator's form for a new institution."""
    return _new_form(request, actor, {"district_code": "", "cross_district": False})


@router.post("", response_class=HTMLResponse)
def add_institution(
    request: Request,
    actor: PageActor,
    code: Annotated[str, Form(max_length=64)] = "",
    name_zh: Annotated[str, Form(max_length=512)] = "",
    name_en: Annotated[str, Form(max_length=512)] = "",
    district_code: Annotated[str, Form(max_length=16)] = "",
    cross_district: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    typed = {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "district_code": district_code,
        "cross_district": bool(cross_district),
    }
    try:
        made = create_institution(
            platform_of(request).uow(), actor, code, name_zh, name_en, district_code or None, bool(cross_district)
        )
    except JiliangError as exc:
        return _new_form(request, actor, typed, message(request, exc), exc.status)
    done = translate(request, N_("Institution added. Set the items it is authorised for."))
    return redirect(f"/lab/institutions/{made.code}", flash=done)


def _page(
    request: Request,
    actor: Actor,
    code: str,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with reading(request) as conn:
        inst = settings.institution_settings(conn, actor, code)
    context: dict[str, Any] = {
        "inst": inst,
        "errors": errors or {},
        "typed": typed or {},
        "limits": {"kb": MAX_BYTES // 1024, "min": MIN_SIDE, "max": MAX_SIDE, "kept": KEPT_SIDE},
        "many": actor.has("admin"),  # an administrator came from the list of institutions
    }
    return render(request, "lab/institution.html", context, status_code=status)


@router.get("/{institution_code}", response_class=HTMLResponse)
def institution_page(request: Request, institution_code: str, actor: PageActor) -> Response:
    return _page(request, actor, institution_code)


@router.post("/{institution_code}/authorisation-number", response_class=HTMLResponse)
def save_authorisation_no(
    request: Request,
    institution_code: str,
    actor: PageActor,
    authorisation_no: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        kept = settings.set_authorisation_no(platform_of(request).uow(), actor, institution_code, authorisation_no)
    except JiliangError as exc:
        errors = {"authorisation_no": message(request, exc)}
        return _page(request, actor, institution_code, errors, {"authorisation_no": authorisation_no}, exc.status)
    done = N_("Authorisation number saved.") if kept else N_("Authorisation number cleared.")
    return redirect(f"/lab/institutions/{institution_code}", flash=translate(request, done))


@router.post("/{institution_code}/seal", response_class=HTMLResponse)
def upload_seal(
    request: Request, institution_code: str, actor: PageActor, seal: Annotated[UploadFile | None, File()] = None
) -> Response:
    data = seal.file.read() if seal is not None else b""  # bounded by the request guard
    try:
        settings.upload_seal(platform_of(request).uow(), actor, institution_code, data)
    except JiliangError as exc:
        return _page(request, actor, institution_code, {"seal": message(request, exc)}, status=exc.status)
    return redirect(f"/lab/institutions/{institution_code}", flash=translate(request, N_("Seal uploaded.")))


@router.post("/{institution_code}/seal/remove", response_class=HTMLResponse)
def remove_seal(request: Request, institution_code: str, actor: PageActor) -> Response:
    try:
        settings.remove_seal(platform_of(request).uow(), actor, institution_code)
    except JiliangError as exc:
        return _page(request, actor, institution_code, {"seal": message(request, exc)}, status=exc.status)
    return redirect(f"/lab/institutions/{institution_code}", flash=translate(request, N_("Seal removed.")))


@router.get("/{institution_code}/seal.png")
def seal_image(request: Request, institution_code: str, actor: PageActor) -> Response:
    """The seal as kept, for the page's preview (never cached: a replaced seal shows at once)."""
    with reading(request) as conn:
        png = settings.seal_png(conn, actor, institution_code)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
