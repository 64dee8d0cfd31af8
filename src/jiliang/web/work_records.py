"""A verification record as the next person sees it (points, errors, verdicts, standards,
environment, who signed when), with the checker's "check and sign" and the approver's "approve and
issue" forms; each step is signed with the person's password (verification/signoff.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..auth import Actor
from ..errors import JiliangError
from ..measurement.procedure import NoEditionInForce
from ..verification.record_view import record_view
from ..verification.signoff import approve_record, check_record
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import CONFIDENCE_LABELS
from .work_common import (
    KIND_LABELS,
    STAGE_LABELS,
    TEST_VERDICTS,
    VERDICTS,
    message,
    platform_of,
    reading,
    signing,
    translate,
)

__all__ = ["router"]

router = page_router("/work")

STEPS = {"verify": N_("Verified by"), "check": N_("Checked by"), "approve": N_("Approved by")}
RECORD_STATUSES = {
    "recorded": N_("Waiting for the check"),
    "checked": N_("Waiting for approval"),
    "approved": N_("Approved"),
    "returned": N_("Returned to the verifier"),
}


def _record_page(
    request: Request, actor: Actor, record_id: int, error: str | None = None, status_code: int = 200
) -> Response:
    with reading(request) as conn:
        rec = record_view(conn, actor, record_id)
    procedure = platform_of(request).procedures.get(rec["procedure_code"] or "")
    try:
        points = {p.id: p for p in procedure.edition_on(rec["performed_on"]).points} if procedure else {}
    except NoEditionInForce:
        points = {}
    context: dict[str, Any] = {
        "rec": rec,
        "error": error,
        "can_check": rec["status"] == "recorded" and actor.has("checker"),
        "can_approve": rec["status"] == "checked" and actor.has("approver"),
        "steps": STEPS,
        "statuses": RECORD_STATUSES,
        "stages": STAGE_LABELS,
        "kinds": KIND_LABELS,
        "verdicts": VERDICTS,
        "test_verdicts": TEST_VERDICTS,
        "points": points,
        "procedure": procedure,
        "CONFIDENCE_LABELS": CONFIDENCE_LABELS,
    }
    return render(request, "work/record.html", context, status_code=status_code)


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(request: Request, record_id: int, actor: PageActor) -> Response:
    return _record_page(request, actor, record_id)


@router.post("/records/{record_id}/check", response_class=HTMLResponse)
def check(
    request: Request,
    record_id: int,
    actor: PageActor,
    password: Annotated[str, Form(max_length=256)] = "",
    decision: Annotated[str, Form(max_length=16)] = "accept",
    remark: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """核验: accept and sign, or return to the verifier with a reason."""
    accept = decision != "return"
    try:
        check_record(platform_of(request).uow(), signing(request, actor, password), record_id, accept, remark)
    except JiliangError as exc:
        return _record_page(request, actor, record_id, message(request, exc), exc.status)
    text = N_("Checked and signed. The record now waits for approval.") if accept else N_("Returned to the verifier.")
    return redirect(f"/work/records/{record_id}", flash=translate(request, text))


@router.post("/records/{record_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request, record_id: int, actor: PageActor, password: Annotated[str, Form(max_length=256)] = ""
) -> Response:
    """批准: approve, sign and issue the certificate (or the notice of non-conformity)."""
    try:
        number = approve_record(platform_of(request).uow(), signing(request, actor, password), record_id)
    except JiliangError as exc:
        return _record_page(request, actor, record_id, message(request, exc), exc.status)
    text = translate(request, N_("Approved and signed: certificate %(number)s issued."))
    return redirect(f"/work/records/{record_id}", flash=text % {"number": number})
