"""Pages under /admin/rules, an administrator's: every MPE rule of the shipped procedures as a
metrologist reads it (the instrument, the regulation, the stage, class, points and load band, the MPE,
its source and how far that source is trusted), those not yet confirmed first, each with the button
that confirms it once checked against the printed regulation (registry/catalogue_admin.confirm_rule,
as over the API). Verdicts under an unconfirmed rule are advisory until then.

Both lists — waiting and confirmed — come a page at a time, each by the rule's place in the procedure
files (which a confirmation does not change: `?after=`/`?before=` for the waiting ones,
`?confirmed_after=`/`?confirmed_before=` for the confirmed), and are searched by instrument (either
language), regulation or source."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from ..errors import JiliangError
from ..listing import Cursor, Keyset, PageAt, Search
from ..registry import catalogue_admin
from .i18n import N_
from .render import redirect, render
from .routing import page_router
from .session import PageActor
from .vocabulary import CONFIDENCE_LABELS, STAGE_LABELS, Names, names_for
from .work_common import message, platform_of, reading, translate

__all__ = ["router"]

router = page_router("/admin/rules")

ANY_STAGE = N_("Every stage")
CONFIRMED = ("confirmed_after", "confirmed_before")  # the confirmed list's place in the URL
Place = Annotated[str, Form(max_length=12)]


def _matches(r: catalogue_admin.RuleForReview, needle: str) -> bool:
    """Whether the rule's instrument (either language), regulation (number or title) or source
    contains `needle` (folded)."""
    p, e = r.procedure, r.edition
    texts = (p.name_zh, p.name_en, e.regulation, e.regulation_en, e.title_zh, e.title_en, r.rule.source)
    return any(needle in t.casefold() for t in texts if t)


def _view(r: catalogue_admin.RuleForReview, names: Names) -> dict[str, Any]:
    """What the page shows of a rule: names in the page's language, never its ids."""
    rule, edition = r.rule, r.edition
    points = {p.id: names.of(p) for p in edition.points}
    tests = {t.id: names.of(t) for t in edition.tests}
    where = [points.get(p, "") for p in rule.applies_to.points or ()]
    where += [tests.get(t, "") for t in rule.applies_to.tests or ()]
    return {
        "procedure_code": r.procedure_code,
        "rule_id": rule.id,
        "ordinal": r.ordinal,
        "instrument": names.of(r.procedure),
        "regulation": names.edition(edition, r.procedure),
        "stage": ANY_STAGE if rule.stage == "any" else STAGE_LABELS.get(rule.stage, ANY_STAGE),
        "accuracy_class": rule.accuracy_class,
        "where": [w for w in where if w],
        "load_e": rule.applies_to.load_e,
        "mpe": (rule.mpe_lower, rule.mpe_upper, rule.unit),
        "source": rule.source,
        "confidence": rule.confidence,
        "confirmed": r.confirmed,
        "confirmed_by": r.confirmed_by,
        "confirmed_at": r.confirmed_at,
    }


def _page(
    request: Request,
    actor: Any,
    waiting_at: Keyset,
    confirmed_at: Keyset,
    q: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    with reading(request) as conn:
        rules = catalogue_admin.rules_for_review(conn, actor, platform_of(request).procedures)
    needle = q.strip().casefold()
    found = sorted((r for r in rules if not needle or _matches(r, needle)), key=lambda r: r.ordinal)
    waiting = waiting_at.slice([r for r in found if not r.confirmed], lambda r: r.ordinal)
    confirmed = confirmed_at.slice([r for r in found if r.confirmed], lambda r: r.ordinal)
    names = names_for(request)
    here = request.url.replace(path="/admin/rules", query=urlencode(_place(q, waiting_at, confirmed_at)))
    context = {
        "waiting": [_view(r, names) for r in waiting.rows],
        "confirmed": [_view(r, names) for r in confirmed.rows],
        "counts": {"waiting": sum(not r.confirmed for r in found), "confirmed": sum(r.confirmed for r in found)},
        "waiting_pages": waiting.links(here),
        "confirmed_pages": confirmed.links(here, *CONFIRMED),
        "confirmed_open": confirmed_at.query() != {},
        "q": q,
        "back": _place(q, waiting_at, confirmed_at),
        "error": error,
        "CONFIDENCE_LABELS": CONFIDENCE_LABELS,
    }
    return render(request, "admin/rules.html", context, status_code=status)


def _place(q: str, waiting_at: Keyset, confirmed_at: Keyset) -> dict[str, Any]:
    """The search and both lists' places, as query parameters."""
    confirmed = {
        name: confirmed_at.query()[key]
        for name, key in zip(CONFIRMED, ("after", "before"), strict=True)
        if key in confirmed_at.query()
    }
    return ({"q": q} if q else {}) | waiting_at.query() | confirmed


@router.get("", response_class=HTMLResponse)
def rules_page(
    request: Request,
    actor: PageActor,
    at: PageAt,
    confirmed_after: Cursor = None,
    confirmed_before: Cursor = None,
    q: Search = "",
) -> Response:
    return _page(request, actor, at, Keyset(confirmed_after, confirmed_before), q)


@router.post("/{procedure_code}/{rule_id}/confirm", response_class=HTMLResponse)
def confirm(
    request: Request,
    actor: PageActor,
    procedure_code: str,
    rule_id: str,
    q: Annotated[str, Form(max_length=64)] = "",
    after: Place = "",
    before: Place = "",
    confirmed_after: Place = "",
    confirmed_before: Place = "",
) -> Response:
    """Confirms the rule and comes back to the pages the form was sent from (the rule leaves the waiting
    list; the others keep their places)."""
    waiting_at, confirmed_at = Keyset.posted(after, before), Keyset.posted(confirmed_after, confirmed_before)
    try:
        catalogue_admin.confirm_rule(platform_of(request).uow(), actor, procedure_code, rule_id)
    except JiliangError as exc:
        return _page(request, actor, waiting_at, confirmed_at, q, message(request, exc), exc.status)
    done = N_("The rule is confirmed: its verdicts are no longer advisory.")
    back = urlencode(_place(q, waiting_at, confirmed_at))
    return redirect("/admin/rules" + (f"?{back}" if back else ""), flash=translate(request, done))
