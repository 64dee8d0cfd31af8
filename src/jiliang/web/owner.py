"""The owner's instruments at /owner/instruments: the list a page at a time, with status counts, a
status filter and a search, and one instrument's page with its history and the transfer, relocate and
scrap forms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from ..auth import Actor
from ..deps import ConnDep, PlatformDep
from ..errors import JiliangError, NotFound
from ..listing import PageAt, Search
from ..platform import Platform, shanghai_today
from ..registry import queries, service
from ..registry.directory import catalogue_names, list_districts, own_organisation
from ..registry.label import label_path
from .i18n import N_, bilingual
from .owner_access import OWNER_PAGES
from .qr import qr_svg
from .render import language_of, redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import INSTRUMENT_STATUSES, translate, vocabulary

__all__ = ["router"]

router = page_router("/owner", OWNER_PAGES)


def _names(conn: Connection) -> dict[str, Any]:
    names = catalogue_names(conn)
    return {
        "type_names": names.types,
        "district_names": {d.code: d for d in list_districts(conn)},
    }


@router.get("/instruments", response_class=HTMLResponse)
def instrument_list(
    request: Request,
    actor: PageActor,
    conn: ConnDep,
    at: PageAt,
    status: Annotated[str, Query(max_length=20)] = "",
    q: Search = "",
) -> HTMLResponse:
    """A page of the owner's instruments in the order they were registered, of one status if chosen,
    searched by name, serial number, maker, model, catalogue item or type; the counts by status are
    of those the search finds (one grouped query, not the whole list)."""
    today = shanghai_today()
    counts = queries.instrument_status_counts(conn, actor, today, q)
    chosen = status if status in INSTRUMENT_STATUSES else ""
    shown = queries.instrument_list_page(conn, actor, today, at, (chosen,) if chosen else (), q)
    context = {
        "organisation": own_organisation(conn, actor),
        "instruments": shown.rows,
        "pages": shown.links(request.url),
        "q": q,
        "total": sum(counts.values()),
        "counts": {s: counts.get(s, 0) for s in INSTRUMENT_STATUSES},
        "statuses": INSTRUMENT_STATUSES,
        "status": chosen,
        **_names(conn),
        **vocabulary(),
    }
    fragment = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "owner/_instrument_list.html" if fragment else "owner/instruments.html"
    return render(request, template, context)


def _detail(
    request: Request,
    actor: Actor,
    conn: Connection,
    instrument_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The instrument's page; after a refused change, with the message beside that form."""
    detail = queries.instrument_detail(conn, actor, instrument_id, shanghai_today())
    context = {
        "inst": detail,
        "mine": detail["owner_id"] == actor.owner_id,
        "districts": list_districts(conn),
        "errors": errors or {},
        "values": values or {},
        **_names(conn),
        **vocabulary(),
    }
    return render(request, "owner/instrument.html", context, status_code=status)


@router.get("/instruments/{instrument_id:int}", response_class=HTMLResponse)
def instrument_page(request: Request, instrument_id: int, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    return _detail(request, actor, conn, instrument_id)


@router.get("/instruments/{instrument_id:int}/label", response_class=HTMLResponse)
def label_page(request: Request, instrument_id: int, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    """The instrument's label to print (a label printer's page, 60 × 40 mm): its name, serial number
    and owner, and the QR code of its public label page. Only its owner holds the label token."""
    detail = queries.instrument_detail(conn, actor, instrument_id, shanghai_today())
    if not detail.get("label_token"):
        raise NotFound("没有可打印的标签 / no label to print for this instrument")
    platform: Platform = request.app.state.platform
    url = platform.settings.public_url.rstrip("/") + label_path(instrument_id, detail["label_token"])
    context = {"inst": detail, "qr": qr_svg(url, translate(request, N_("Scan to check its verification")))}
    return render(request, "owner/label.html", context)


def _failed(
    request: Request, actor: Actor, conn: Connection, instrument_id: int, form: str, exc: JiliangError, **values: str
) -> Response:
    errors = {form: bilingual(exc.message, language_of(request))}
    return _detail(request, actor, conn, instrument_id, errors, values, exc.status)


@router.post("/instruments/{instrument_id:int}/transfer", response_class=HTMLResponse)
def transfer(
    request: Request,
    instrument_id: int,
    actor: PageActor,
    platform: PlatformDep,
    conn: ConnDep,
    new_owner_credit_code: Annotated[str, Form(max_length=64)],
) -> Response:
    try:
        service.transfer_instrument(platform.uow(), actor, instrument_id, new_owner_credit_code)
    except JiliangError as exc:
        return _failed(
            request, actor, conn, instrument_id, "transfer", exc, new_owner_credit_code=new_owner_credit_code
        )
    flash = translate(request, N_("Instrument %(id)s was transferred to the new owner."), id=instrument_id)
    return redirect("/owner/instruments", flash=flash)


@router.post("/instruments/{instrument_id:int}/relocate", response_class=HTMLResponse)
def relocate(
    request: Request,
    instrument_id: int,
    actor: PageActor,
    platform: PlatformDep,
    conn: ConnDep,
    district_code: Annotated[str, Form(max_length=6)],
    location: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    try:
        service.relocate_instrument(platform.uow(), actor, instrument_id, district_code, location.strip())
    except JiliangError as exc:
        return _failed(
            request, actor, conn, instrument_id, "relocate", exc, district_code=district_code, location=location
        )
    return redirect(f"/owner/instruments/{instrument_id}", flash=translate(request, N_("The new location is saved.")))


@router.post("/instruments/{instrument_id:int}/scrap", response_class=HTMLResponse)
def scrap(
    request: Request,
    instrument_id: int,
    actor: PageActor,
    platform: PlatformDep,
    conn: ConnDep,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if confirm != "yes":
        message = translate(request, N_("Tick the box to confirm that the instrument is scrapped."))
        return _detail(request, actor, conn, instrument_id, {"scrap": message}, status=422)
    try:
        service.scrap_instrument(platform.uow(), actor, instrument_id)
    except JiliangError as exc:
        return _failed(request, actor, conn, instrument_id, "scrap", exc)
    return redirect(f"/owner/instruments/{instrument_id}", flash=translate(request, N_("The instrument is scrapped.")))
