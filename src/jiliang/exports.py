"""A table (headers and rows, however many) written as a spreadsheet a clerk opens: CSV (UTF-8 with a
BOM so Excel reads the Chinese, RFC 4180 quoting) or XLSX (openpyxl's write-only mode, so a long list
streams to the file without a workbook held in memory: real dates and numbers, a bold frozen header
row, a sheet title). A text cell that a spreadsheet would run as a formula (starting with = + - @, a
tab or a carriage return) is written with a leading ' (CSV/formula injection, OWASP)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .errors import InvalidInput
from .platform import SHANGHAI

__all__ = [
    "Cell",
    "ExportFormat",
    "ExportTable",
    "FORMATS",
    "XLSX_MAX_ROWS",
    "TooManyRows",
    "Percent",
    "safe_text",
    "write_csv",
    "write_xlsx",
    "write_table",
]

XLSX_MAX_ROWS = 1_048_576  # an Excel sheet's rows, the header row included
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
ExportFormat = Literal["csv", "xlsx"]
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True, slots=True)
class Percent:
    """A share (0–1) shown as a percentage with one decimal: a number in XLSX, "99.9 %" in CSV."""

    value: float


Cell = str | int | float | Decimal | date | datetime | Percent | None


@dataclass(frozen=True, slots=True)
class ExportTable:
    """What is exported: the sheet's title, the column headers (already in the reader's language) and
    the rows, each a sequence of cells in the headers' order (an iterator is read once, as written)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Cell]]


class TooManyRows(InvalidInput):
    """A list longer than an Excel sheet holds."""

    def __init__(self) -> None:
        super().__init__(
            f"列表超过 Excel 工作表的行数上限（{XLSX_MAX_ROWS:,} 行），请改为导出 CSV，或先按区、项目筛选 / "
            f"the list has more rows than an Excel sheet holds ({XLSX_MAX_ROWS:,}): export CSV instead, "
            "or filter by district or item first",
            rule="export_rows",
        )


def safe_text(text: str) -> str:
    """`text` as a spreadsheet shows it but never runs it: a leading ' before = + - @ (a formula)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _local(moment: datetime) -> datetime:
    """A stored time as Shanghai wall-clock time without a zone (spreadsheets hold no zones)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, Percent):
        tenths = int(value.value * 1000)
        return f"{tenths // 10}.{tenths % 10} %"
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(table: ExportTable, out: IO[bytes]) -> int:
    """The table as CSV into `out` (a binary file); the number of rows written, the header's not counted."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, dialect="excel", lineterminator="\r\n")  # RFC 4180: CRLF, "" doubled
    writer.writerow([safe_text(h) for h in table.headers])
    written = 0
    for row in table.rows:
        writer.writerow([_csv_cell(v) for v in row])
        written += 1
    text.flush()
    text.detach()  # leave `out` open for the caller
    return written


def _sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of []:*?/\\."""
    return (title.translate(_SHEET_FORBIDDEN).strip("'") or "Sheet")[:31]


def write_xlsx(table: ExportTable, out: IO[bytes]) -> int:
    """The table as one sheet of an XLSX workbook into `out`; the number of rows written. TooManyRows
    (nothing usable written) past an Excel sheet's rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(table.title))
    sheet.freeze_panes = "A2"
    for i, header in enumerate(table.headers):
        sheet.column_dimensions[get_column_letter(i + 1)].width = max(10, min(40, 2 * len(header) + 4))
    bold = Font(bold=True)

    def cell(value: Cell) -> WriteOnlyCell | Cell:
        if isinstance(value, str):
            c = WriteOnlyCell(sheet, value=safe_text(value))
            c.data_type = "s"  # text, never a formula
            return c
        if isinstance(value, Percent):
            c = WriteOnlyCell(sheet, value=int(value.value * 1000) / 1000)
            c.number_format = "0.0%"
            return c
        if isinstance(value, datetime):
            c = WriteOnlyCell(sheet, value=_local(value))
            c.number_format = "yyyy-mm-dd hh:mm:ss"
            return c
        if isinstance(value, date):
            c = WriteOnlyCell(sheet, value=value)
            c.number_format = "yyyy-mm-dd"
            return c
        return value

    header_cells = []
    for h in table.headers:
        c = WriteOnlyCell(sheet, value=h)
        c.data_type, c.font = "s", bold
        header_cells.append(c)
    sheet.append(header_cells)
    written = 0
    for row in table.rows:
        if written + 1 >= XLSX_MAX_ROWS:
            sheet.close()  # end the sheet's stream and remove its temporary file: nothing is saved
            sheet._writer.cleanup()
            raise TooManyRows()
        sheet.append([cell(v) for v in row])
        written += 1
    book.save(out)
    return written


def write_table(table: ExportTable, fmt: str, out: IO[bytes]) -> int:
    """The table in `fmt` (csv or xlsx) into `out`; the number of rows written."""
    if fmt == "csv":
        return write_csv(table, out)
    if fmt == "xlsx":
        return write_xlsx(table, out)
    raise InvalidInput(f"导出格式应为 csv 或 xlsx：{fmt[:10]} / the export format is csv or xlsx: {fmt[:10]}")
