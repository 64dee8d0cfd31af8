"""Rendering a page: the Jinja2 environment (gettext, Shanghai dates), the context every page gets
(who is logged in, their navigation, the language, the CSRF token, a flash message) and the security
headers every page is sent with."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context

from ..auth import Actor
from ..bootstrap import ADMIN_NAME
from .i18n import (
    LANG_COOKIE,
    LANGUAGES,
    ROLE_LABELS,
    bilingual,
    language_of,
    local_date,
    local_datetime,
    translations,
)
from .nav import nav_for
from .session import csrf_token, keep_anon_csrf
from .vocabulary import Names

__all__ = [
    "templates",
    "render",
    "redirect",
    "language_of",
    "LANG_COOKIE",
    "PAGE_HEADERS",
    "FLASH_COOKIE",
    "static_url",
]

HERE = Path(__file__).parent
FLASH_COOKIE = "jiliang_flash"

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, extensions=["jinja2.ext.i18n"])
)


@cache
def static_url(path: str) -> str:
    """The URL of a file in `static/` with a digest of its content, so browsers may keep it for a year
    (`CachedStatics`) and a changed file is fetched again at once."""
    digest = hashlib.sha256((HERE / "static" / path).read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


@pass_context
def _gettext(ctx: Any, message: str) -> str:
    return str(ctx["translations"].gettext(message))


@pass_context
def _ngettext(ctx: Any, singular: str, plural: str, n: int) -> str:
    return str(ctx["translations"].ngettext(singular, plural, n))


templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.globals["static_url"] = static_url
templates.env.globals["LANGUAGES"] = LANGUAGES
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS
templates.env.filters["local_datetime"] = pass_context(lambda ctx, v, *a: local_datetime(v, ctx["lang"], *a))
templates.env.filters["local_date"] = pass_context(lambda ctx, v: local_date(v, ctx["lang"]))
templates.env.filters["bilingual"] = pass_context(lambda ctx, v: bilingual(str(v), ctx["lang"]))
templates.env.filters["urlquote"] = lambda v: quote(str(v), safe="")
templates.env.filters["person"] = pass_context(
    lambda ctx, v: _gettext(ctx, "Administrator") if v == ADMIN_NAME else v  # the account init made
)

# Only this site's own scripts and styles; forms post only here; no framing. No referrer: some URLs
# carry a QR code's token.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class _LazyCsrf:
    """The CSRF token, made only if the page has a form (a public page sets no cookie)."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return csrf_token(self.request)

    __html__ = __str__


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page (or, for an HTMX request, usually a fragment template) in the visitor's language."""
    lang = language_of(request)
    actor = actor or getattr(request.state, "actor", None)
    flash = unquote(request.cookies.get(FLASH_COOKIE) or "") or None
    ctx = {
        "lang": lang,
        "translations": translations(lang),
        "names": Names(lang, request.app.state.platform.procedures),
        "actor": actor,
        "nav": nav_for(actor),
        "csrf_token": _LazyCsrf(request),
        "flash": flash,
        "path": request.url.path,
        # the page as addressed, its search and list position too: where the language switch comes back to
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code, headers=PAGE_HEADERS)
    keep_anon_csrf(request, response)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """Post/redirect/get: after a form succeeds, go to `url` and show `flash` there once."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, httponly=True, samesite="lax", path="/")
    return response
