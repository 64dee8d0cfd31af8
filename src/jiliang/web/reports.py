"""The regulator's tables as reports: coverage by district × item, the instruments not covered, and the
certificates issued per institution per month — each as records holding codes and names (what
`jiliang report --format json` prints) and as the columns a person reads, headed in Chinese from the
pages' catalogue (what the pages' Excel and CSV exports and `jiliang report` tables show). Scoped by
the actor's jurisdiction as the pages are; names, never codes, in the columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ..auth import Actor
from ..errors import Forbidden, InvalidInput
from ..exports import Cell, ExportTable, Percent
from ..registry.access import supervised_jurisdiction
from ..registry.directory import list_districts
from ..supervision import CoverageCount, certificates_per_month, coverage
from ..supervision.overdue import every_overdue
from .i18n import N_, translations
from .supervision_views import UNCOVERED_LABELS, month_label
from .vocabulary import Names

__all__ = ["Report", "REPORTS", "coverage_report", "overdue_report", "certificates_report", "zh"]

LANG = "zh-CN"  # exports are headed and named in Chinese, whatever the page's language


def zh(message: str) -> str:
    """A page text's Chinese (the pages' catalogue)."""
    return str(translations(LANG).gettext(message))


@dataclass(frozen=True, slots=True)
class Report:
    """`columns`: (record key, Chinese header) of what a person reads; `records`: dicts with those keys
    and the codes beside the names (read once, as written)."""

    name: str  # coverage | overdue | certificates: the ASCII file name's stem
    title: str  # Chinese: the sheet's title and the file name's stem
    columns: tuple[tuple[str, str], ...]
    records: Iterable[dict[str, Any]]

    def table(self) -> ExportTable:
        keys = [k for k, _ in self.columns]
        rows: Iterator[list[Cell]] = ([r.get(k) for k in keys] for r in self.records)
        return ExportTable(self.title, [h for _, h in self.columns], rows)


def _district_checked(conn: Connection, actor: Actor, district: str | None) -> dict[str, str]:
    """The district names by code; a district that does not exist is refused, one outside the actor's
    jurisdiction Forbidden, as on the overdue page."""
    scope = supervised_jurisdiction(conn, actor)
    names = {d.code: d.name_zh for d in list_districts(conn)}
    if district is not None:
        if district not in names:
            raise InvalidInput(f"没有这个区：{district[:20]} / no such district: {district[:20]}", rule="district")
        if not scope.reaches_district(district):
            raise Forbidden(
                f"无权查看辖区外的区 {district} / district {district} is outside your jurisdiction", rule="jurisdiction"
            )
    return names


def _item_checked(names: Names, item: str | None) -> None:
    if item is not None and names.item(item) == item:
        raise InvalidInput(f"没有这个目录项目：{item[:40]} / no such catalogue item: {item[:40]}", rule="item")


_COUNTS = ("eligible", "covered", "overdue", "never_verified", "barred", "no_valid_date")


def coverage_report(
    conn: Connection, actor: Actor, today: date, district: str | None = None, item: str | None = None
) -> Report:
    """One row per district and item with instruments (as the page's grid), then each district's and
    each item's totals and the jurisdiction's, as far as the filters leave them; the period-unknown
    instruments in a column of their own (they are in no share)."""
    names = Names(LANG)
    district_names = _district_checked(conn, actor, district)
    _item_checked(names, item)
    table = coverage(conn, actor, today)
    unknown: dict[tuple[str | None, str | None], int] = {
        (u.district_code, u.item_code): u.instruments for u in table.unknown_period
    }
    cells: dict[tuple[str | None, str | None], CoverageCount] = {(c.district_code, c.item_code): c for c in table.cells}
    pairs = sorted(set(cells) | set(unknown), key=lambda p: (p[0] or "", p[1] or ""))

    def record(count: CoverageCount, unknown_period: int) -> dict[str, Any]:
        d, i = count.district_code, count.item_code
        share = count.covered / count.eligible if count.eligible else None
        return {
            "district_code": d,
            "district_name": district_names.get(d, d) if d else zh(N_("All districts")),
            "item_code": i,
            "item_name": names.item(i) if i else zh(N_("All items")),
            **{k: getattr(count, k) for k in _COUNTS},
            "share": Percent(share) if share is not None else None,
            "period_unknown": unknown_period,
        }

    def kept(d: str | None, i: str | None) -> bool:
        return (district is None or d == district) and (item is None or i == item)

    def records() -> Iterator[dict[str, Any]]:
        for d, i in pairs:
            if kept(d, i):
                yield record(cells.get((d, i)) or CoverageCount(d, i), unknown.get((d, i), 0))
        if item is None:
            for c in table.by_district:
                if kept(c.district_code, None):
                    yield record(c, sum(n for (d, _), n in unknown.items() if d == c.district_code))
        if district is None:
            for c in table.by_item:
                if kept(None, c.item_code):
                    yield record(c, sum(n for (_, i), n in unknown.items() if i == c.item_code))
            if item is None:
                yield record(table.total, sum(unknown.values()))

    columns = (
        ("district_name", zh(N_("District"))),
        ("item_name", zh(N_("Catalogue item"))),
        ("eligible", zh(N_("Counted"))),
        ("covered", zh(N_("Covered"))),
        ("share", zh(N_("Share covered"))),
        ("overdue", zh(UNCOVERED_LABELS["overdue"])),
        ("never_verified", zh(UNCOVERED_LABELS["never_verified"])),
        ("barred", zh(UNCOVERED_LABELS["barred"])),
        ("no_valid_date", zh(UNCOVERED_LABELS["no_valid_date"])),
        ("period_unknown", zh(N_("Period unknown"))),
    )
    return Report("coverage", zh(N_("Coverage of mandatory verification")), columns, records())


def overdue_report(
    conn: Connection,
    actor: Actor,
    today: date,
    district: str | None = None,
    item: str | None = None,
    search: str = "",
) -> Report:
    """Every instrument the overdue page lists for these filters and search, in its order (read by
    key, a chunk a statement)."""
    names = Names(LANG)
    _district_checked(conn, actor, district)
    _item_checked(names, item)
    found = every_overdue(conn, actor, today, district=district, item=item, search=search)
    records = (
        {
            "instrument_id": r.instrument_id,
            "status": r.status,
            "status_name": zh(UNCOVERED_LABELS[r.status]),
            "name": r.name,
            "manufacturer": r.manufacturer,
            "model": r.model,
            "owner_id": r.owner_id,
            "owner_name": r.owner_name,
            "district_code": r.district_code,
            "district_name": r.district_name_zh,
            "item_code": r.item_code,
            "item_name": names.item(r.item_code),
            "type_name": names.type(r.type_name_zh, r.type_name_en),
            "serial_no": r.serial_no,
            "last_verified_on": r.last_verified_on,
            "due_on": r.due_on,
            "days_overdue": r.days_overdue,
        }
        for r in found
    )
    columns = (
        ("status_name", zh(N_("Status"))),
        ("name", zh(N_("Instrument name"))),
        ("manufacturer", zh(N_("Manufacturer"))),
        ("model", zh(N_("Model"))),
        ("owner_name", zh(N_("Owner"))),
        ("district_name", zh(N_("District"))),
        ("item_name", zh(N_("Catalogue item"))),
        ("type_name", zh(N_("Instrument type"))),
        ("serial_no", zh(N_("Serial number"))),
        ("last_verified_on", zh(N_("Last verified"))),
        ("due_on", zh(N_("Due"))),
        ("days_overdue", zh(N_("Days overdue"))),
    )
    return Report("overdue", zh(N_("Instruments not covered")), columns, records)


def certificates_report(
    conn: Connection, actor: Actor, today: date, months: int = 12, district: str | None = None
) -> Report:
    """Certificates issued per institution (one row each) and month (one column each), with each
    institution's total and a last row for all institutions, as the page's table."""
    _district_checked(conn, actor, district)
    series = certificates_per_month(conn, actor, today, months=months, district=district)
    keys = [m.strftime("%Y-%m") for m in series.months]
    records: list[dict[str, Any]] = [
        {"institution_code": s.code, "institution_name": s.name_zh, **dict(zip(keys, s.counts, strict=True))}
        | {"total": s.total}
        for s in series.institutions
    ]
    records.append(
        {"institution_code": None, "institution_name": zh(N_("All institutions"))}
        | dict(zip(keys, series.totals, strict=True))
        | {"total": series.total}
    )
    columns = (
        ("institution_name", zh(N_("Institution"))),
        *((k, month_label(m, LANG)) for k, m in zip(keys, series.months, strict=True)),
        ("total", zh(N_("Total"))),
    )
    return Report("certificates", zh(N_("Certificates per month")), columns, records)


REPORTS = ("coverage", "overdue", "certificates")
