"""The public pages, no login: the certificate a QR code leads to, checked in the visitor's browser."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from ..deps import rate_limited
from .render import render

__all__ = ["router"]

router = APIRouter(prefix="/public", tags=["web 网页"], dependencies=[Depends(rate_limited)])


@router.get(
    "/verify/{number}",
    response_class=HTMLResponse,
    summary="在浏览器中核验证书（网页）/ check a certificate in the browser (web page)",
)
async def certificate_page(
    request: Request,
    number: Annotated[str, PathParam(max_length=40)],
    token: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The page a certificate's QR code leads to. It holds no certificate data: the browser fetches
    the signed bytes and the ledger proof and checks them itself (static/verify-certificate.js)."""
    path = quote(number, safe="")
    query = f"?{urlencode({'token': token})}" if token else ""
    context = {
        "number": number,
        "has_token": bool(token),
        "proof_url": f"/public/certificates/{path}/proof{query}" if token else "",
        "status_url": f"/public/certificates/{path}",
        "keys_url": "/public/keys",
    }
    return render(request, "certificate.html", context)
