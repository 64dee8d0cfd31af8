"""The institution's issued certificates with their status today (valid, superseded, revoked,
expired), and a certificate's page with the amend and revoke forms (certificates/service.py) and
the link to its public verification page (the QR code's target)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from ..auth import Actor
from ..certificates.listing import count_certificates, find_certificates
from ..certificates.printed import certificate_pdf
from ..certificates.queries import get_certificate, signature_valid
from ..certificates.routes import certificate_summary
from ..certificates.service import AMENDABLE, CONCLUSIONS, amend_certificate, revoke_certificate, verify_path
from ..certificates.tables import certificates
from ..errors import InvalidInput, JiliangError
from ..listing import PageAt, Search
from ..platform import shanghai_today
from .downloads import ExportFormat
from .i18n import N_
from .lab_reports import certificates_report, report_download
from .qr import qr_svg
from .render import redirect, render
from .reports import zh
from .routing import page_router
from .session import PageActor
from .work_common import (
    CERTIFICATE_STATUSES,
    KIND_LABELS,
    TEST_VERDICTS,
    PostedTexts,
    message,
    platform_of,
    reading,
    signing,
    translate,
)

__all__ = ["router"]

router = page_router("/work")

FIELD_LABELS = {
    "owner.name": N_("Owner name"),
    "owner.address": N_("Owner address"),
    "instrument.manufacturer": N_("Manufacturer"),
    "instrument.model": N_("Model"),
    "instrument.serial_no": N_("Serial number"),
    "instrument.name": N_("Instrument name"),
    "remarks": N_("Remarks"),
}


@router.get("/certificates", response_class=HTMLResponse)
def certificates_page(
    request: Request,
    actor: PageActor,
    at: PageAt,
    status: Annotated[str | None, Query(max_length=16)] = None,
    q: Search = "",
) -> Response:
    chosen = status if status in CERTIFICATE_STATUSES else None
    today = shanghai_today()
    with reading(request) as conn:
        counts = count_certificates(conn, actor, today)
        found = find_certificates(conn, actor, today, at, chosen, q)
    context = {
        "certificates": found.rows,
        "pages": found.links(request.url),
        "counts": counts,
        "total": sum(counts.values()),
        "status": chosen or "",
        "q": q,
        "statuses": CERTIFICATE_STATUSES,
        "kinds": KIND_LABELS,
        "conclusions": CONCLUSIONS,
    }
    return render(request, "work/certificates.html", context)


@router.get("/certificates/export.xlsx")
@router.get("/certificates/export.csv")
def certificates_export(
    request: Request,
    actor: PageActor,
    status: Annotated[str | None, Query(max_length=16)] = None,
    q: Search = "",
) -> Response:
    """Every certificate the page lists for its status and search (not only a page), as Excel or CSV:
    the institution's own, as on the page."""
    chosen = status if status in CERTIFICATE_STATUSES else None
    fmt: ExportFormat = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
    with reading(request) as conn:
        report = certificates_report(conn, actor, shanghai_today(), chosen, q)
        part = zh(CERTIFICATE_STATUSES[chosen]) if chosen else ""
        return report_download(report, fmt, part)


def _amendable(payload: dict[str, Any]) -> dict[str, str]:
    """The current text of each field an amendment may correct."""
    out = {}
    for path in AMENDABLE:
        section, _, key = path.rpartition(".")
        source = payload.get(section, {}) if section else payload
        out[path] = str(source.get(key) or "")
    return out


def _certificate_page(
    request: Request, actor: Actor, number: str, error: str | None = None, status_code: int = 200
) -> Response:
    with reading(request) as conn:
        cert = get_certificate(conn, actor, number)
        valid_signature = signature_valid(conn, cert)
        replaced_by = conn.execute(
            select(certificates.c.number).where(certificates.c.supersedes_id == cert.id)
        ).scalar()
    payload = json.loads(cert.payload)
    public_url = verify_path(cert.number, cert.public_token)
    absolute = platform_of(request).settings.public_url.rstrip("/") + public_url
    context = {
        "cert": certificate_summary(cert),
        "payload": payload,
        "signature_ok": valid_signature,
        "revocation_reason": cert.revocation_reason,
        "public_url": public_url,
        "qr": qr_svg(absolute, translate(request, N_("Scan to check this certificate"))),
        "replaced_by": replaced_by,
        "fields": _amendable(payload),
        "field_labels": FIELD_LABELS,
        "statuses": CERTIFICATE_STATUSES,
        "kinds": KIND_LABELS,
        "test_verdicts": TEST_VERDICTS,
        "can_amend": cert.status == "valid" and actor.has("approver"),
        "can_revoke": cert.status == "valid" and actor.has("approver", "lab_manager"),
        "error": error,
    }
    return render(request, "work/certificate.html", context, status_code=status_code)


@router.get("/certificates/{number}", response_class=HTMLResponse)
def certificate_page(request: Request, number: str, actor: PageActor) -> Response:
    return _certificate_page(request, actor, number)


@router.get("/certificates/{number}/pdf")
def certificate_print(request: Request, number: str, actor: PageActor) -> Response:
    """The printable certificate (certificates/pdf.py)."""
    with reading(request) as conn:
        pdf = certificate_pdf(conn, platform_of(request), get_certificate(conn, actor, number))
    disposition = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", number)}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.post("/certificates/{number}/amend", response_class=HTMLResponse)
def amend(request: Request, number: str, actor: PageActor, texts: PostedTexts) -> Response:
    """Only the fields the approver changed are sent as corrections; the new certificate supersedes this one."""
    try:
        with reading(request) as conn:
            current = _amendable(json.loads(get_certificate(conn, actor, number).payload))
        corrections = {p: texts[p] for p in current if texts.get(p) and texts[p] != current[p]}
        if not corrections:
            raise InvalidInput("没有改动任何字段 / no field was changed")
        confirmation = signing(request, actor, texts.get("password", ""))
        new = amend_certificate(platform_of(request).uow(), confirmation, number, corrections, texts.get("reason", ""))
    except JiliangError as exc:
        return _certificate_page(request, actor, number, message(request, exc), exc.status)
    done = translate(request, N_("Amended: certificate %(new)s replaces %(number)s."))
    return redirect(f"/work/certificates/{new}", flash=done % {"new": new, "number": number})


@router.post("/certificates/{number}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    number: str,
    actor: PageActor,
    password: Annotated[str, Form(max_length=256)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Revocation needs a reason and the password; the public page then shows the certificate revoked."""
    try:
        revoke_certificate(platform_of(request).uow(), signing(request, actor, password), number, reason.strip())
    except JiliangError as exc:
        return _certificate_page(request, actor, number, message(request, exc), exc.status)
    done = translate(request, N_("Certificate %(number)s revoked."))
    return redirect(f"/work/certificates/{number}", flash=done % {"number": number})
