"""Pages under /admin/rules, an administrator's: every MPE rule of the shipped procedures as a
metrologist reads it (the instrument, the regulation, the stage, class, points and load band, the MPE,
its source and how far that source is trusted), those not yet confirmed first, each with the button
that confirms it once checked against the printed regulation (registry/catalogue_admin.confirm_rule,
as over the API). Verdicts under an unconfirmed rule are advisory until then."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from ..errors import JiliangError
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


def _page(request: Request, actor: Any, error: str | None = None, status: int = 200) -> Response:
    with reading(request) as conn:
        rules = catalogue_admin.rules_for_review(conn, actor, platform_of(request).procedures)
    names = names_for(request)
    views = [_view(r, names) for r in rules]
    context = {
        "waiting": [v for v in views if not v["confirmed"]],
        "confirmed": [v for v in views if v["confirmed"]],
        "error": error,
        "CONFIDENCE_LABELS": CONFIDENCE_LABELS,
    }
    return render(request, "admin/rules.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def rules_page(request: Request, actor: PageActor) -> Response:
    return _page(request, actor)


@router.post("/{procedure_code}/{rule_id}/confirm", response_class=HTMLResponse)
def confirm(request: Request, actor: PageActor, procedure_code: str, rule_id: str) -> Response:
    try:
        catalogue_admin.confirm_rule(platform_of(request).uow(), actor, procedure_code, rule_id)
    except JiliangError as exc:
        return _page(request, actor, message(request, exc), exc.status)
    done = N_("The rule is confirmed: its verdicts are no longer advisory.")
    return redirect("/admin/rules", flash=translate(request, done))
