"""The verifier's pages: the institution's task queue by state, and a task's results form with the
procedure in force, the usable standards and live errors and verdicts (HTMX posts the rows to
`/evaluate` as they are typed; the same domain code judges them as `record_results` will)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from ..auth import Actor
from ..errors import JiliangError
from ..listing import PageAt, Search
from ..measurement.procedure import MeasurementPoint, Procedure
from ..platform import shanghai_today
from ..registry.directory import institution_names
from ..verification.preview import Preview, ResultsForm, preview_results, results_form
from ..verification.queries import task_counts, task_queue_page
from ..verification.readings import ReadingInput
from ..verification.results import record_results
from .downloads import ExportFormat
from .i18n import N_
from .lab_reports import report_download, tasks_report
from .render import redirect, render
from .reports import zh
from .routing import page_router
from .session import PageActor
from .work_common import (
    STAGE_LABELS,
    TASK_STATES,
    TEST_VERDICTS,
    VERDICTS,
    message,
    platform_of,
    reading,
    signing,
    translate,
)
from .work_readings import MAX_ROWS, TypedResults, typed_results

__all__ = ["router"]

router = page_router("/work")

_ROLE_TABS = (("verifier", "assigned"), ("checker", "recorded"), ("approver", "checked"))
# why a standard may not be used (verification.model.standard_problem's rules), in the unusable ones' summary
STANDARD_PROBLEMS = {
    "standard_not_for_item": N_("not registered for this instrument's catalogue item"),
    "standard_calibration_expired": N_("no valid calibration on the date"),
    "standard_expired": N_("examination certificate expired"),
    "": N_("not usable"),
}


def _default_tab(actor: Actor) -> str:
    """Each role starts where its work waits: the verifier's, the checker's, the approver's tasks."""
    return next((state for role, state in _ROLE_TABS if actor.has(role)), "all")


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(
    request: Request,
    actor: PageActor,
    at: PageAt,
    state: Annotated[str | None, Query(max_length=16)] = None,
    q: Search = "",
) -> Response:
    """A tab of the queue a page at a time (oldest first), searched by task number, instrument, serial
    number or owner."""
    chosen = state if state in TASK_STATES or state == "all" else _default_tab(actor)
    with reading(request) as conn:
        counts = task_counts(conn, actor)
        shown = task_queue_page(conn, actor, at, None if chosen == "all" else chosen, q)
        # an administrator reads every institution's queue (read-only): each task says whose it is
        names = institution_names(conn, (t["institution_id"] for t in shown.rows)) if actor.has("admin") else None
    context: dict[str, Any] = {"states": TASK_STATES, "chosen": chosen, "counts": counts, "tasks": shown.rows}
    context |= {"institutions": names, "pages": shown.links(request.url), "q": q}
    return render(request, "work/tasks.html", context)


@router.get("/tasks/export.xlsx")
@router.get("/tasks/export.csv")
def tasks_export(
    request: Request,
    actor: PageActor,
    state: Annotated[str | None, Query(max_length=16)] = None,
    q: Search = "",
) -> Response:
    """Every task of the page's tab that its search finds (not only a page), as Excel or CSV: the
    institution's own, as on the page."""
    chosen = state if state in TASK_STATES or state == "all" else _default_tab(actor)
    fmt: ExportFormat = "xlsx" if request.url.path.endswith(".xlsx") else "csv"
    with reading(request) as conn:
        report = tasks_report(conn, actor, None if chosen == "all" else chosen, q)
        return report_download(report, fmt, zh(TASK_STATES[chosen]) if chosen != "all" else "")


def _expected_rows(form: ResultsForm) -> list[ReadingInput]:
    """One row per reading the edition's tests ask for: each position once, each point as often as its
    test needs (a weighing test's five loads, three weighings per repeatability series)."""
    if form.edition is None:
        return []
    if not form.regulation_tests:
        return [ReadingInput(p.id, "", "") for p in form.edition.points]
    rows: list[ReadingInput] = []
    for test in form.edition.tests:
        for point_id in test.points:
            if any(r.point_id == point_id for r in rows):
                continue
            if test.positions:
                rows += [ReadingInput(point_id, "", "", position=pos.id) for pos in test.positions]
            else:
                times = 1 if point_id == test.zero_point else test.min_readings
                rows += [ReadingInput(point_id, "", "") for _ in range(times)]
    return rows


def _initial(form: ResultsForm) -> TypedResults:
    """A fresh form: today, the likely stage, one row per test point, the only usable standard ticked."""
    today, inst = shanghai_today(), form.task["instrument"]
    stage = "" if form.calibration else ("subsequent" if inst.get("last_verified_on") else "initial")
    rows = _expected_rows(form) or [ReadingInput("", "", "") for _ in range(3)]
    usable = [str(s.id) for s in form.standards if s.problem is None]
    return TypedResults(today.isoformat(), stage, usable if len(usable) == 1 else [], rows)


def _task_page(
    request: Request,
    form: ResultsForm,
    typed: TypedResults,
    preview: Preview | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    previews: list[Any] = list(preview.rows) if preview else []
    previews += [None] * (len(typed.rows) - len(previews))
    context = {
        "form": form,
        "task": form.task,
        "typed": typed,
        "rows": list(zip(range(len(typed.rows)), typed.rows, previews, strict=True)),
        "points": form.edition.points if form.edition else (),
        "preview": preview,
        "error": error,
        "today": shanghai_today().isoformat(),
        "stages": STAGE_LABELS,
        "states": TASK_STATES,
        "verdicts": VERDICTS,
        "test_verdicts": TEST_VERDICTS,
        "standard_problems": STANDARD_PROBLEMS,
    }
    return render(request, "work/task.html", context, status_code=status_code)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: int, actor: PageActor) -> Response:
    with reading(request) as conn:
        form = results_form(conn, platform_of(request).procedures, actor, task_id, shanghai_today())
    return _task_page(request, form, _initial(form))


TypedDep = Annotated[TypedResults, Depends(typed_results)]


@router.post("/tasks/{task_id}/evaluate", response_class=HTMLResponse)
def evaluate(request: Request, task_id: int, actor: PageActor, typed: TypedDep) -> Response:
    """The live part: each row's error, MPE and verdict and the overall verdict, nothing saved."""
    with reading(request) as conn:
        procedures = platform_of(request).procedures
        preview = _preview(conn, procedures, actor, task_id, typed)
    return render(
        request, "work/_evaluation.html", {"preview": preview, "verdicts": VERDICTS, "test_verdicts": TEST_VERDICTS}
    )


def _preview(
    conn: Connection, procedures: Mapping[str, Procedure], actor: Actor, task_id: int, typed: TypedResults
) -> Preview:
    on, stage = typed.on(), typed.stage or None
    return preview_results(
        conn, procedures, actor, task_id, on, stage, typed.rows, typed.chosen_standards(), typed.environment()
    )


def _likely_point(present: list[str], points: Sequence[MeasurementPoint]) -> str:
    """The point a new row most likely repeats: the one most rows already measure (the first on a tie)."""
    if not present:
        return points[0].id if points else ""
    counts = Counter(present)
    return max(dict.fromkeys(present), key=lambda p: counts[p])[:32]


@router.get("/tasks/{task_id}/row", response_class=HTMLResponse)
def new_row(
    request: Request, task_id: int, actor: PageActor, point_id: Annotated[list[str] | None, Query()] = None
) -> Response:
    """One more row of readings (`point_id` lists the rows already there; the new one repeats the last point)."""
    present = point_id or []
    with reading(request) as conn:
        form = results_form(conn, platform_of(request).procedures, actor, task_id, shanghai_today())
    if len(present) >= MAX_ROWS:
        return Response(status_code=204)
    points = form.edition.points if form.edition else ()
    context = {"form": form, "n": len(present), "r": ReadingInput(_likely_point(present, points), "", "")}
    context |= {"rp": None, "points": points}
    return render(request, "work/_row.html", context | {"verdicts": VERDICTS})


@router.post("/tasks/{task_id}/results", response_class=HTMLResponse)
def submit_results(
    request: Request,
    task_id: int,
    actor: PageActor,
    typed: TypedDep,
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """The verifier signs with their password; a refusal shows the form again, as typed, with the reason."""
    platform = platform_of(request)
    try:
        results = typed.to_input()
        rid = record_results(platform.uow(), signing(request, actor, password), task_id, results)
    except JiliangError as exc:
        with reading(request) as conn:
            form = results_form(conn, platform.procedures, actor, task_id, typed.on())
            try:
                preview = _preview(conn, platform.procedures, actor, task_id, typed)
            except JiliangError:
                preview = None
        return _task_page(request, form, typed, preview, message(request, exc), exc.status)
    done = translate(request, N_("Results recorded and signed. The record now waits for its check."))
    return redirect(f"/work/records/{rid}", flash=done)
