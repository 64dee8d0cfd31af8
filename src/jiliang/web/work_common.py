"""What the workbench and lab pages share: the platform and a read connection for a request, the
password re-entry that signs a step, dates typed into forms, a service message in the page's
language, and the labels of task states, verdicts, stages and certificate statuses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from ..auth import Actor, Confirmation, confirm_password
from ..db import reader
from ..errors import InvalidInput, JiliangError
from ..platform import Platform
from .i18n import N_, bilingual
from .render import language_of
from .vocabulary import KIND_LABELS, STAGE_LABELS, STATUS_LABELS, translate

__all__ = [
    "platform_of",
    "reading",
    "signing",
    "form_date",
    "message",
    "translate",
    "TASK_STATES",
    "VERDICTS",
    "STAGE_LABELS",
    "CERTIFICATE_STATUSES",
    "KIND_LABELS",
    "posted_texts",
    "PostedTexts",
]

# the queue's tabs, in the order work flows through them
TASK_STATES = {
    "assigned": N_("To record"),
    "recorded": N_("To check"),
    "checked": N_("To approve"),
    "issued": N_("Certificate issued"),
}
VERDICTS = {"pass": N_("Pass"), "fail": N_("Fail"), "unknown": N_("Unknown: no MPE rule")}
# a test of the regulation is undetermined for more reasons than a missing rule (incomplete, undetermined zone)
TEST_VERDICTS = {"pass": N_("Pass"), "fail": N_("Fail"), "unknown": N_("Not determined")}
CERTIFICATE_STATUSES = {code: STATUS_LABELS[code] for code in ("valid", "superseded", "revoked", "expired")}


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


@contextmanager
def reading(request: Request) -> Iterator[Connection]:
    """A read-only connection for the page's queries."""
    with reader(platform_of(request).engine) as conn:
        yield conn


def signing(request: Request, actor: Actor, password: str) -> Confirmation:
    """The password re-entered to sign a step (Forbidden when it is wrong: nothing is written)."""
    with reading(request) as conn:
        return confirm_password(conn, actor, password, platform_of(request))


def form_date(text: str, what: str, required: bool = True) -> date | None:
    """A date typed into a form (YYYY-MM-DD); `what` reads "中文 / English"."""
    text = text.strip()
    if not text:
        if required:
            zh, _, en = what.partition(" / ")
            raise InvalidInput(f"请填写{zh} / give the {en}")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        zh, _, en = what.partition(" / ")
        raise InvalidInput(f"{zh}不是有效日期：{text} / the {en} is not a date (YYYY-MM-DD)") from None


def message(request: Request, exc: JiliangError) -> str:
    """A service's "中文 / English" message in the page's language."""
    return bilingual(exc.message, language_of(request))


TEXT_LIMIT = 1000


async def posted_texts(request: Request) -> dict[str, str]:
    """Dependency: a posted form's text fields, trimmed (for forms whose field names are data, such as
    the amendable certificate fields); a field longer than the stored text may be is refused."""
    form = await request.form()
    texts = {k: v.strip() for k, v in form.multi_items() if isinstance(v, str)}
    too_long = [k for k, v in texts.items() if len(v) > TEXT_LIMIT]
    if too_long:
        raise InvalidInput(f"{too_long[0]} 最多 {TEXT_LIMIT} 个字符 / {too_long[0]}: at most {TEXT_LIMIT} characters")
    return texts


PostedTexts = Annotated[dict[str, str], Depends(posted_texts)]
