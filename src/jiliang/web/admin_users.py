"""Pages under /admin/users: the accounts an administrator (all) or a lab manager (their institution's
staff) manages — a page at a time, searched and filtered by role — a new account, and one account's
roles, deactivation and password reset (the new password shown once), and for an administrator its
second factor reset. Every step calls registry.accounts or registry.staff, as the API does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from .. import second_factor
from ..auth import ROLES, Actor
from ..errors import InvalidInput, JiliangError
from ..listing import PageAt, Search
from ..registry import accounts
from ..registry import service as registry
from ..registry.account_list import account_detail, list_accounts, organisation_choices
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .work_common import message, platform_of, reading, translate

__all__ = ["router"]

router = page_router("/admin/users")

Roles = Annotated[list[str] | None, Form()]


def role_choices(actor: Actor) -> list[str]:
    """The roles the actor may give, in the site's order (an owner's account is made by its sign-up)."""
    allowed = set(ROLES) - {"owner_user"} if actor.has("admin") else accounts.STAFF_ROLES
    return [r for r in ROLES if r in allowed]


@router.get("", response_class=HTMLResponse)
def accounts_page(
    request: Request,
    actor: PageActor,
    at: PageAt,
    q: Search = "",
    role: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    role = role if role in ROLES else ""
    with reading(request) as conn:
        page = list_accounts(conn, actor, at, q, role)
    context = {
        "accounts": page.rows,
        "pages": page.links(request.url),
        "q": q.strip(),
        "role": role,
        "roles": [r for r in ROLES if actor.has("admin") or r in accounts.STAFF_ROLES],
    }
    return render(request, "admin/users.html", context)


def _new_page(
    request: Request, actor: Actor, error: str | None = None, typed: dict[str, Any] | None = None, status: int = 200
) -> Response:
    with reading(request) as conn:
        choices = organisation_choices(conn, actor)
    context = {
        "choices": choices,
        "role_choices": role_choices(actor),
        "error": error,
        "typed": typed or {"roles": []},
        "min_password": accounts.MIN_PASSWORD,
    }
    return render(request, "admin/user_new.html", context, status_code=status)


@router.get("/new", response_class=HTMLResponse)
def new_account_page(request: Request, actor: PageActor) -> Response:
    return _new_page(request, actor)


def _organisation(actor: Actor, value: str) -> tuple[int | None, int | None]:
    """(institution id, regulator id) from the form's choice ("institution:ID", "regulator:ID" or none);
    a lab manager's accounts are always their institution's."""
    if not actor.has("admin"):
        return actor.institution_id, None
    kind, _, key = value.partition(":")
    if not key.isdigit() or kind not in ("institution", "regulator"):
        return None, None
    return (int(key), None) if kind == "institution" else (None, int(key))


@router.post("", response_class=HTMLResponse)
def create_account(
    request: Request,
    actor: PageActor,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    organisation: Annotated[str, Form(max_length=32)] = "",
    roles: Roles = None,
) -> Response:
    chosen = sorted(set(roles or []))
    typed = {"username": username, "display_name": display_name, "organisation": organisation, "roles": chosen}
    given = password or accounts.new_password()
    try:
        if not 3 <= len(username.strip()) <= 64 or not display_name.strip():
            raise InvalidInput("请填写 3–64 个字符的用户名和姓名 / give a username of 3 to 64 characters and a name")
        institution_id, regulator_id = _organisation(actor, organisation)
        uid = registry.create_user(
            platform_of(request).uow(),
            actor,
            username.strip(),
            given,
            display_name.strip(),
            chosen,
            institution_id,
            regulator_id,
        )
    except JiliangError as exc:
        return _new_page(request, actor, message(request, exc), typed, exc.status)
    if password:
        return redirect(f"/admin/users/{uid}", flash=translate(request, N_("Account created.")))
    return _account_page(request, actor, uid, new_password=given, created=True)


def _account_page(request: Request, actor: Actor, user_id: int, status: int = 200, **extra: Any) -> Response:
    with reading(request) as conn:
        detail = account_detail(conn, actor, user_id)
    context = {
        "detail": detail,
        "a": detail.account,
        "own": user_id == actor.user_id,
        "role_choices": role_choices(actor),
        "can_reset_factor": actor.has("admin"),
        **extra,
    }
    return render(request, "admin/user.html", context, status_code=status)


@router.get("/{user_id}", response_class=HTMLResponse)
def account_page(request: Request, actor: PageActor, user_id: int) -> Response:
    return _account_page(request, actor, user_id)


def _step(request: Request, actor: Actor, user_id: int, section: str, step: Any, done: str, same: str) -> Response:
    """Run a change: back to the account with `done` (or `same` when nothing changed), or with the
    refusal beside the form of `section`."""
    try:
        changed = step()
    except JiliangError as exc:
        return _account_page(request, actor, user_id, exc.status, errors={section: message(request, exc)})
    return redirect(f"/admin/users/{user_id}", flash=translate(request, done if changed else same))


@router.post("/{user_id}/roles", response_class=HTMLResponse)
def change_roles(request: Request, actor: PageActor, user_id: int, roles: Roles = None) -> Response:
    def step() -> bool:
        return accounts.change_roles(platform_of(request).uow(), actor, user_id, roles or [])

    return _step(request, actor, user_id, "roles", step, N_("Roles saved."), N_("The roles were already so."))


@router.post("/{user_id}/active", response_class=HTMLResponse)
def set_active(
    request: Request, actor: PageActor, user_id: int, active: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    def step() -> bool:
        return accounts.set_active(platform_of(request).uow(), actor, user_id, active == "yes")

    done = N_("The account is active again.") if active == "yes" else N_("The account is deactivated.")
    return _step(request, actor, user_id, "active", step, done, N_("Nothing changed."))


@router.post("/{user_id}/password", response_class=HTMLResponse)
def reset_password(request: Request, actor: PageActor, user_id: int) -> Response:
    try:
        new = accounts.reset_password(platform_of(request).uow(), actor, user_id)
    except JiliangError as exc:
        return _account_page(request, actor, user_id, exc.status, errors={"password": message(request, exc)})
    return _account_page(request, actor, user_id, new_password=new)


@router.post("/{user_id}/second-factor/reset", response_class=HTMLResponse)
def reset_second_factor(request: Request, actor: PageActor, user_id: int) -> Response:
    def step() -> bool:
        with reading(request) as conn:
            account_detail(conn, actor, user_id)  # whose it is, before anything is said of its factor
        second_factor.reset(platform_of(request), actor, user_id)
        return True

    done = N_("Two-step verification is reset: the user logs in with the password alone.")
    return _step(request, actor, user_id, "factor", step, done, done)
