"""Pages under /supervision, the regulator's dashboard: coverage of mandatory verification by district ×
catalogue item, the not-covered instruments behind each figure (down to one instrument's history), and
the certificates issued per institution per month.

The figures, and the jurisdiction they are cut to, come from jiliang.supervision; the instrument from
registry.queries.instrument_detail. This module reads the request and renders the answer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from ..auth import Actor
from ..deps import ConnDep
from ..errors import InvalidInput
from ..listing import RowKeyset, Search
from ..platform import shanghai_today
from ..registry.access import supervised_jurisdiction
from ..registry.directory import District, catalogue_names, list_districts, organisation
from ..registry.queries import instrument_detail
from ..supervision import certificates_per_month, coverage
from ..supervision.overdue import CURSOR_KINDS
from ..supervision.overdue import overdue_page as overdue_list
from .downloads import ExportFormat, download, filename
from .i18n import translations
from .render import language_of, render
from .reports import Report, certificates_report, coverage_report, overdue_report
from .routing import page_router
from .session import PageActor
from .supervision_views import (
    LEGEND,
    UNCOVERED_LABELS,
    chart_data,
    coverage_grid,
    district_name,
    month_heading,
    month_label,
    overdue_href,
)
from .vocabulary import EVENT_LABELS, KIND_LABELS, STAGE_LABELS, STATUS_LABELS, Names

__all__ = ["router", "PAGE_SIZE", "MONTHS"]

router = page_router("/supervision")

PAGE_SIZE = 50  # rows of the overdue list per page
MONTHS = 12  # months of the certificate chart, today's included
_DISTRICT = re.compile(r"\d{6}")
_ITEM = re.compile(r"[a-z0-9_]{1,32}")


def _vocabulary(lang: str) -> dict[str, Any]:
    return {
        "UNCOVERED_LABELS": UNCOVERED_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "STAGE_LABELS": STAGE_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "district_name": lambda d: district_name(d, lang),
        "overdue_href": overdue_href,
    }


@router.get("/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    lang = language_of(request)
    table = coverage(conn, actor, shanghai_today())
    context = {
        "table": table,
        "grid": coverage_grid(table),
        "legend": LEGEND,
        "district_names": {d.code: d for d in table.districts},
        **_vocabulary(lang),
    }
    return render(request, "supervision/coverage.html", context)


def _filters(district: str, item: str) -> tuple[str | None, str | None]:
    """The overdue list's filters as typed into the URL; a malformed one is refused, not ignored."""
    district, item = district.strip(), item.strip()
    if district and not _DISTRICT.fullmatch(district):
        raise InvalidInput(f"区代码应为 6 位数字：{district[:20]} / a district code has 6 digits: {district[:20]}")
    if item and not _ITEM.fullmatch(item):
        raise InvalidInput(f"目录项目代码无效：{item[:40]} / not a catalogue item code: {item[:40]}")
    return district or None, item or None


Place = Annotated[str, Query(max_length=120)]


@router.get("/overdue", response_class=HTMLResponse)
def overdue_page(
    request: Request,
    actor: PageActor,
    conn: ConnDep,
    district: str = "",
    item: str = "",
    after: Place = "",
    before: Place = "",
    q: Search = "",
) -> HTMLResponse:
    """The not-covered instruments, most overdue first, a page at a time by key — the last row's place
    in that order (past due or not, due date, registration, id), so a page stays put when an instrument
    falls overdue or is verified meanwhile; a malformed place is refused — filtered by district and item
    and searched by instrument, serial number or owner."""
    chosen_district, chosen_item = _filters(district, item)
    at = RowKeyset.parse(after, before, CURSOR_KINDS, PAGE_SIZE)
    found = overdue_list(conn, actor, shanghai_today(), at, district=chosen_district, item=chosen_item, search=q)
    names = catalogue_names(conn)
    query = {"district": chosen_district or "", "item": chosen_item or "", "q": q}
    here = request.url.replace(query=urlencode({k: v for k, v in query.items() if v}))
    context = {
        "rows": found.page.rows,
        "pages": found.page.links(here),
        "first_row": found.first,
        "total": found.total,
        "district": chosen_district or "",
        "item": chosen_item or "",
        "q": q,
        "districts": _jurisdiction_districts(conn, actor),
        "items": names.items,
        **_vocabulary(language_of(request)),
    }
    fragment = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    return render(request, "supervision/_overdue_results.html" if fragment else "supervision/overdue.html", context)


@router.get("/instruments/{instrument_id:int}", response_class=HTMLResponse)
def instrument_page(request: Request, instrument_id: int, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    """One instrument with its verifications, certificates and history. The supervision pages are for
    those with a jurisdiction; instrument_detail then answers an instrument outside it as one that does
    not exist (404)."""
    supervised_jurisdiction(conn, actor)
    detail = instrument_detail(conn, actor, instrument_id, shanghai_today())
    context = {
        "inst": detail,
        "owner": organisation(conn, detail["owner_id"]),
        "district_names": {d.code: d for d in list_districts(conn)},
        "type_names": catalogue_names(conn).types,
        **_vocabulary(language_of(request)),
    }
    return render(request, "supervision/instrument.html", context)


@router.get("/certificates", response_class=HTMLResponse)
def certificates_page(request: Request, actor: PageActor, conn: ConnDep) -> HTMLResponse:
    lang = language_of(request)
    series = certificates_per_month(conn, actor, shanghai_today(), months=MONTHS)
    context = {
        "months": MONTHS,
        "series": series,
        "month_labels": [month_label(m, lang) for m in series.months],
        "month_headings": [month_heading(m, lang) for m in series.months],
        "chart": chart_data(series, lang, translations(lang).gettext),
    }
    return render(request, "supervision/certificates.html", context)


def _jurisdiction_districts(conn: Connection, actor: Actor) -> list[District]:
    """The districts a regulator may filter by (Forbidden for anyone without a jurisdiction)."""
    scope = supervised_jurisdiction(conn, actor)
    return [d for d in list_districts(conn) if scope.reaches_district(d.code)]


def _download(report: Report, fmt: ExportFormat, *parts: str) -> Response:
    today = shanghai_today()
    return download(report.table(), fmt, filename(report.title, fmt, today, *parts), f"{report.name}-{today}.{fmt}")


def _format(request: Request) -> ExportFormat:
    """The format the address ends in: each export has one route per format, no path parameter."""
    return "xlsx" if request.url.path.endswith(".xlsx") else "csv"


@router.get("/coverage/export.xlsx")
@router.get("/coverage/export.csv")
def coverage_export(request: Request, actor: PageActor, conn: ConnDep) -> Response:
    """The coverage table as Excel or CSV: every district and item of the jurisdiction, with totals."""
    return _download(coverage_report(conn, actor, shanghai_today()), _format(request))


@router.get("/overdue/export.xlsx")
@router.get("/overdue/export.csv")
def overdue_export(
    request: Request, actor: PageActor, conn: ConnDep, district: str = "", item: str = "", q: Search = ""
) -> Response:
    """Every instrument the overdue list finds for these filters and search (not only a page), as Excel
    or CSV; a district outside the jurisdiction is refused as on the page."""
    chosen_district, chosen_item = _filters(district, item)
    report = overdue_report(conn, actor, shanghai_today(), district=chosen_district, item=chosen_item, search=q)
    named = Names("zh-CN")
    district_names = {d.code: d.name_zh for d in list_districts(conn)}
    parts = (district_names.get(chosen_district or "", ""), named.item(chosen_item) if chosen_item else "")
    return _download(report, _format(request), *parts)


@router.get("/certificates/export.xlsx")
@router.get("/certificates/export.csv")
def certificates_export(request: Request, actor: PageActor, conn: ConnDep) -> Response:
    """The certificates-per-month table (per institution, the page's months) as Excel or CSV."""
    return _download(certificates_report(conn, actor, shanghai_today(), months=MONTHS), _format(request))
