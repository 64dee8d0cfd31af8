"""Page routers and how a page answers an error: a login redirect, or an error page in the
visitor's language (HTMX requests get just the message, swapped into the page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ..errors import JiliangError
from .i18n import N_, bilingual
from .render import language_of, render
from .session import LoginRequired, check_csrf

__all__ = ["page_router", "page_error", "is_page"]

_TITLES = {
    400: N_("The request could not be done"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    409: N_("Not possible now"),
    422: N_("Please correct the input"),
}


async def _mark_page(request: Request) -> None:
    request.state.page = True


def page_router(prefix: str = "", *only: Any) -> APIRouter:
    """A router for HTML pages: errors render as pages, every POST must carry the CSRF token; `only`
    are further dependencies every page of the router must pass (e.g. `owner_access.OWNER_PAGES`).
    Pages are not part of the OpenAPI document (the JSON API is)."""
    dependencies = [Depends(_mark_page), Depends(check_csrf), *only]
    return APIRouter(prefix=prefix, include_in_schema=False, dependencies=dependencies)


def is_page(request: Request) -> bool:
    return bool(getattr(request.state, "page", False))


def page_error(request: Request, exc: JiliangError) -> Response:
    if isinstance(exc, LoginRequired):
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    message = bilingual(exc.message, language_of(request))
    if request.headers.get("HX-Request"):
        return render(request, "partials/error.html", {"message": message}, status_code=exc.status)
    title = _TITLES.get(exc.status, _TITLES[400])
    return render(request, "error.html", {"message": message, "title_id": title}, status_code=exc.status)
