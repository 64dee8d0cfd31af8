"""Owner self-registration 使用单位注册 at /signup: the form, the live credit-code check (an HTMX
fragment) and the page saying the registration waits for approval. No login; the forms carry the
pre-login double-submit CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import ConnDep, PlatformDep, rate_limited
from ..errors import JiliangError
from ..registry.credit_code import CODE_LENGTH, CreditCodeError, normalise_credit_code, validate_credit_code
from ..registry.directory import credit_code_taken, list_districts
from ..registry.service import OwnerRegistration, register_owner
from .i18n import N_, bilingual
from .render import language_of, redirect, render
from .routing import page_router
from .vocabulary import translate

__all__ = ["router"]

router = page_router("/signup")

FIELDS = ("credit_code", "name", "district_code", "address", "contact_name", "username")


def _form(request: Request, conn: Any, values: dict[str, str], error: str = "", status: int = 200) -> HTMLResponse:
    context = {"districts": list_districts(conn), "values": values, "error": error, "code_length": CODE_LENGTH}
    return render(request, "signup.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def signup_form(request: Request, conn: ConnDep) -> HTMLResponse:
    return _form(request, conn, dict.fromkeys(FIELDS, ""))


@router.post("/credit-code", response_class=HTMLResponse, dependencies=[Depends(rate_limited)])
def check_credit_code(
    request: Request, conn: ConnDep, credit_code: Annotated[str, Form(max_length=64)] = ""
) -> HTMLResponse:
    """The live check under the credit-code field: wrong length, a character not allowed, the check
    character that the first 17 characters call for, already registered, or valid."""
    lang = language_of(request)
    typed = normalise_credit_code(credit_code)
    context: dict[str, Any] = {"typed": typed, "ok": False, "message": ""}
    if typed:
        try:
            code = validate_credit_code(typed)
        except CreditCodeError as exc:
            context["message"] = bilingual(str(exc), lang)
        else:
            if credit_code_taken(conn, code):
                context["message"] = translate(request, N_("This credit code is already registered."))
            else:
                context.update(ok=True, message=translate(request, N_("Valid credit code.")))
    return render(request, "signup_credit_code.html", context)


@router.post("", response_class=HTMLResponse, dependencies=[Depends(rate_limited)])
def do_signup(
    request: Request,
    platform: PlatformDep,
    conn: ConnDep,
    credit_code: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=128)],
    district_code: Annotated[str, Form(max_length=6)],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    address: Annotated[str, Form(max_length=256)] = "",
    contact_name: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    values = {
        "credit_code": credit_code,
        "name": name,
        "district_code": district_code,
        "address": address,
        "contact_name": contact_name,
        "username": username,
    }
    registration = OwnerRegistration(
        credit_code=credit_code,
        name=name,
        district_code=district_code,
        address=address.strip(),
        username=username.strip(),
        password=password,
        contact_name=contact_name.strip(),
    )
    if len(registration.username) < 3:
        message = translate(request, N_("The username needs at least 3 characters."))
        return _form(request, conn, values, message, 422)
    try:
        register_owner(platform.uow(), registration)
    except JiliangError as exc:
        return _form(request, conn, values, bilingual(exc.message, language_of(request)), exc.status)
    flash = translate(request, N_("Registration of %(name)s received."), name=name.strip())
    return redirect("/signup/pending", flash=flash)


@router.get("/pending", response_class=HTMLResponse)
def pending(request: Request) -> HTMLResponse:
    return render(request, "signup_pending.html")
