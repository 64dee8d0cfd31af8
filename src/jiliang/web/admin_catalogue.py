"""Pages under /admin/catalogue, an administrator's: the mandatory catalogue's instrument types a page
at a time by id, each under its item's name, searched by the type's or the item's name (either
language) or regulation; each type's verification period or service life with where that figure comes
from (its source, shown as cited), and the forms to correct a type or add one — a correction without a
source is refused, a new type needs its name in both languages (registry/catalogue_admin.py, as over
the API). After either, the list shows the page that starts with that type."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..errors import InvalidInput, JiliangError
from ..listing import PageAt, Search
from ..registry import catalogue_admin
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import CONFIDENCE_LABELS
from .work_common import message, platform_of, reading, translate

__all__ = ["router", "MODE_LABELS"]

router = page_router("/admin/catalogue")

MODE_LABELS = {
    "periodic": N_("Periodic verification"),
    "first_only_limited_use": N_("Initial verification only, used for a limited time, then replaced"),
    "first_only_scrap": N_("Initial verification only, scrapped when inaccurate"),
    "unknown": N_("Not known"),
}

Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=64)]
_FIELDS = ("period_months", "service_life_months", "mode", "regulation", "note", "source", "confidence")


def _fields(*values: str) -> dict[str, str]:
    """The correction form's fields by name, in _FIELDS' order."""
    return dict(zip(_FIELDS, values, strict=True))


def _labels() -> dict[str, Any]:
    return {"MODE_LABELS": MODE_LABELS, "CONFIDENCE_LABELS": CONFIDENCE_LABELS}


def _runs(types: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The page's types as runs of one item each, in the page's order: (item code, its types)."""
    runs: list[tuple[str, list[dict[str, Any]]]] = []
    for t in types:
        if runs and runs[-1][0] == t["item_code"]:
            runs[-1][1].append(t)
        else:
            runs.append((t["item_code"], [t]))
    return runs


def _shown(type_id: int) -> str:
    """The list's page that starts with this type."""
    return f"/admin/catalogue?after={type_id - 1}#type-{type_id}"


@router.get("", response_class=HTMLResponse)
def catalogue_page(request: Request, actor: PageActor, at: PageAt, q: Search = "") -> Response:
    """The catalogue's instrument types a page at a time by id, each under its item's name; on the first
    page, the items with no type recorded yet (to add one)."""
    with reading(request) as conn:
        page = catalogue_admin.catalogue_types_page(conn, actor, at, q)
        bare = catalogue_admin.items_without_types(conn, actor, q) if page.at_start else []
    context = {"runs": _runs(page.rows), "pages": page.links(request.url), "q": q, "bare": bare, **_labels()}
    return render(request, "admin/catalogue.html", context)


def _months(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        zh, _, en = what.partition(" / ")
        raise InvalidInput(f"{zh}须为月数 / the {en} is a number of months")
    return int(text)


def _correction(form: dict[str, str]) -> catalogue_admin.TypeCorrection:
    return catalogue_admin.TypeCorrection(
        source=form["source"].strip(),
        period_months=_months(form["period_months"], "检定周期 / verification period"),
        service_life_months=_months(form["service_life_months"], "使用期限 / service life"),
        mode=form["mode"] or None,
        regulation=form["regulation"].strip() or None,
        note=form["note"].strip() or None,
        confidence=form["confidence"] or "high",
    )


def _type_form(
    request: Request, template_context: dict[str, Any], error: str | None, typed: dict[str, str], status: int
) -> Response:
    context = {**template_context, "error": error, "typed": typed, **_labels()}
    return render(request, "admin/catalogue_type.html", context, status_code=status)


@router.get("/types/new", response_class=HTMLResponse)
def new_type_page(request: Request, actor: PageActor, item: Annotated[str, Query(max_length=32)] = "") -> Response:
    with reading(request) as conn:
        items = catalogue_admin.catalogue_for_review(conn, actor)
    return _type_form(request, {"items": items, "new": True}, None, {"item_code": item, "mode": "periodic"}, 200)


@router.post("/types", response_class=HTMLResponse)
def add_type(
    request: Request,
    actor: PageActor,
    item_code: Short = "",
    name_zh: Short = "",
    name_en: Annotated[str, Form(max_length=128)] = "",
    period_months: Short = "",
    service_life_months: Short = "",
    mode: Short = "",
    regulation: Short = "",
    note: Text = "",
    source: Text = "",
    confidence: Short = "",
) -> Response:
    form = _fields(period_months, service_life_months, mode, regulation, note, source, confidence)
    typed = {**form, "item_code": item_code, "name_zh": name_zh, "name_en": name_en}
    try:
        correction = _correction(form)
        tid = catalogue_admin.add_catalogue_type(
            platform_of(request).uow(), actor, item_code, name_zh, correction, name_en
        )
    except JiliangError as exc:
        with reading(request) as conn:
            items = catalogue_admin.catalogue_for_review(conn, actor)
        return _type_form(request, {"items": items, "new": True}, message(request, exc), typed, exc.status)
    return redirect(_shown(tid), flash=translate(request, N_("Instrument type added.")))


@router.get("/types/{type_id}", response_class=HTMLResponse)
def type_page(request: Request, actor: PageActor, type_id: int) -> Response:
    with reading(request) as conn:
        row = catalogue_admin.type_for_correction(conn, actor, type_id)
    typed = {k: "" if row[k] is None else str(row[k]) for k in _FIELDS}
    typed["source"] = ""  # a correction names its own source and how far it is trusted; the current
    typed["confidence"] = "high"  # ones are shown beside
    return _type_form(request, {"type": row, "new": False}, None, typed, 200)


@router.post("/types/{type_id}", response_class=HTMLResponse)
def correct_type(
    request: Request,
    actor: PageActor,
    type_id: int,
    period_months: Short = "",
    service_life_months: Short = "",
    mode: Short = "",
    regulation: Short = "",
    note: Text = "",
    source: Text = "",
    confidence: Short = "",
) -> Response:
    form = _fields(period_months, service_life_months, mode, regulation, note, source, confidence)
    try:
        version = catalogue_admin.correct_catalogue_type(platform_of(request).uow(), actor, type_id, _correction(form))
    except JiliangError as exc:
        with reading(request) as conn:
            row = catalogue_admin.type_for_correction(conn, actor, type_id)
        return _type_form(request, {"type": row, "new": False}, message(request, exc), form, exc.status)
    done = translate(request, N_("Correction saved (version %(version)s)."), version=version)
    return redirect(_shown(type_id), flash=done)
