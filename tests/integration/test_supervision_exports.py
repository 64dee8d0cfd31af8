"""The regulator's tables exported to Excel and CSV from the pages, and `jiliang report`, on the small city
of tests/support/supervision_pages.py (its figures are counted by hand in test_web_supervision.py):
every row the page's filters and search find (not only a page), Chinese headers, names where the data
holds codes, the jurisdiction as on the page, formula cells defused.

The instruments not covered, by hand: Xuhui fd_late (overdue), fd_new, wm_new (never verified),
fd_fail (barred), fd_rev (no valid date); Huangpu fd_b3 (never verified); 6 in all. fd_new's name is
changed to a formula before any test reads it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from jiliang.certificates.tables import certificates
from jiliang.cli import app
from jiliang.platform import Platform
from jiliang.registry.tables import instruments
from jiliang.supervision.overdue import every_overdue, overdue
from tests.support.supervision_pages import (
    HUANGPU,
    PUDONG,
    XUHUI,
    City,
    build_city,
    client_as,
    elements,
    module_platform,
    overdue_rows,
)

FORMULA = '=HYPERLINK("http://example.com","x")'
OVERDUE_HEADERS = [
    "状态",
    "器具名称",
    "制造商",
    "型号",
    "使用单位",
    "所在区",
    "强检目录项目",
    "器具型式",
    "出厂编号",
    "上次检定",
    "有效期至",
    "超期天数",
]
NOT_COVERED = {
    "fd_late": "已逾期",
    "fd_new": "未经检定",
    "fd_fail": "禁止使用",
    "fd_rev": "无有效日期",
    "wm_new": "未经检定",
    "fd_b3": "未经检定",
}
CODES = {XUHUI, HUANGPU, PUDONG, "fuel_dispenser", "water_meter", "overdue", "never_verified", "barred"}


@pytest.fixture(scope="module")
def platform(template, tmp_path_factory) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    with module_platform(template, tmp_path_factory.mktemp("supervision-exports")) as p:
        yield p


@pytest.fixture(scope="module")
def city(platform: Platform) -> City:
    built = build_city(platform)
    with platform.engine.begin() as conn:
        conn.execute(update(instruments).where(instruments.c.id == built.ids["fd_new"]).values(name=FORMULA))
    return built


@pytest.fixture
def city_reg(platform: Platform, city: City) -> Iterator[TestClient]:
    with client_as(platform, city.city_regulator) as c:
        yield c


@pytest.fixture
def xuhui_reg(platform: Platform, city: City) -> Iterator[TestClient]:
    with client_as(platform, city.xuhui_regulator) as c:
        yield c


def xlsx_rows(content: bytes) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would not read the Chinese"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def serials(platform: Platform, city: City, keys: set[str]) -> set[str]:
    """The serial numbers of the instruments `keys`, read from the database."""
    with platform.engine.connect() as conn:
        ids = [city.ids[k] for k in keys]
        return set(conn.execute(select(instruments.c.serial_no).where(instruments.c.id.in_(ids))).scalars())


def by_serial(rows: list[list[object]]) -> dict[str, list[object]]:
    return {str(r[8]): r for r in rows}


# ------------------------------------------------------------------ overdue list


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_overdue_export_holds_every_instrument_not_covered_with_names_not_codes(
    platform: Platform, city: City, city_reg: TestClient, fmt: str
) -> None:
    r = city_reg.get(f"/supervision/overdue/export.{fmt}")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f".{fmt}" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith("未覆盖的器具_")
    rows = xlsx_rows(r.content) if fmt == "xlsx" else csv_rows(r.content)
    assert rows[0] == OVERDUE_HEADERS
    body = rows[1:]
    assert len(body) == len(NOT_COVERED)
    found = by_serial(body)
    assert set(found) == serials(platform, city, set(NOT_COVERED))
    for key, status in NOT_COVERED.items():
        [serial] = serials(platform, city, {key})
        assert found[serial][0] == status
    assert {r[5] for r in body} == {"徐汇区", "黄浦区"}
    assert {r[6] for r in body} == {"燃油加油机", "水表"}
    assert not CODES & {str(c) for row in body for c in row}
    # the page's order: the most overdue first
    [late] = serials(platform, city, {"fd_late"})
    assert body[0][8] == late and int(str(body[0][11])) > 0


def test_dates_and_numbers_are_real_cells_in_excel(city_reg: TestClient, city: City) -> None:
    rows = xlsx_rows(city_reg.get("/supervision/overdue/export.xlsx").content)
    late = rows[1]
    assert late[10] is not None and late[10].date() < city.today  # type: ignore[union-attr]
    assert isinstance(late[11], int) and late[11] == (city.today - late[10].date()).days  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_formula_in_a_cell_is_written_as_text_never_run(city_reg: TestClient, fmt: str) -> None:
    content = city_reg.get(f"/supervision/overdue/export.{fmt}").content
    rows = xlsx_rows(content) if fmt == "xlsx" else csv_rows(content)
    names = [r[1] for r in rows[1:]]
    assert "'" + FORMULA in names and FORMULA not in names
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(content))
        assert all(c.data_type != "f" for row in book.worksheets[0].iter_rows() for c in row)


def test_the_export_follows_the_pages_filters_and_search_not_its_page(
    platform: Platform, city: City, city_reg: TestClient
) -> None:
    rows = csv_rows(city_reg.get("/supervision/overdue/export.csv", params={"district": HUANGPU}).content)
    assert [r[8] for r in rows[1:]] == sorted(serials(platform, city, {"fd_b3"}))
    rows = csv_rows(city_reg.get("/supervision/overdue/export.csv", params={"item": "water_meter"}).content)
    assert {r[8] for r in rows[1:]} == serials(platform, city, {"wm_new"})
    [serial] = serials(platform, city, {"fd_rev"})
    rows = csv_rows(city_reg.get("/supervision/overdue/export.csv", params={"q": serial}).content)
    assert [r[8] for r in rows[1:]] == [serial]
    # the page shows the links with the filters it has
    [b3] = serials(platform, city, {"fd_b3"})
    page = city_reg.get("/supervision/overdue", params={"district": HUANGPU, "q": b3}).text
    hrefs = {e.attrs["data-export"]: e.attrs["href"] for e in elements(page, "data-export")}
    assert hrefs == {
        "xlsx": f"/supervision/overdue/export.xlsx?district={HUANGPU}&q={b3}",
        "csv": f"/supervision/overdue/export.csv?district={HUANGPU}&q={b3}",
    }
    assert "导出 Excel" in page and "导出 CSV" in page


def test_the_export_lists_the_same_rows_as_the_pages_of_the_list(city_reg: TestClient) -> None:
    page_ids = [i for i, _ in overdue_rows(city_reg.get("/supervision/overdue").text)]
    rows = csv_rows(city_reg.get("/supervision/overdue/export.csv").content)
    assert len(rows) - 1 == len(page_ids)


def test_the_list_read_by_key_in_small_chunks_is_the_whole_list_in_order(platform: Platform, city: City) -> None:
    with platform.engine.connect() as conn:
        whole = overdue(conn, city.city_regulator, city.today, limit=1000)
        chunked = list(every_overdue(conn, city.city_regulator, city.today, chunk=2))
    assert [r.instrument_id for r in chunked] == [r.instrument_id for r in whole]
    assert len(chunked) == len(NOT_COVERED)


def test_a_district_regulator_exports_its_district_only_and_is_refused_another(
    platform: Platform, city: City, xuhui_reg: TestClient
) -> None:
    rows = csv_rows(xuhui_reg.get("/supervision/overdue/export.csv").content)
    assert {r[8] for r in rows[1:]} == serials(platform, city, {k for k in NOT_COVERED if k != "fd_b3"})
    assert {r[5] for r in rows[1:]} == {"徐汇区"}
    for fmt in ("csv", "xlsx"):
        r = xuhui_reg.get(f"/supervision/overdue/export.{fmt}", params={"district": HUANGPU})
        assert r.status_code == 403 and "辖区" in r.text
        assert xuhui_reg.get("/supervision/overdue", params={"district": HUANGPU}).status_code == 403
    coverage = csv_rows(xuhui_reg.get("/supervision/coverage/export.csv").content)
    assert {r[0] for r in coverage[1:]} <= {"徐汇区", "全部区"}


def test_exports_are_for_those_who_may_read_the_page(platform: Platform, city: City) -> None:
    with client_as(platform, city.verifier) as verifier:
        for path in ("coverage", "overdue", "certificates"):
            assert verifier.get(f"/supervision/{path}/export.csv").status_code == 403
    with TestClient(create_app_for(platform)) as anonymous:
        r = anonymous.get("/supervision/overdue/export.xlsx", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with client_as(platform, city.city_regulator) as c:
        assert c.get("/supervision/overdue/export.pdf").status_code in (404, 422)
        assert "/export" not in c.get("/openapi.json").text


def create_app_for(platform: Platform):  # type: ignore[no-untyped-def]
    from jiliang.api import create_app

    return create_app(platform)


# ------------------------------------------------------------------ coverage and certificates


def test_the_coverage_export_has_the_figures_of_the_table(city_reg: TestClient) -> None:
    rows = xlsx_rows(city_reg.get("/supervision/coverage/export.xlsx").content)
    assert rows[0] == [
        "所在区",
        "强检目录项目",
        "应检数",
        "已覆盖",
        "覆盖率",
        "已逾期",
        "未经检定",
        "禁止使用",
        "无有效日期",
        "周期未知",
    ]
    figures = {(r[0], r[1]): r[2:] for r in rows[1:]}
    assert figures[("徐汇区", "燃油加油机")] == [5, 1, 0.2, 1, 1, 1, 1, 0]
    assert figures[("徐汇区", "水表")] == [2, 1, 0.5, 0, 1, 0, 0, 0]
    assert figures[("黄浦区", "燃油加油机")][:3] == [3, 2, 0.666]
    assert figures[("浦东新区", "燃油加油机")][:3] == [1, 1, 1.0]
    assert figures[("徐汇区", "全部项目")][:3] == [7, 2, 0.285]
    assert figures[("全部区", "燃油加油机")][:2] == [9, 4]
    assert figures[("全部区", "全部项目")][:2] == [11, 5]
    assert figures[("全部区", "全部项目")][-1] == 2  # the two Xuhui scales, in no share
    csv_figures = {(r[0], r[1]): r[2:5] for r in csv_rows(city_reg.get("/supervision/coverage/export.csv").content)}
    assert csv_figures[("徐汇区", "全部项目")] == ["7", "2", "28.5 %"]


def test_the_certificates_export_counts_what_was_issued(platform: Platform, city_reg: TestClient) -> None:
    rows = xlsx_rows(city_reg.get("/supervision/certificates/export.xlsx").content)
    assert rows[0][0] == "签发机构" and rows[0][-1] == "合计" and len(rows[0]) == 14
    assert str(rows[0][-2]).endswith("月") and "年" in str(rows[0][-2])
    with platform.engine.connect() as conn:
        issued = conn.execute(select(func.count()).select_from(certificates)).scalar_one()
    assert rows[-1][0] == "全部机构" and rows[-1][-1] == issued
    assert sum(int(str(r[-1])) for r in rows[1:-1]) == issued


# ------------------------------------------------------------------ jiliang report


@pytest.fixture
def report(platform: Platform, city: City, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JILIANG_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", platform.settings.database_url)
    monkeypatch.delenv("JILIANG_PROCEDURES_DIR", raising=False)
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["report", *args], catch_exceptions=False)

    return run


def test_report_json_gives_codes_and_names(report, platform: Platform, city: City) -> None:  # type: ignore[no-untyped-def]
    r = report("overdue", "--format", "json")
    assert r.exit_code == 0, r.output
    document = json.loads(r.output)
    rows = document["rows"]
    assert {row["serial_no"] for row in rows} == serials(platform, city, set(NOT_COVERED))
    late = rows[0]
    assert late["status"] == "overdue" and late["status_name"] == "已逾期"
    assert late["district_code"] == XUHUI and late["district_name"] == "徐汇区"
    assert late["item_code"] == "fuel_dispenser" and late["item_name"] == "燃油加油机"
    assert [c["header"] for c in document["columns"]] == OVERDUE_HEADERS


def test_report_by_district_as_a_table_csv_and_xlsx(report, platform: Platform, city: City, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = report("overdue", "--district", HUANGPU, "--format", "table")
    assert r.exit_code == 0, r.output
    [serial] = serials(platform, city, {"fd_b3"})
    assert serial in r.output and "黄浦区" in r.output and "状态" in r.output and "徐汇区" not in r.output
    out = tmp_path / "coverage.csv"
    assert report("coverage", "--district", "徐汇区", "--format", "csv", "--output", str(out)).exit_code == 0
    rows = csv_rows(out.read_bytes())
    assert rows[0][0] == "所在区" and {r[0] for r in rows[1:]} == {"徐汇区"}
    assert ["徐汇区", "全部项目", "7", "2", "28.5 %"] == rows[-1][:5]
    out = tmp_path / "certificates.xlsx"
    assert report("certificates", "--format", "xlsx", "--output", str(out)).exit_code == 0
    assert xlsx_rows(out.read_bytes())[0][0] == "签发机构"
    r = report("coverage", "--item", "water_meter", "--format", "json")
    assert {(row["district_code"], row["item_code"]) for row in json.loads(r.output)["rows"]} == {
        (XUHUI, "water_meter"),
        (None, "water_meter"),
    }


def test_report_refuses_what_it_cannot_do_with_exit_code_2(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert report("coverage", "--format", "xlsx").exit_code == 2  # xlsx needs --output
    assert report("coverage", "--format", "pdf").exit_code == 2
    assert report("inventory").exit_code == 2
    assert report("overdue", "--district", "999999").exit_code == 2
    assert report("overdue", "--item", "no_such_item").exit_code == 2
