"""What the supervision pages show, worked out from the dashboard queries' answers: the coverage grid
(each cell's colour class, percentage and drill-down link), the colour legend, the labels of the
not-covered statuses, month labels and the certificate chart's data. Pure: no database, no request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date

from ..supervision import CertificateSeries, CoverageCount, CoverageTable, District, ItemName
from .i18n import N_

__all__ = [
    "UNCOVERED_LABELS",
    "LEGEND",
    "GridCell",
    "GridRow",
    "CoverageGrid",
    "cov_class",
    "percent",
    "overdue_href",
    "coverage_grid",
    "district_name",
    "month_label",
    "month_heading",
    "chart_data",
    "PALETTE",
]

# why an instrument is not covered (supervision.UncoveredStatus), as its badge says it
UNCOVERED_LABELS = {
    "overdue": N_("Overdue"),
    "never_verified": N_("Never verified"),
    "barred": N_("Barred from use"),
    "no_valid_date": N_("No valid date"),
}

# the colour scale: class and the shares it stands for (cov-N: N tenths covered, floor)
LEGEND = tuple((f"cov-{n}", f"{10 * n}–{10 * n + 9} %") for n in range(10)) + (("cov-10", "100 %"),)


def cov_class(count: CoverageCount) -> str:
    """`cov-N` with N = floor(share × 10), in integers so 7 of 10 is cov-7, not a float's cov-6;
    `cov-none` when nothing is eligible."""
    if not count.eligible:
        return "cov-none"
    return f"cov-{count.covered * 10 // count.eligible}"


def percent(count: CoverageCount) -> str:
    """The share with one decimal, rounded down (99.96 % shows as 99.9 %, never as 100 %); '—' when
    nothing is eligible."""
    if not count.eligible:
        return "—"
    tenths = count.covered * 1000 // count.eligible
    return f"{tenths // 10}.{tenths % 10} %"


def overdue_href(district: str | None = None, item: str | None = None, q: str = "") -> str:
    """The overdue list behind a figure (and its search), from its first page."""
    query = {"district": district or "", "item": item or "", "q": q}
    params = urlencode({k: v for k, v in query.items() if v})
    return "/supervision/overdue" + (f"?{params}" if params else "")


@dataclass(frozen=True, slots=True)
class GridCell:
    count: CoverageCount
    css: str
    percent: str
    href: str | None  # None when nothing is eligible: there is nothing to drill into


@dataclass(frozen=True, slots=True)
class GridRow:
    district: District
    cells: tuple[GridCell, ...]  # one per item of the grid, in its order
    total: GridCell


@dataclass(frozen=True, slots=True)
class CoverageGrid:
    items: tuple[ItemName, ...]
    rows: tuple[GridRow, ...]
    item_totals: tuple[GridCell, ...]
    total: GridCell


def _cell(count: CoverageCount) -> GridCell:
    href = overdue_href(count.district_code, count.item_code) if count.eligible else None
    return GridCell(count, cov_class(count), percent(count), href)


def coverage_grid(table: CoverageTable) -> CoverageGrid:
    """The district × item grid of a CoverageTable, empty pairs filled with zero counts. An item with
    no eligible instrument anywhere (all of its instruments have an unknown period) gets no column:
    it would be empty, and the page lists such instruments apart."""
    cells = {(c.district_code, c.item_code): c for c in table.cells}
    by_district = {c.district_code: c for c in table.by_district}
    columns = [(it, total) for it, total in zip(table.items, table.by_item, strict=True) if total.eligible]
    rows = tuple(
        GridRow(
            district=d,
            cells=tuple(_cell(cells.get((d.code, it.code)) or CoverageCount(d.code, it.code)) for it, _ in columns),
            total=_cell(by_district.get(d.code) or CoverageCount(d.code, None)),
        )
        for d in table.districts
    )
    return CoverageGrid(
        items=tuple(it for it, _ in columns),
        rows=rows,
        item_totals=tuple(_cell(total) for _, total in columns),
        total=_cell(table.total),
    )


def district_name(district: District, lang: str) -> str:
    return district.name_zh if lang == "zh-CN" else district.name_en


def month_label(month: date, lang: str) -> str:
    """A calendar month as the page's language writes it: 2025年3月, Mar 2025."""
    if lang == "zh-CN":
        return f"{month.year}年{month.month}月"
    return format_date(month, "MMM y", locale="en")


def month_heading(month: date, lang: str) -> tuple[str, str]:
    """A month as a table's two-line column heading: (2025年, 3月), (Mar, 2025)."""
    if lang == "zh-CN":
        return f"{month.year}年", f"{month.month}月"
    return format_date(month, "MMM", locale="en"), str(month.year)


# Kelly's colours of maximum contrast (Color Eng. 3(6), 1965) without white, black and grey: twenty
# hues told apart side by side, in his order (the first ones differ most); "others" is the grey
PALETTE = (
    *("#f3c300", "#875692", "#f38400", "#a1caf1", "#be0032", "#c2b280", "#008856", "#e68fac", "#0067a5"),
    *("#f99379", "#604e97", "#f6a600", "#b3446c", "#dcd300", "#882d17", "#8db600", "#654522", "#e25822"),
    *("#2b3d26", "#1f9e89"),
)
OTHERS_COLOUR = "#9e9e9e"


def chart_data(series: CertificateSeries, lang: str, gettext: Callable[[str], str]) -> dict[str, Any]:
    """What static/supervision-charts.js draws: one stacked bar series per institution, each in its own
    colour, and the axis names in the page's language. Past len(PALETTE) institutions, the smallest
    (fewest certificates in the window) are drawn together as one grey "other institutions" series; the
    table below the chart still lists each."""
    shown, rest = list(series.institutions), []
    if len(shown) > len(PALETTE):
        largest = set(sorted(shown, key=lambda s: -s.total)[: len(PALETTE) - 1])
        shown, rest = [s for s in shown if s in largest], [s for s in shown if s not in largest]
    bars = [
        {"name": s.name_zh if lang == "zh-CN" else s.name_en, "code": s.code, "data": list(s.counts), "color": colour}
        for s, colour in zip(shown, PALETTE, strict=False)
    ]
    if rest:
        summed = [sum(month) for month in zip(*(s.counts for s in rest), strict=True)]
        name = gettext(N_("Other institutions (%(n)s)")) % {"n": len(rest)}
        bars.append({"name": name, "code": "", "data": summed, "color": OTHERS_COLOUR})
    return {
        "months": [month_label(m, lang) for m in series.months],
        "series": bars,
        "xName": gettext(N_("Month")),
        "yName": gettext(N_("Certificates issued")),
    }
