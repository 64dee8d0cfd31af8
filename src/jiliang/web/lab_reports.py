"""The lab's lists as reports for the pages' Excel and CSV exports: the issued certificates, the task
queue, the standards and the staff — every row the page's own query finds for its filters and search
(read by key, a chunk a statement, web/downloads.every_row), scoped to the actor's institution as the
pages are, headed in Chinese from the pages' catalogue, with names and words where the data holds
codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.responses import Response
from sqlalchemy import Connection, select

from ..auth import Actor
from ..certificates.listing import find_certificates
from ..certificates.service import CONCLUSIONS
from ..platform import SHANGHAI, shanghai_today
from ..registry.staff_list import staff_page
from ..registry.standards_list import standards_page
from ..registry.tables import institutions
from ..verification.queries import task_queue_page
from . import downloads
from .downloads import ExportFormat, download, every_row, filename
from .i18n import N_
from .reports import LANG, Report, zh
from .vocabulary import KIND_LABELS, STATUS_LABELS, Names
from .work_common import TASK_STATES

__all__ = ["certificates_report", "tasks_report", "standards_report", "staff_report", "report_download"]


def report_download(report: Report, fmt: ExportFormat, *parts: str) -> Response:
    """The report as an attachment named in Chinese (its ASCII name for older clients)."""
    today = shanghai_today()
    return download(report.table(), fmt, filename(report.title, fmt, today, *parts), f"{report.name}-{today}.{fmt}")


def local_date(moment: datetime | None) -> date | None:
    """A stored time's date in Shanghai."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).date()


def _conclusion(verdict: str | None) -> str:
    """The certificate's conclusion in Chinese words (the first half of "合格 / conforms")."""
    return CONCLUSIONS[verdict if verdict in ("pass", "fail") else None].partition(" / ")[0]


def certificates_report(
    conn: Connection, actor: Actor, today: date, status: str | None = None, search: str = ""
) -> Report:
    """Every certificate the issued-certificates page lists for this status and search, newest first."""
    found = every_row(lambda at: find_certificates(conn, actor, today, at, status, search), downloads.CHUNK)
    records: Iterator[dict[str, Any]] = (
        {
            "number": c.number,
            "instrument": c.instrument,
            "serial_no": c.serial_no,
            "owner": c.owner,
            "kind": c.kind,
            "kind_name": zh(KIND_LABELS.get(c.kind, c.kind)),
            "verdict": c.verdict,
            "conclusion": _conclusion(c.verdict),
            "issued_on": local_date(c.issued_at),
            "valid_until": c.valid_until,
            "status": c.current_status,
            "status_name": zh(STATUS_LABELS.get(c.current_status, c.current_status)),
        }
        for c in found
    )
    columns = (
        ("number", zh(N_("Number"))),
        ("instrument", zh(N_("Instrument"))),
        ("serial_no", zh(N_("Serial number"))),
        ("owner", zh(N_("Owner"))),
        ("kind_name", zh(N_("Kind"))),
        ("conclusion", zh(N_("Conclusion"))),
        ("issued_on", zh(N_("Issued"))),
        ("valid_until", zh(N_("Valid until"))),
        ("status_name", zh(N_("Status"))),
    )
    return Report("certificates", zh(N_("Issued certificates")), columns, records)


def tasks_report(conn: Connection, actor: Actor, state: str | None = None, search: str = "") -> Report:
    """Every task of the queue's tab (`state`, None for all) that `search` finds, oldest first, as the
    page; an administrator's (every institution's queue) says whose each task is."""
    names = Names(LANG)
    found = every_row(lambda at: task_queue_page(conn, actor, at, state, search), downloads.CHUNK)
    whose = (
        {r.id: r.name_zh for r in conn.execute(select(institutions.c.id, institutions.c.name_zh))}
        if actor.has("admin")
        else None
    )
    records: Iterator[dict[str, Any]] = (
        {
            "id": t["id"],
            "instrument_name": t["instrument_name"],
            "item_code": t["item_code"],
            "item_name": names.item(t["item_code"]),
            "serial_no": t["serial_no"],
            "owner_name": t["owner_name"],
            "institution_name": whose.get(t["institution_id"], "") if whose is not None else None,
            "kind": t["kind"],
            "kind_name": zh(N_("Calibration") if t["kind"] == "calibration" else N_("Verification")),
            "state": t["state"],
            "state_name": zh(TASK_STATES.get(t["state"], t["state"])),
            "updated_at": t["updated_at"],
        }
        for t in found
    )
    columns = (
        ("id", zh(N_("Task"))),
        ("instrument_name", zh(N_("Instrument"))),
        ("item_name", zh(N_("Catalogue item"))),
        ("serial_no", zh(N_("Serial number"))),
        ("owner_name", zh(N_("Owner"))),
        *((("institution_name", zh(N_("Institution"))),) if whose is not None else ()),
        ("kind_name", zh(N_("Kind"))),
        ("state_name", zh(N_("State"))),
        ("updated_at", zh(N_("Last change"))),
    )
    return Report("tasks", zh(N_("Task queue")), columns, records)


def _uncertainty(u: dict[str, Any] | None) -> str | None:
    return f"U = {u['U']} {u['unit'] or ''} (k = {u['k']})".replace("  ", " ") if u else None


def standards_report(
    conn: Connection,
    actor: Actor,
    today: date,
    warning: timedelta,
    expiry_labels: dict[str, str],
    search: str = "",
) -> Report:
    """Every standard the standards page finds for its search, in its order, with the items it serves
    by name, its examination certificate and its calibration, each with its standing in words as the
    page's badges (`expiry_labels`, counted `warning` ahead)."""
    from .lab import expiry  # the page's own rule (web/lab.py imports this module)

    names = Names(LANG)
    found = every_row(lambda at: standards_page(conn, actor, at, search), downloads.CHUNK)
    records: Iterator[dict[str, Any]] = (
        {
            "id": s["id"],
            "name": s["name"],
            "items": s["items"],
            "items_named": names.listed(s["items"], names.item),
            "examination_certificate_no": s["examination_certificate_no"],
            "examination_valid_until": s["examination_valid_until"],
            "examination_status": zh(expiry_labels[expiry(s["examination_valid_until"], today, warning)]),
            "calibrated_by": s["calibrated_by"],
            "calibration_certificate_no": s["calibration_certificate_no"],
            "calibration_due": s["calibration_due"],
            "calibration_status": zh(expiry_labels[expiry(s["calibration_due"], today, warning)]),
            "uncertainty": _uncertainty(s["uncertainty"]),
        }
        for s in found
    )
    columns = (
        ("name", zh(N_("Standard"))),
        ("items_named", zh(N_("Items served"))),
        ("examination_certificate_no", zh(N_("Examination certificate"))),
        ("examination_valid_until", zh(N_("Examination certificate valid until"))),
        ("examination_status", zh(N_("Examination certificate status"))),
        ("calibrated_by", zh(N_("Calibrated by"))),
        ("calibration_certificate_no", zh(N_("Calibration certificate number"))),
        ("calibration_due", zh(N_("Calibration valid until"))),
        ("calibration_status", zh(N_("Calibration status"))),
        ("uncertainty", zh(N_("Uncertainty"))),
    )
    return Report("standards", zh(N_("Measurement standards")), columns, records)


def staff_report(
    conn: Connection,
    actor: Actor,
    today: date,
    warning: timedelta,
    expiry_labels: dict[str, str],
    search: str = "",
) -> Report:
    """Every person the staff page finds for its search, in its order, with their roles by name and
    their qualifications in a line each: item, certificate number, dates and standing in words."""
    from .lab import expiry  # the page's own rule (web/lab.py imports this module)

    names = Names(LANG)
    found = every_row(lambda at: staff_page(conn, actor, at, search), downloads.CHUNK)

    def held(q: dict[str, Any]) -> str:
        standing = zh(expiry_labels[expiry(q["valid_until"], today, warning)])
        return (
            f"{names.item(q['item_code'])} {q['certificate_no']} {q['valid_from']} – {q['valid_until']}（{standing}）"
        )

    records: Iterator[dict[str, Any]] = (
        {
            "id": p["id"],
            "display_name": p["display_name"],
            "username": p["username"],
            "roles": p["roles"],
            "roles_named": names.listed(p["roles"].split(), names.role),
            "qualifications": "；".join(held(q) for q in p["qualifications"]),
        }
        for p in found
    )
    columns = (
        ("display_name", zh(N_("Name"))),
        ("username", zh(N_("Username"))),
        ("roles_named", zh(N_("Roles"))),
        ("qualifications", zh(N_("Qualifications"))),
    )
    return Report("staff", zh(N_("Staff qualifications")), columns, records)
