"""My account: the password (changed with the current one), the second factor (turn TOTP on with a QR
code, off with a code) and the API tokens a user makes for programs (made with the password again,
shown once, revoked with one click)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import segno
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from .. import second_factor, tokens
from ..auth import Actor, confirm_password
from ..errors import InvalidInput, JiliangError
from ..registry.accounts import MIN_PASSWORD, change_own_password
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import SESSION_COOKIE, PageActor
from .work_common import message, platform_of, reading, translate

__all__ = ["router"]

router = page_router("/account")

Code = Annotated[str, Form(max_length=8)]
Password = Annotated[str, Form(max_length=256)]

SCOPE_LABELS = {"read": N_("Read only"), "write": N_("Read and write")}


def _page(request: Request, actor: Actor, status: int = 200, **extra: Any) -> Response:
    with reading(request) as conn:
        context = {
            "second_factor_on": second_factor.enabled(conn, actor.user_id),
            "api_tokens": tokens.api_token_list(conn, actor.user_id),
            "scope_labels": SCOPE_LABELS,
            "max_days": tokens.MAX_DAYS,
            "min_password": MIN_PASSWORD,
            **extra,
        }
    return render(request, "account.html", context, actor=actor, status_code=status)


@router.get("", response_class=HTMLResponse)
def account(request: Request, actor: PageActor) -> Response:
    return _page(request, actor)


@router.post("/password", response_class=HTMLResponse)
def change_password(
    request: Request, actor: PageActor, current: Password = "", new: Password = "", repeated: Password = ""
) -> Response:
    try:
        if new != repeated:
            raise InvalidInput("两次输入的新密码不一致 / the two new passwords differ")
        change_own_password(platform_of(request).uow(), actor, current, new, request.cookies.get(SESSION_COOKIE, ""))
    except JiliangError as exc:
        return _page(request, actor, exc.status, password_error=message(request, exc))
    return redirect("/account", flash=translate(request, N_("Your password is changed.")))


def _password(request: Request, actor: Actor, password: str) -> None:
    with reading(request) as conn:
        confirm_password(conn, actor, password, platform_of(request))


@router.post("/second-factor", response_class=HTMLResponse)
def start_second_factor(request: Request, actor: PageActor, password: Password = "") -> Response:
    try:
        _password(request, actor, password)
        secret, uri = second_factor.enrol(platform_of(request), actor)
    except JiliangError as exc:
        return _page(request, actor, exc.status, factor_error=message(request, exc))
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return _page(request, actor, enrolling={"secret": secret, "qr": qr})


def _factor_step(request: Request, actor: Actor, step: Callable[[], None], done: str) -> Response:
    """Turn the factor on or off: back to the page with the error, or on to it with `done` shown."""
    try:
        step()
    except JiliangError as exc:
        return _page(request, actor, exc.status, factor_error=message(request, exc))
    return redirect("/account", flash=translate(request, done))


@router.post("/second-factor/confirm", response_class=HTMLResponse)
def confirm_second_factor(request: Request, actor: PageActor, code: Code = "") -> Response:
    def step() -> None:
        second_factor.confirm(platform_of(request), actor, code)

    return _factor_step(request, actor, step, N_("Two-step verification is on."))


@router.post("/second-factor/off", response_class=HTMLResponse)
def stop_second_factor(
    request: Request,
    actor: PageActor,
    password: Password = "",
    code: Code = "",
) -> Response:
    def step() -> None:
        _password(request, actor, password)
        second_factor.disable(platform_of(request), actor, code)

    return _factor_step(request, actor, step, N_("Two-step verification is off."))


@router.post("/tokens", response_class=HTMLResponse)
def make_token(
    request: Request,
    actor: PageActor,
    label: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=8)] = "read",
    days: Annotated[str, Form(max_length=4)] = "90",
    password: Password = "",
) -> Response:
    typed = {"label": label, "scope": scope, "days": days}
    try:
        if not days.isdigit():
            raise InvalidInput(f"有效期应为 1–{tokens.MAX_DAYS} 天 / valid for 1 to {tokens.MAX_DAYS} days")
        _password(request, actor, password)
        token, listed = tokens.create_api_token(platform_of(request), actor, label, scope, int(days))
    except JiliangError as exc:
        return _page(request, actor, exc.status, token_error=message(request, exc), typed=typed)
    return _page(request, actor, made={"token": token, **listed})


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, actor: PageActor, token_id: str) -> Response:
    try:
        tokens.revoke_api_token(platform_of(request), actor, token_id)
    except JiliangError as exc:
        return _page(request, actor, exc.status, token_error=message(request, exc))
    return redirect("/account", flash=translate(request, N_("The token is revoked.")))
