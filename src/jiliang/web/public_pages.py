"""The public pages, no login, phone first: a certificate looked up by its number (the status only),
the page a certificate's QR code leads to (checked in the visitor's browser, and showing that QR
code again, so a printed page or a screen can be scanned by the next person) and the page an
instrument label's QR code leads to (is this instrument verified and in date?)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from ..certificates.queries import current_certificate_number, public_status
from ..db import single_read
from ..deps import rate_limited
from ..errors import NotFound
from ..platform import Platform, shanghai_today
from ..registry.directory import english_names as directory_names
from ..registry.label import label_facts, label_status
from .i18n import N_, language_of
from .qr import qr_svg
from .render import render
from .routing import page_router
from .vocabulary import english_names, translate

__all__ = ["router", "CERTIFICATE_STATUS", "LABEL_STATUS"]

# Pages (an error renders as a page in the visitor's language), rate-limited like every public route.
router = APIRouter(
    prefix="/public", include_in_schema=False, dependencies=[*page_router().dependencies, Depends(rate_limited)]
)

TokenQuery = Annotated[str | None, Query(max_length=64)]

# A certificate number as numbering.format_number writes it: institution code, year, sequence.
_NUMBER = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_MAX_NUMBER = 40
_INSTRUMENT_ID = re.compile(r"[1-9][0-9]{0,9}")
_MAX_ID = 2**31 - 1  # an INTEGER column

# status (certificates.queries.public_status) → (verdict box colour, title, what to do)
CERTIFICATE_STATUS = {
    "valid": ("valid", N_("This certificate is valid"), N_("It was issued on this platform and is in force.")),
    "revoked": ("revoked", N_("This certificate has been revoked"), N_("Do not rely on it.")),
    "superseded": (
        "superseded",
        N_("This certificate has been superseded"),
        N_("It was replaced by an amended certificate: ask the owner for the amended one."),
    ),
    "expired": ("expired", N_("This certificate has expired"), N_("The instrument is due for verification again.")),
    "unknown": (
        "not-found",
        N_("No certificate with this number"),
        N_("This platform has no certificate with this number. Check it, or ask the institution named on it."),
    ),
}
STATUS_NAMES = {
    "valid": N_("Valid"),
    "revoked": N_("Revoked"),
    "superseded": N_("Superseded"),
    "expired": N_("Expired"),
    "unknown": N_("Unknown"),
}

# status (registry.label.instrument_status) → (mark, verdict title)
LABEL_STATUS = {
    "in_date": ("✓", N_("Verified and in date")),
    "due_soon": ("✓", N_("Verified, due for verification soon")),
    "overdue": ("✗", N_("Verification overdue")),
    "barred": ("✗", N_("Failed verification: not to be used")),
    "scrapped": ("✗", N_("Scrapped: not to be used")),
    "never_verified": ("✗", N_("Never verified")),
    "unknown": ("?", N_("Verification period unknown")),
}
LABEL_STATUS_NAMES = {
    "in_date": N_("In date"),
    "due_soon": N_("Due soon"),
    "overdue": N_("Overdue"),
    "barred": N_("Barred from use"),
    "scrapped": N_("Scrapped"),
    "never_verified": N_("Never verified"),
    "unknown": N_("Period unknown"),
}


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


@lru_cache(maxsize=1024)
def _qr(url: str, title: str) -> Markup:
    """The QR code of a page's own address, so a printed page or a screen can be scanned again. A
    fixed mask (≈3 ms, not ≈9) and kept: a certificate's page is opened again and again."""
    return qr_svg(url, title, mask=0)


@router.get("/verify", response_class=HTMLResponse)
async def verify_form(request: Request, number: Annotated[str | None, Query(max_length=256)] = None) -> Response:
    """The form: a certificate number → its status page."""
    if number is None:
        return render(request, "public/verify_form.html", {})
    wanted = "".join(number.split()).upper()  # typed on a phone: stray spaces, lower case
    if len(wanted) > _MAX_NUMBER or not _NUMBER.fullmatch(wanted):
        error = N_("A certificate number has letters, digits and hyphens, like D310104-2026-000123.")
        return render(request, "public/verify_form.html", {"typed": number, "error": error}, status_code=422)
    return RedirectResponse(f"/public/verify/{quote(wanted, safe='')}", status_code=303)


@router.get("/verify/{number}", response_class=HTMLResponse)
async def certificate_page(
    request: Request, number: Annotated[str, PathParam(max_length=_MAX_NUMBER)], token: TokenQuery = None
) -> Response:
    """Number alone: the status, rendered here. Number + the QR code's token: a page that holds no
    certificate data; the browser fetches the signed bytes and the ledger proof and checks them
    itself (static/verify-certificate.js). One indexed read either way (as the JSON QR checks); an English
    page also lists the English names of catalogue types and institutions, which the signed bytes state
    in Chinese, for the script to name them by."""
    english = token and language_of(request) == "en"
    with single_read(_platform(request).engine) as conn:
        status = public_status(conn, number, shanghai_today())["status"]
        names = english_names(*directory_names(conn)) if english else None
    if not token:
        result, title, detail = CERTIFICATE_STATUS[status]
        context: dict[str, Any] = {
            "number": number,
            "status": status,
            "status_names": STATUS_NAMES,
            "result": result,
            "title_id": title,
            "detail_id": detail,
        }
        return render(request, "public/status.html", context, status_code=404 if status == "unknown" else 200)
    path = quote(number, safe="")
    here = f"{_platform(request).settings.public_url.rstrip('/')}/public/verify/{path}?{urlencode({'token': token})}"
    context = {
        "qr": None if status == "unknown" else _qr(here, translate(request, N_("Scan to check this certificate"))),
        "number": number,
        "status": status,  # shown only without JavaScript; the browser proves the status itself
        "status_names": STATUS_NAMES,
        "proof_url": f"/public/certificates/{path}/proof?{urlencode({'token': token})}",
        "status_url": f"/public/certificates/{path}",
        "keys_url": "/public/keys",
        "english_names": names,
    }
    return render(request, "certificate.html", context)


@router.get("/label/{instrument_id}", response_class=HTMLResponse)
async def label_page(
    request: Request, instrument_id: Annotated[str, PathParam(max_length=16)], token: TokenQuery = None
) -> Response:
    """An instrument label's QR code: is it verified, until when, barred, scrapped? As the JSON answer at
    /public/instruments/{id}: with the label's token, the instrument's facts and a link to its current
    certificate's public check; without a token, the status only, nothing that names the instrument or
    its owner; with a wrong token, only that the label is not recognised (404)."""
    facts, status, certificate, today = None, None, None, shanghai_today()
    if _INSTRUMENT_ID.fullmatch(instrument_id) and int(instrument_id) <= _MAX_ID:
        iid = int(instrument_id)
        with single_read(_platform(request).engine) as conn:
            if not token:
                status = label_status(conn, iid, today)["status"]
            else:
                try:
                    facts = label_facts(conn, iid, token, today)
                except NotFound:
                    facts = None
                else:
                    status, certificate = facts["status"], current_certificate_number(conn, iid)
    if status is None:
        return render(request, "public/label.html", {"facts": None, "status": None}, status_code=404)
    mark, title = LABEL_STATUS[status]
    context = {
        "facts": facts,
        "status": status,
        "certificate": certificate,
        "mark": mark,
        "title_id": title,
        "status_names": LABEL_STATUS_NAMES,
        "today": today,
    }
    return render(request, "public/label.html", context)
