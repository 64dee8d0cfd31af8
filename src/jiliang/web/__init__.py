"""Web pages: Jinja2 templates rendered on the server, HTMX for partial updates, static assets served
from the package (no CDN: the platform runs without internet access). Pages call the same services
and queries as the JSON API, with the same roles, tenancy and jurisdiction rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from ..errors import JiliangError
from . import (
    account,
    account_security,
    admin_catalogue,
    admin_rules,
    admin_users,
    lab,
    lab_authorisations,
    lab_dcc,
    lab_institution,
    owner,
    owner_apply,
    owner_certificates,
    owner_register,
    owner_signup,
    public_pages,
    registrations,
    reminders,
    supervision,
    workbench,
)
from .routing import is_page, page_error
from .session import LoginRequired
from .timing import ServerTiming

__all__ = ["install", "page_response", "public_router"]

public_router = public_pages.router  # matched early: the QR pages are the busiest
_STATIC = Path(__file__).parent / "static"


class CachedStatics(StaticFiles):
    """Static files kept by the browser for a year: pages link them with a digest of their content
    (`render.static_url`), so a new version has a new URL."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _favicon() -> Response:
    """The site's icon where browsers look for it unasked (pages link static/favicon.svg)."""
    return FileResponse(
        _STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


def install(app: FastAPI) -> None:
    """Adds the pages, the static files and the pages' error handling to the app."""
    for module in (
        account,
        account_security,
        owner,
        owner_register,
        owner_apply,
        owner_certificates,
        owner_signup,
        registrations,
        workbench,
        lab,
        lab_dcc,
        lab_institution,
        lab_authorisations,
        supervision,
        admin_users,
        admin_catalogue,
        admin_rules,
    ):
        app.include_router(module.router)
    app.include_router(reminders.owner_router)
    app.include_router(reminders.supervision_router)
    app.mount("/static", CachedStatics(directory=_STATIC), name="static")
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    app.add_middleware(ServerTiming)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return page_error(request, exc)


def page_response(request: Request, exc: JiliangError) -> Response | None:
    """The app's error handler asks: if this request was for a page, the page's error answer."""
    return page_error(request, exc) if is_page(request) else None
