"""Pages under /lab, the lab manager's: staff with their qualifications (expired, or expiring within
90 days, flagged) and the form to grant one; measurement standards with their examination
certificate and calibration due dates (expired, or due within 60 days, flagged) and the forms to add
a standard and record a calibration (registry/staff.py, which keeps these to the lab manager's own
institution); a calibration imported from its DCC file is lab_dcc.py's. `/lab/owners` is registrations.py's."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..auth import Actor
from ..errors import Forbidden, InvalidInput, JiliangError
from ..listing import Keyset, PageAt, Search
from ..platform import shanghai_today
from ..registry import service as registry
from ..registry.directory import catalogue_names
from ..registry.staff_list import qualification_alerts, staff_page
from ..registry.standards_list import standard_dates, standards_page
from .downloads import ExportFormat
from .i18n import N_
from .lab_reports import report_download, staff_report, standards_report
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .work_common import form_date, message, platform_of, reading, translate

__all__ = ["router", "expiry", "standards_view"]

router = page_router("/lab")

QUALIFICATION_WARNING = timedelta(days=90)
STANDARD_WARNING = timedelta(days=60)
EXPIRY_LABELS = {
    "lapsed": N_("Expired"),
    "expiring": N_("Expires soon"),
    "valid": N_("Valid"),
    "missing": N_("No calibration"),
}


def expiry(until: date | None, today: date, warning: timedelta) -> str:
    """lapsed (before today), expiring (within the warning period), valid, or missing (no date)."""
    if until is None:
        return "missing"
    if until < today:
        return "lapsed"
    return "expiring" if until <= today + warning else "valid"


def _staff_page(
    request: Request,
    actor: Actor,
    at: Keyset,
    q: str = "",
    error: str | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """A page of the staff (registry.staff_list), searched by name or username; the grant form offers
    the people on it."""
    today = shanghai_today()
    with reading(request) as conn:
        staff = staff_page(conn, actor, at, q)
        flags = qualification_alerts(conn, actor, today, QUALIFICATION_WARNING)
        items = catalogue_names(conn).items
    for person in staff.rows:
        for qualification in person["qualifications"]:
            qualification["expiry"] = expiry(qualification["valid_until"], today, QUALIFICATION_WARNING)
    context = {
        "staff": staff.rows,
        "at": at,
        # from the list's own address (a refused grant is rendered at the form's), its search kept
        "pages": staff.links(request.url.replace(path="/lab/staff", query=urlencode({"q": q} if q else {}))),
        "q": q,
        "items": items,
        "flags": flags,
        "labels": EXPIRY_LABELS,
        "today": today.isoformat(),
        "error": error,
        "typed": typed or {},
        "can_manage": actor.has("lab_manager", "admin"),
    }
    return render(request, "lab/staff.html", context, status_code=status)


@router.get("/staff", response_class=HTMLResponse)
def staff_list(request: Request, actor: PageActor, at: PageAt, q: Search = "") -> Response:
    return _staff_page(request, actor, at, q)


@router.get("/staff/export.xlsx")
@router.get("/staff/export.csv")
def staff_export(request: Request, actor: PageActor, q: Search = "") -> Response:
    """Every person the staff page finds for its search (not only a page), with their qualifications,
    as Excel or CSV: the institution's own, as on the page."""
    fmt: ExportFormat = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
    with reading(request) as conn:
        report = staff_report(conn, actor, shanghai_today(), QUALIFICATION_WARNING, EXPIRY_LABELS, q)
        return report_download(report, fmt)


@router.post("/staff/qualifications", response_class=HTMLResponse)
def grant(
    request: Request,
    actor: PageActor,
    user_id: Annotated[str, Form(max_length=12)] = "",
    item_code: Annotated[str, Form(max_length=32)] = "",
    certificate_no: Annotated[str, Form(max_length=64)] = "",
    valid_from: Annotated[str, Form(max_length=10)] = "",
    valid_until: Annotated[str, Form(max_length=10)] = "",
    q: Annotated[str, Form(max_length=64)] = "",
    after: Annotated[str, Form(max_length=12)] = "",
    before: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """The form posts the page it was on (`q`, `after` or `before`): a refusal shows that page again,
    a grant returns to it."""
    typed = {"form": "qualification", "user_id": user_id, "item_code": item_code, "certificate_no": certificate_no}
    typed |= {"valid_from": valid_from, "valid_until": valid_until}
    at = Keyset.posted(after, before)
    try:
        if not user_id.isdigit() or not certificate_no.strip():
            raise InvalidInput("请选择人员并填写资格证书编号 / choose a person and give the certificate number")
        start = form_date(valid_from, "有效期起 / valid-from date")
        end = form_date(valid_until, "有效期至 / valid-until date")
        assert start is not None and end is not None
        uow = platform_of(request).uow()
        registry.grant_qualification(uow, actor, int(user_id), item_code, certificate_no.strip(), start, end)
    except JiliangError as exc:
        return _staff_page(request, actor, at, q, message(request, exc), typed, exc.status)
    back = urlencode(({"q": q} if q else {}) | at.query())
    flash = translate(request, N_("Qualification granted."))
    return redirect("/lab/staff" + (f"?{back}" if back else ""), flash=flash)


def standards_view(
    request: Request,
    actor: Actor,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
    *,
    at: Keyset | None = None,
    q: str = "",
) -> Response:
    """A page of the standards (registry.standards_list), searched by name or certificate number, and the
    warnings over all of them; `error` shown by the form `typed["form"]` names (re-filled from `typed`),
    on the page that starts with the standard it was about."""
    typed = typed or {}
    about = str(typed.get("standard_id") or "")
    today = shanghai_today()
    with reading(request) as conn:
        page = None
        if at is None and about.isdigit() and 0 < int(about) < 2**31:  # one of the actor's own, else page 1
            page = standards_page(conn, actor, Keyset(after=int(about) - 1), q)
            page = page if page.rows and page.rows[0]["id"] == int(about) else None
        page = page or standards_page(conn, actor, at or Keyset(), q)
        dates, items = standard_dates(conn, actor), catalogue_names(conn).items
    for s in page.rows:
        s["examination_expiry"] = expiry(s["examination_valid_until"], today, STANDARD_WARNING)
        s["calibration_expiry"] = expiry(s["calibration_due"], today, STANDARD_WARNING)
    flags = Counter(expiry(d, today, STANDARD_WARNING) for pair in dates for d in pair)
    context = {
        "standards": page.rows,
        "pages": page.links(request.url.replace(path="/lab/standards", query=urlencode({"q": q} if q else {}))),
        "q": q,
        "any": bool(dates),
        "items": items,
        "flags": flags,
        "labels": EXPIRY_LABELS,
        "today": today.isoformat(),
        "error": error,
        "typed": typed,
        "can_manage": actor.has("lab_manager", "admin"),
    }
    return render(request, "lab/standards.html", context, status_code=status)


@router.get("/standards", response_class=HTMLResponse)
def standards_list(request: Request, actor: PageActor, at: PageAt, q: Search = "") -> Response:
    return standards_view(request, actor, at=at, q=q)


@router.get("/standards/export.xlsx")
@router.get("/standards/export.csv")
def standards_export(request: Request, actor: PageActor, q: Search = "") -> Response:
    """Every standard the standards page finds for its search (not only a page) as Excel or CSV: the
    institution's own, as on the page."""
    fmt: ExportFormat = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
    with reading(request) as conn:
        report = standards_report(conn, actor, shanghai_today(), STANDARD_WARNING, EXPIRY_LABELS, q)
        return report_download(report, fmt)


@router.post("/standards", response_class=HTMLResponse)
def add_standard(
    request: Request,
    actor: PageActor,
    name: Annotated[str, Form(max_length=128)] = "",
    examination_certificate_no: Annotated[str, Form(max_length=64)] = "",
    examination_valid_until: Annotated[str, Form(max_length=10)] = "",
    item_codes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    typed: dict[str, Any] = {"form": "standard", "name": name, "examination_certificate_no": examination_certificate_no}
    typed |= {"examination_valid_until": examination_valid_until, "item_codes": item_codes or []}
    try:
        if actor.institution_id is None:
            raise Forbidden("计量标准属于检定机构 / standards belong to an institution")
        if not name.strip() or not examination_certificate_no.strip():
            raise InvalidInput("请填写标准名称和考核证书编号 / give the name and the examination certificate number")
        until = form_date(examination_valid_until, "考核证书有效期至 / examination certificate's expiry date")
        assert until is not None
        registry.add_standard(
            platform_of(request).uow(),
            actor,
            actor.institution_id,
            name.strip(),
            examination_certificate_no.strip(),
            until,
            sorted(set(item_codes or [])),
        )
    except JiliangError as exc:
        return standards_view(request, actor, message(request, exc), typed, exc.status)
    return redirect("/lab/standards", flash=translate(request, N_("Standard added.")))


@router.post("/standards/calibrations", response_class=HTMLResponse)
def add_calibration(
    request: Request,
    actor: PageActor,
    standard_id: Annotated[str, Form(max_length=12)] = "",
    calibrated_by: Annotated[str, Form(max_length=128)] = "",
    certificate_no: Annotated[str, Form(max_length=64)] = "",
    calibrated_on: Annotated[str, Form(max_length=10)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
    in_tolerance: Annotated[str, Form(max_length=8)] = "",
    expanded_uncertainty: Annotated[str, Form(max_length=32)] = "",
    coverage_factor: Annotated[str, Form(max_length=8)] = "",
    uncertainty_unit: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    typed = {"form": "calibration", "standard_id": standard_id, "calibrated_by": calibrated_by, "due": due}
    typed |= {"certificate_no": certificate_no, "calibrated_on": calibrated_on, "in_tolerance": in_tolerance}
    typed |= {"expanded_uncertainty": expanded_uncertainty, "coverage_factor": coverage_factor}
    typed |= {"uncertainty_unit": uncertainty_unit}
    try:
        if not standard_id.isdigit() or not calibrated_by.strip() or not certificate_no.strip():
            raise InvalidInput(
                "请选择计量标准并填写校准机构和证书编号 / "
                "choose the standard and give who calibrated it and the certificate number"
            )
        on = form_date(calibrated_on, "校准日期 / calibration date")
        until = form_date(due, "校准有效期至 / calibration due date")
        assert on is not None and until is not None
        registry.record_standard_calibration(
            platform_of(request).uow(),
            actor,
            int(standard_id),
            calibrated_by.strip(),
            certificate_no.strip(),
            on,
            until,
            in_tolerance == "yes",
            expanded_uncertainty or None,
            coverage_factor or None,
            uncertainty_unit or None,
        )
    except JiliangError as exc:
        return standards_view(request, actor, message(request, exc), typed, exc.status)
    return redirect("/lab/standards", flash=translate(request, N_("Calibration recorded.")))
