"""The owner's certificates at /owner/certificates, a page at a time and searched, with their current
status, the printable PDF and the signed electronic certificate to download (the same as GET
/api/certificates/{number}/document with format=pdf or json), and the link to each one's public check
(where its QR code leads)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..certificates import queries, service
from ..certificates.listing import find_certificates
from ..certificates.printed import certificate_pdf
from ..certificates.service import CONCLUSIONS
from ..deps import ConnDep, PlatformDep
from ..listing import PageAt, Search
from ..platform import shanghai_today
from ..registry.directory import own_organisation
from .owner_access import OWNER_PAGES
from .render import render
from .routing import page_router
from .session import PageActor
from .vocabulary import vocabulary

__all__ = ["router"]

router = page_router("/owner/certificates", OWNER_PAGES)


@router.get("", response_class=HTMLResponse)
def certificate_list(request: Request, actor: PageActor, conn: ConnDep, at: PageAt, q: Search = "") -> HTMLResponse:
    """Newest first, a page at a time, searched by number, instrument or serial number
    (certificates.listing.find_certificates: an owner sees only its own)."""
    found = find_certificates(conn, actor, shanghai_today(), at, search=q)
    context = {
        "organisation": own_organisation(conn, actor),
        "certificates": found.rows,
        "pages": found.links(request.url),
        "q": q,
        "conclusions": CONCLUSIONS,
        **vocabulary(),
    }
    return render(request, "owner/certificates.html", context)


def _attachment(number: str, suffix: str) -> dict[str, str]:
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", number) + suffix
    return {"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"}


@router.get("/{number}/document")
def certificate_file(number: Annotated[str, Path(max_length=40)], actor: PageActor, conn: ConnDep) -> Response:
    """The signed certificate as a file to keep: exactly what the API's document endpoint returns."""
    document = service.certificate_document(queries.get_certificate(conn, actor, number))
    return JSONResponse(jsonable_encoder(document), headers=_attachment(number, ".json"))


@router.get("/{number}/pdf")
def certificate_print(
    number: Annotated[str, Path(max_length=40)], actor: PageActor, conn: ConnDep, platform: PlatformDep
) -> Response:
    """The printable certificate (certificates/pdf.py)."""
    pdf = certificate_pdf(conn, platform, queries.get_certificate(conn, actor, number))
    return Response(pdf, media_type="application/pdf", headers=_attachment(number, ".pdf"))
