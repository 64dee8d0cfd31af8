"""Page sessions: the login token in an HttpOnly cookie, and CSRF protection for every form.

The session token is the same kind of token the API hands out (`auth.authenticate`, only its SHA-256
is stored, sealed), so the pages and the API share one notion of who is acting and logging out revokes it.
A page's forms carry a CSRF token derived from the session token by HMAC: another site can neither
read it nor compute it. Forms shown before login (login, owner sign-up) use a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from ..auth import Actor, actor_for_token
from ..db import reader
from ..errors import Forbidden, JiliangError, Unauthenticated
from ..platform import Platform
from ..tokens import end_token

__all__ = [
    "SESSION_COOKIE",
    "LoginRequired",
    "start_session",
    "end_session",
    "page_actor",
    "optional_actor",
    "csrf_token",
    "check_csrf",
    "PageActor",
]

SESSION_COOKIE = "jiliang_session"
ANON_CSRF_COOKIE = "jiliang_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(JiliangError):
    """A page asked for without a valid session: the app redirects to the login page."""

    status = 401
    rule = "unauthenticated"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str, ttl_minutes: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        platform: Platform = request.app.state.platform
        with platform.engine.begin() as conn:
            end_token(conn, token)
    response.delete_cookie(SESSION_COOKIE, path="/")


def optional_actor(request: Request) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    platform: Platform = request.app.state.platform
    try:
        with reader(platform.engine) as conn:
            return actor_for_token(conn, token, platform.ledger_mac, write=False, session=True)
    except Unauthenticated:
        return None


def page_actor(request: Request) -> Actor:
    """The logged-in user of a page; state-changing requests must also carry the CSRF token."""
    actor = optional_actor(request)
    if actor is None:
        raise LoginRequired("请先登录 / log in first")
    request.state.actor = actor
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def csrf_token(request: Request) -> str:
    """The token this visitor's forms must send back (from the session, or the pre-login cookie)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return hmac.new(session.encode(), b"jiliang-csrf", hashlib.sha256).hexdigest()
    anon = request.cookies.get(ANON_CSRF_COOKIE) or getattr(request.state, "new_anon_csrf", None)
    if anon is None:
        anon = secrets.token_urlsafe(24)
        request.state.new_anon_csrf = anon  # set on the response by `keep_anon_csrf`
    return anon


def keep_anon_csrf(request: Request, response: Response) -> None:
    """Pre-login pages: send the double-submit cookie if this request created one."""
    anon = getattr(request.state, "new_anon_csrf", None)
    if anon:
        response.set_cookie(ANON_CSRF_COOKIE, anon, httponly=True, samesite="strict", secure=_secure(request))


async def check_csrf(request: Request) -> None:
    """Router dependency: refuse a POST whose CSRF token (form field or HTMX header) does not match."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        expected = hmac.new(session.encode(), b"jiliang-csrf", hashlib.sha256).hexdigest()
    else:
        expected = request.cookies.get(ANON_CSRF_COOKIE) or ""
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("页面已过期，请刷新后重试 / the form has expired: reload the page and try again", rule="csrf")
