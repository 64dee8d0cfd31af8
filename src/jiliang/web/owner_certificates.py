"""The owner's certificates at /owner/certificates, with their current status, and the download of
the signed electronic certificate (the same JSON as GET /api/certificates/{number}/document). The
printable PDF comes with the certificates work; until then the signed JSON is the certificate."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..certificates import queries, service
from ..certificates.routes import certificate_summary
from ..deps import ConnDep
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


@router.get("/{number}/document")
def certificate_file(number: Annotated[str, Path(max_length=40)], actor: PageActor, conn: ConnDep) -> Response:
    """The signed certificate as a file to keep: exactly what the API's document endpoint returns."""
    document = service.certificate_document(queries.get_certificate(conn, actor, number))
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", number) + ".json"
    return JSONResponse(
        jsonable_encoder(document),
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
    )
