"""The owner's certificates at /owner/certificates, with their current status, the printable PDF and
the signed electronic certificate to download (the same as GET /api/certificates/{number}/document
with format=pdf or json), and the link to each one's public check (where its QR code leads)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..certificates import queries, service
from ..certificates.printed import certificate_pdf
from ..certificates.routes import certificate_summary
from ..deps import ConnDep, PlatformDep
from ..registry.directory import own_organisation
from .render import render
from .routing import page_router
from .session import PageActor
from .vocabulary import vocabulary

__all__ = ["router"]

router = page_router("/owner/certificates")

PAGE_SIZE = 100


@router.get("", response_class=HTMLResponse)
def certificate_list(
    request: Request, actor: PageActor, conn: ConnDep, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> HTMLResponse:
    """Newest first (certificates.queries.list_certificates: an owner sees only its own)."""
    rows = queries.list_certificates(conn, actor, None, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    context = {
        "organisation": own_organisation(conn, actor),
        "certificates": [certificate_summary(c) for c in rows[:PAGE_SIZE]],
        "page": page,
        "more": len(rows) > PAGE_SIZE,
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
