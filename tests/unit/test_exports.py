"""Tables written as CSV and XLSX (jiliang.exports): RFC 4180 quoting with a BOM, formula cells defused,
real dates and numbers in XLSX under a bold frozen header, and a list too long for a sheet refused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import openpyxl
import pytest

from jiliang import exports
from jiliang.exports import ExportTable, Percent, TooManyRows, write_csv, write_xlsx


def table(rows: list[list[exports.Cell]]) -> ExportTable:
    return ExportTable("未覆盖 [器具]", ["名称", "数量", "日期", "覆盖率"], iter(rows))


def test_csv_quotes_as_rfc_4180_with_a_bom_and_defuses_formulas() -> None:
    out = io.BytesIO()
    rows = [['a,"b"\nc', 3, date(2025, 1, 2), Percent(0.9996)], ["=1+2", None, None, None], ["-x", -4, None, None]]
    assert write_csv(table(rows), out) == 3
    raw = out.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    read = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert read == [
        ["名称", "数量", "日期", "覆盖率"],
        ['a,"b"\nc', "3", "2025-01-02", "99.9 %"],
        ["'=1+2", "", "", ""],
        ["'-x", "-4", "", ""],
    ]


def test_xlsx_has_real_dates_and_numbers_under_a_bold_frozen_header() -> None:
    out = io.BytesIO()
    moment = datetime(2025, 1, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 January in Shanghai
    write_xlsx(table([["@SUM(A1)", 7, moment, Percent(0.5)]]), out)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    assert sheet.title == "未覆盖 _器具_" and sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert [c.value for c in sheet[2]] == ["'@SUM(A1)", 7, datetime(2025, 1, 2, 0, 30), 0.5]
    assert sheet["D2"].number_format == "0.0%" and sheet["C2"].is_date


def test_a_list_longer_than_a_sheet_is_refused_with_a_hint_to_export_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    write_xlsx(table([["a", 1, None, None]] * 2), io.BytesIO())
    with pytest.raises(TooManyRows) as refused:
        write_xlsx(table([["a", 1, None, None]] * 3), io.BytesIO())
    assert "CSV" in str(refused.value) and "Excel" in str(refused.value)
