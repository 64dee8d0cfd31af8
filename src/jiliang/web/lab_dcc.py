"""The standards page's "import DCC calibration certificate" form, one per standard: the DCC file and the
institution's recalibration interval (a DCC carries no due date, JJF 1139) posted to
/lab/standards/{id}/dcc and recorded by registry.dcc_calibration; the page then says what was recorded
(number, due date, how many points or ranges with their U, who signed it) or why nothing was."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ..errors import InvalidInput, JiliangError
from ..registry.dcc_calibration import DccCalibration, import_dcc_calibration
from .i18n import N_, bilingual, local_date
from .lab import standards_view
from .render import language_of, redirect
from .routing import page_router
from .session import PageActor
from .work_common import message, platform_of, translate

__all__ = ["router", "recorded"]

router = page_router("/lab")

FLASH_LIMIT = 3000  # bytes of the URL-quoted flash cookie: the notes that do not fit stay out (cookies end at 4 KB)
_MONTHS = re.compile(r"[0-9]{1,4}")


def _months(text: str) -> int:
    text = text.strip()
    if not text:
        raise InvalidInput(
            "请填写校准间隔（月）：DCC 不给出有效期，按本机构依 JJF 1139 确定的校准间隔计算 / give the recalibration "
            "interval in months: a DCC carries no due date, the interval your institution set (JJF 1139) applies",
            rule="interval",
        )
    if not _MONTHS.fullmatch(text):
        raise InvalidInput(
            f"校准间隔须为整数月：{text} / the interval must be a whole number of months: {text}", rule="interval"
        )
    return int(text)


RECORDED = N_(
    "DCC calibration certificate %(number)s of %(lab)s recorded: due %(due)s, U stated for %(n)s points or ranges."
)
UNSIGNED = N_("The DCC is not signed.")
TRUSTED = N_("Signed by %(signer)s, chaining to the trusted root.")
VALID = N_(
    "Signed by %(signer)s; the signature is valid (the signer's certificate was not checked against a trusted root)."
)
OLDER = N_("A later calibration is already recorded: the standard's current calibration stays.")
OUT_OF_TOLERANCE = N_("The DCC states a nonconformity: the standard may not be used until it is recalibrated.")


def _sentence(text: str, lang: str) -> str:
    """A service's note (its English half starts in lower case, neither half ends in a stop) as a sentence."""
    text = text[:1].upper() + text[1:]
    stop = "。" if lang == "zh-CN" else "."
    return text if text.endswith((stop, ".", "。")) else text + stop


def recorded(request: Request, done: DccCalibration) -> str:
    """What was recorded, in the page's language: number, laboratory, due date, how many U, the signer,
    then the import's notes as far as the flash cookie holds them."""
    lang = language_of(request)
    due = local_date(done.due, lang)
    parts = [
        translate(request, RECORDED, number=done.certificate_no, lab=done.calibrated_by, due=due, n=len(done.ranges))
    ]
    signer = done.signature.subject
    if done.signature.status == "unsigned":
        parts.append(translate(request, UNSIGNED))
    else:
        parts.append(translate(request, TRUSTED if done.signature.status == "trusted" else VALID, signer=signer))
    if not done.current:
        parts.append(translate(request, OLDER))
    elif not done.in_tolerance:
        parts.append(translate(request, OUT_OF_TOLERANCE))
    space = "" if lang == "zh-CN" else " "  # Chinese sentences follow each other without a space
    text = space.join(parts)
    for note in done.notes:
        longer = text + space + _sentence(bilingual(note, lang), lang)
        if len(quote(longer)) > FLASH_LIMIT:
            break
        text = longer
    return text


@router.post("/standards/{standard_id}/dcc", response_class=HTMLResponse)
def import_dcc(
    request: Request,
    standard_id: int,
    actor: PageActor,
    dcc: Annotated[UploadFile | None, File()] = None,
    interval_months: Annotated[str, Form(max_length=8)] = "",
    trust_root: Annotated[UploadFile | None, File()] = None,
) -> Response:
    typed = {"form": "dcc", "standard_id": standard_id, "interval_months": interval_months}
    try:
        months = _months(interval_months)
        data = dcc.file.read() if dcc is not None else b""  # bounded by the request guard
        if not data:
            raise InvalidInput("请选择 DCC 文件（XML） / choose the DCC file (XML)", rule="dcc")
        root = (trust_root.file.read() or None) if trust_root is not None else None  # no file chosen: none
        done = import_dcc_calibration(platform_of(request).uow(), actor, standard_id, data, months, root)
    except JiliangError as exc:
        return standards_view(request, actor, message(request, exc), typed, exc.status)
    # the form posts to …#dcc-{id} so that an error shows in view; "#top" (HTML's own name for the top of
    # the document) brings the flash into view instead of the fragment the redirect would inherit
    return redirect("/lab/standards#top", flash=recorded(request, done))
