"""Logging in and out, the language switch, and the landing page of each role."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..auth import AccountLocked, authenticate
from ..deps import TooManyRequests, check_login_rate
from ..errors import Unauthenticated
from ..platform import Platform
from ..second_factor import SecondFactorRequired
from .i18n import LANGUAGES, bilingual
from .nav import home_for
from .render import LANG_COOKIE, language_of, redirect, render
from .routing import page_router
from .session import end_session, optional_actor, start_session

__all__ = ["router"]

router = page_router()


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: a login link must not send the user elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    # browsers read "/\\host" as "//host": no backslash at all
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _demo_logins(request: Request) -> list[object]:
    if not getattr(request.app.state, "demo", False):
        return []
    from ..demo import LOGINS

    return list(LOGINS)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    actor = optional_actor(request)
    return RedirectResponse(home_for(actor) if actor else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next) or "", "demo_logins": _demo_logins(request)})


@router.post("/login", response_class=HTMLResponse)
def do_login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=512)] = "",
    totp: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    platform: Platform = request.app.state.platform
    ttl = platform.settings.token_ttl_minutes
    try:
        check_login_rate(request)
        token, actor = authenticate(platform, username.strip(), password, ttl, totp.strip() or None)
    except (Unauthenticated, AccountLocked, TooManyRequests) as exc:
        context = {
            "next": _safe_next(next) or "",
            "username": username,
            "code_needed": isinstance(exc, SecondFactorRequired),
            "error": bilingual(exc.message, language_of(request)),
            "demo_logins": _demo_logins(request),
        }
        return render(request, "login.html", context, status_code=exc.status)
    response = redirect(_safe_next(next) or home_for(actor))
    start_session(request, response, token, platform.settings.token_ttl_minutes)
    return response


@router.post("/logout")
def do_logout(request: Request) -> Response:
    response = redirect("/login")
    end_session(request, response)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next) or "/", status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response
