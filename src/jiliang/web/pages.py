"""Page routes and the static-asset mount. A page is a Jinja2 template from `templates/`; its
scripts and styles come from `static/` (no CDN: the platform runs without internet access)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..deps import rate_limited

__all__ = ["router", "static_files", "templates", "PAGE_HEADERS"]

HERE = Path(__file__).parent

templates = Jinja2Templates(directory=HERE / "templates")


def static_url(path: str) -> str:
    """The URL of a file in `static/`, with the version so a release never serves a stale cache."""
    return f"/static/{path}?v={__version__}"


templates.env.globals["static_url"] = static_url

# Only this site's own scripts may run and only this site may be fetched: what the page checks
# cannot be altered by injected markup. No referrer: the page's URL carries the QR code's token.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

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
    return templates.TemplateResponse(request, "certificate.html", context, headers=PAGE_HEADERS)


def static_files() -> StaticFiles:
    """Mounted at /static by the app factory."""
    return StaticFiles(directory=HERE / "static")
