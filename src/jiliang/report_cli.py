"""`jiliang report coverage|overdue|certificates`: the regulator's tables for the whole city or one
district (and one catalogue item), run as the administrator on the server — an aligned table on the
terminal, CSV, XLSX or JSON (codes and names)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .cli_support import fail, platform_and_admin
from .errors import JiliangError
from .exports import Percent, write_table
from .platform import shanghai_today

__all__ = ["report_command", "FORMATS"]

FORMATS = ("table", "csv", "xlsx", "json")


def _json_value(value: Any) -> Any:
    if isinstance(value, Percent):
        return round(value.value, 6)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        tenths = int(value.value * 1000)
        return f"{tenths // 10}.{tenths % 10} %"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _code_of(given: str | None, names: dict[str, str]) -> str | None:
    """A district or item given by its code or by its Chinese name, as its code."""
    if given is None:
        return None
    given = given.strip()
    return next((code for code, name in names.items() if given == name), given)


def report_command(
    what: Annotated[str, typer.Argument(help="coverage | overdue | certificates", show_default=False)],
    district: Annotated[
        str | None, typer.Option("--district", help="区代码或区名 / district code or name (default: the whole city)")
    ] = None,
    item: Annotated[
        str | None, typer.Option("--item", help="强检目录项目代码或名称 / catalogue item code or name")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | xlsx | json")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="写入文件 / write to this file")] = None,
    months: Annotated[int, typer.Option("--months", help="证书统计月数 / months of the certificates report")] = 12,
) -> None:
    """监管报表 / a supervision report: coverage, instruments not covered, certificates per month."""
    from .registry.directory import list_districts
    from .web.reports import REPORTS, certificates_report, coverage_report, overdue_report

    if what not in REPORTS:
        fail(f"报表应为 {' | '.join(REPORTS)}：{what} / the report is one of {', '.join(REPORTS)}: {what}")
    if fmt not in FORMATS:
        fail(f"格式应为 {' | '.join(FORMATS)}：{fmt} / the format is one of {', '.join(FORMATS)}: {fmt}")
    if fmt == "xlsx" and output is None:
        fail("xlsx 需要 --output 文件 / xlsx needs --output FILE")
    if what == "certificates" and item is not None:
        fail("证书报表不按项目筛选 / the certificates report has no --item")
    platform, admin = platform_and_admin()
    today = shanghai_today()
    try:
        with platform.engine.connect() as conn:
            district_code = _code_of(district, {d.code: d.name_zh for d in list_districts(conn)})
            item_code = _code_of(item, _item_names())
            if what == "coverage":
                report = coverage_report(conn, admin, today, district=district_code, item=item_code)
            elif what == "overdue":
                report = overdue_report(conn, admin, today, district=district_code, item=item_code)
            else:
                report = certificates_report(conn, admin, today, months=months, district=district_code)
            _write(report, fmt, output)
    except JiliangError as e:
        fail(str(e))


def _item_names() -> dict[str, str]:
    from .registry.catalogue import load_catalogue

    return {i.code: i.name_zh for i in load_catalogue().items}


def _write(report: Any, fmt: str, output: Path | None) -> None:
    if fmt in ("csv", "xlsx"):
        if output is None:
            write_table(report.table(), fmt, sys.stdout.buffer)
            sys.stdout.flush()
            return
        with output.open("wb") as f:
            rows = write_table(report.table(), fmt, f)
        Console(stderr=True).print(f"{report.title}: {rows} 行 / rows → {output}")
        return
    if fmt == "json":
        document = {
            "report": report.name,
            "title": report.title,
            "columns": [{"key": k, "header": h} for k, h in report.columns],
            "rows": [{k: _json_value(v) for k, v in r.items()} for r in report.records],
        }
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
        return
    table = Table(title=report.title)
    for _, header in report.columns:
        table.add_column(header, overflow="fold")
    keys = [k for k, _ in report.columns]
    for r in report.records:
        table.add_row(*(_text(r.get(k)) for k in keys))
    if output is None:
        Console(width=None if sys.stdout.isatty() else 240).print(table)
    else:
        with output.open("w", encoding="utf-8") as f:
            Console(file=f, width=200).print(table)
