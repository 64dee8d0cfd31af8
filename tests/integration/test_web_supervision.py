"""The regulator's dashboard pages over HTTP, logged in through the form: coverage by district × item
with its colour scale, instruments of unknown period listed apart, the not-covered list with its
filters and pages down to one instrument, certificates per institution per month, jurisdiction
(a district bureau sees its district only) and the English switch.

Every expected figure is counted by hand from the world in tests/support/supervision_pages.py:

    district  item            instruments (eligible)                      covered  share     class
    Xuhui     fuel dispenser  fd_late fd_ok fd_new fd_fail fd_rev     5   fd_ok    1  20.0 %   cov-2
    Xuhui     water meter     wm_ok wm_new                            2   wm_ok    1  50.0 %   cov-5
    Xuhui     (all items)                                             7            2  28.5 %   cov-2
    Huangpu   fuel dispenser  fd_b1 fd_b2 fd_b3                       3            2  66.6 %   cov-6
    Pudong    fuel dispenser  fd_c1                                   1            1  100.0 %  cov-10
    (all)     fuel dispenser                                          9            4  44.4 %   cov-4
    (all)     water meter                                             2            1  50.0 %   cov-5
    (all)     (all items)                                            11            5  45.4 %   cov-4

Shares are rounded down (2/7 = 28.57 % shows as 28.5 %). The two Xuhui scales have no known period
(电子计价秤): apart, 2 instruments of which 1 never verified.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.platform import Platform
from jiliang.registry.periods import add_months
from jiliang.registry.tables import instruments
from jiliang.web import supervision
from tests.support.lists import links
from tests.support.supervision_pages import (
    CHANGNING,
    HUANGPU,
    PUDONG,
    XUHUI,
    City,
    build_city,
    by_id,
    chart_of,
    client_as,
    coverage_cells,
    elements,
    module_platform,
    overdue_rows,
    safe_for_csp,
    squash,
)
from tests.support.tenancy import MISSING, hidden_like_missing


@pytest.fixture(scope="module")
def platform(template, tmp_path_factory) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    """One world for the module: the pages only read it."""
    with module_platform(template, tmp_path_factory.mktemp("supervision-web")) as p:
        yield p


@pytest.fixture(scope="module")
def city(platform: Platform) -> City:
    return build_city(platform)


@pytest.fixture
def city_reg(platform: Platform, city: City) -> Iterator[TestClient]:
    with client_as(platform, city.city_regulator) as c:
        yield c


@pytest.fixture
def xuhui_reg(platform: Platform, city: City) -> Iterator[TestClient]:
    with client_as(platform, city.xuhui_regulator) as c:
        yield c


# ------------------------------------------------------------------ coverage


def test_coverage_shows_covered_over_eligible_with_the_colour_of_each_share(city_reg: TestClient) -> None:
    r = city_reg.get("/supervision/coverage")
    assert r.status_code == 200
    cells = coverage_cells(r.text)
    assert cells[(XUHUI, "fuel_dispenser")] == ("cov-2", "1/5 20.0 %")
    assert cells[(XUHUI, "water_meter")] == ("cov-5", "1/2 50.0 %")
    assert cells[(XUHUI, "")] == ("cov-2", "2/7 28.5 %")
    assert cells[(HUANGPU, "fuel_dispenser")] == ("cov-6", "2/3 66.6 %")
    assert cells[(HUANGPU, "water_meter")] == ("cov-none", "—")
    assert cells[(PUDONG, "fuel_dispenser")] == ("cov-10", "1/1 100.0 %")
    assert cells[(CHANGNING, "")] == ("cov-none", "—")  # nothing registered there
    assert cells[("", "fuel_dispenser")] == ("cov-4", "4/9 44.4 %")
    assert cells[("", "water_meter")] == ("cov-5", "1/2 50.0 %")
    assert cells[("", "")] == ("cov-4", "5/11 45.4 %")
    # the city sees all 16 districts, and one column per item with an eligible instrument
    assert len({d for d, i in cells if d and not i}) == 16
    assert [e.attrs["data-item"] for e in elements(r.text, "data-item") if e.tag == "th"] == [
        "fuel_dispenser",
        "water_meter",
    ]
    # each figure leads to the instruments behind it
    assert 'href="/supervision/overdue?district=310104&amp;item=fuel_dispenser"' in r.text
    assert 'href="/supervision/overdue?district=310104"' in r.text
    assert 'href="/supervision/overdue?item=water_meter"' in r.text
    # the scale and the rule are explained on the page
    legend = r.text[r.text.index('id="coverage-legend"') :]
    assert all(f'class="cov-{n}"' in legend for n in range(11)) and 'class="cov-none"' in legend
    rule = by_id(r.text)["coverage-rule"]
    assert "从未检定的器具计为未覆盖" in rule and "到期更换日期之前计为已覆盖" in rule and "不计入任何覆盖率" in rule
    assert "徐汇区" in r.text and "浦东新区" in r.text
    safe_for_csp(r.text)


def test_instruments_of_unknown_period_are_listed_apart_not_in_any_share(city_reg: TestClient) -> None:
    html = city_reg.get("/supervision/coverage").text
    unknown = [e for e in elements(html, "data-item") if e.tag == "tr"]
    assert [(e.attrs["data-district"], e.attrs["data-item"]) for e in unknown] == [(XUHUI, "nawi")]
    fields = {e.attrs["data-field"]: e.text for e in elements(html, "data-field")}
    assert fields == {"instruments": "2", "never_verified": "1", "barred": "0"}
    assert not any(item == "nawi" for _, item in coverage_cells(html))


def test_a_district_regulator_sees_its_own_district_only(xuhui_reg: TestClient) -> None:
    html = xuhui_reg.get("/supervision/coverage").text
    cells = coverage_cells(html)
    assert {d for d, _ in cells} == {XUHUI, ""}
    assert cells[(XUHUI, "")] == ("cov-2", "2/7 28.5 %") and cells[("", "")] == ("cov-2", "2/7 28.5 %")
    assert "徐汇区" in html and "黄浦区" not in html and "浦东新区" not in html


def test_a_verifier_may_not_open_the_dashboard(platform: Platform, city: City) -> None:
    with client_as(platform, city.verifier) as verifier:
        for path in (
            "/supervision/coverage",
            "/supervision/overdue",
            "/supervision/certificates",
            f"/supervision/instruments/{city.ids['fd_late']}",  # the verifier's institution verified it
        ):
            r = verifier.get(path)
            assert r.status_code == 403, path
            assert "监管" in r.text and "无权访问" in r.text
    with TestClient(create_app(platform)) as anonymous:
        r = anonymous.get("/supervision/coverage", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fsupervision%2Fcoverage"


# ------------------------------------------------------------------ overdue list


def test_the_overdue_list_puts_the_most_overdue_first_with_a_badge_per_status(city_reg: TestClient, city: City) -> None:
    r = city_reg.get("/supervision/overdue")
    assert r.status_code == 200
    ids = city.ids
    assert overdue_rows(r.text) == [
        (ids["fd_late"], "overdue"),
        (ids["fd_new"], "never_verified"),
        (ids["fd_fail"], "barred"),
        (ids["fd_rev"], "no_valid_date"),
        (ids["wm_new"], "never_verified"),
        (ids["fd_b3"], "never_verified"),
    ]  # 11 eligible − 5 covered
    due = add_months(city.late_on, 6) - timedelta(days=1)  # JJG 443: 6 months, the last day included
    days = [e.text for e in elements(r.text, "data-field")]
    assert days == [str((city.today - due).days), "", "", "", "", ""]
    row = squash(elements(r.text, "data-instrument")[0].text)
    assert city.owner_names["a"] in row and "徐汇区" in row and "燃油加油机" in row
    assert f'href="/supervision/instruments/{ids["fd_late"]}"' in r.text
    assert "无有效日期" in r.text  # the revoked certificate's instrument
    safe_for_csp(r.text)


def test_the_overdue_list_filters_by_district_and_item(city_reg: TestClient, city: City) -> None:
    ids = city.ids

    def listed(query: str, **headers: str) -> list[int]:
        r = city_reg.get(f"/supervision/overdue?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [i for i, _ in overdue_rows(r.text)]

    assert listed(f"district={HUANGPU}") == [ids["fd_b3"]]
    assert listed("item=water_meter") == [ids["wm_new"]]
    assert listed(f"district={XUHUI}&item=fuel_dispenser") == [
        ids[k] for k in ("fd_late", "fd_new", "fd_fail", "fd_rev")
    ]
    assert listed(f"district={PUDONG}") == []
    # the filter form offers every district to the city, with the chosen one selected
    html = city_reg.get(f"/supervision/overdue?district={HUANGPU}").text
    options = re.findall(r'<option value="(\d{6})"', html)
    assert len(options) == 16 and f'<option value="{HUANGPU}" selected>' in html
    # the same list as a fragment for HTMX, the filter changed in place
    fragment = city_reg.get("/supervision/overdue?item=water_meter", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="overdue-results"' in fragment.text
    assert [i for i, _ in overdue_rows(fragment.text)] == [ids["wm_new"]]
    # a malformed filter is refused with a message, not ignored
    bad = city_reg.get("/supervision/overdue?district=abc")
    assert bad.status_code == 422 and "区代码应为 6 位数字" in bad.text


def test_the_overdue_list_pages_by_key(city_reg: TestClient, city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "PAGE_SIZE", 4)
    ids = city.ids
    first = city_reg.get("/supervision/overdue").text
    assert [i for i, _ in overdue_rows(first)] == [ids[k] for k in ("fd_late", "fd_new", "fd_fail", "fd_rev")]
    assert set(links(first)) == {"next", "last"} and "第 1–4 条，共 6 条" in first
    second = city_reg.get(links(first)["next"]).text
    assert [i for i, _ in overdue_rows(second)] == [ids["wm_new"], ids["fd_b3"]]
    assert set(links(second)) == {"first", "prev"} and "第 5–6 条，共 6 条" in second
    assert links(second)["first"] == "/supervision/overdue"
    back = city_reg.get(links(second)["prev"]).text
    assert overdue_rows(back) == overdue_rows(first)
    last = city_reg.get(links(first)["last"]).text  # a full page, ending with the list's last row
    assert [i for i, _ in overdue_rows(last)] == [ids[k] for k in ("fd_fail", "fd_rev", "wm_new", "fd_b3")]
    assert set(links(last)) == {"first", "prev"} and "第 3–6 条，共 6 条" in last
    filtered = city_reg.get(f"/supervision/overdue?district={XUHUI}").text
    assert [i for i, _ in overdue_rows(filtered)] == [ids[k] for k in ("fd_late", "fd_new", "fd_fail", "fd_rev")]
    assert links(filtered)["next"].startswith(f"/supervision/overdue?district={XUHUI}&after=")
    rest = city_reg.get(links(filtered)["next"]).text
    assert [i for i, _ in overdue_rows(rest)] == [ids["wm_new"]]
    assert links(rest)["prev"].startswith(f"/supervision/overdue?district={XUHUI}&before=")
    # the HTMX fragment carries the same pager
    fragment = city_reg.get(links(first)["next"], headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and [i for i, _ in overdue_rows(fragment)] == [ids["wm_new"], ids["fd_b3"]]


@pytest.mark.parametrize(
    "place",
    [
        "after=abc",
        "after=i0.d20241301.t1.i5",
        "before=i0.d20240101.i5",
        "after=i0.d20240101.t1.i99999999999",
        "after=i1&before=end",
    ],
)
def test_a_malformed_place_in_the_overdue_list_is_refused(city_reg: TestClient, place: str) -> None:
    r = city_reg.get(f"/supervision/overdue?{place}")
    assert r.status_code == 422 and "翻页位置无效" in r.text and 'data-instrument="' not in r.text


def test_the_overdue_list_searches_by_instrument_serial_number_or_owner_within_the_jurisdiction(
    platform: Platform, city_reg: TestClient, xuhui_reg: TestClient, city: City
) -> None:
    ids = city.ids
    with platform.engine.connect() as c:
        serial = dict(c.execute(select(instruments.c.id, instruments.c.serial_no)).all())

    def listed(client: TestClient, **query: str) -> list[int]:
        r = client.get("/supervision/overdue", params=query)
        assert r.status_code == 200, r.text
        return [i for i, _ in overdue_rows(r.text)]

    assert listed(city_reg, q=serial[ids["fd_late"]]) == [ids["fd_late"]]
    assert listed(city_reg, q=city.owner_names["b"]) == [ids["fd_b3"]]  # Huangpu's owner
    assert listed(city_reg, q="水表", item="water_meter") == [ids["wm_new"]]  # with a filter
    assert listed(xuhui_reg, q=serial[ids["fd_b3"]]) == []  # Huangpu's, outside Xuhui's jurisdiction
    page = city_reg.get("/supervision/overdue", params={"q": "no-such"}).text
    assert "no-such" in page.split('id="overdue-empty"', 1)[1]


def test_drill_down_to_one_instruments_history_verifications_and_certificates(city_reg: TestClient, city: City) -> None:
    r = city_reg.get(f"/supervision/instruments/{city.ids['fd_late']}")
    assert r.status_code == 200
    text = by_id(r.text)
    assert text["owner-name"] == city.owner_names["a"]
    assert text["instrument-district"] == "徐汇区" and text["instrument-serial"].startswith("FD")
    assert 'data-status="overdue" id="instrument-status"' in r.text
    assert text["verifications"].count("简单接受") == 1  # one verification on record, its decision rule shown
    assert r.text.count(">JJG 443-2015</td>") == 1  # by JJG 443, in the regulation column
    assert city.certificates["fd_late"] in text["instrument-certificates"]
    assert 'href="/supervision/overdue?district=310104&amp;item=fuel_dispenser"' in r.text
    safe_for_csp(r.text)


def test_a_district_regulator_may_not_open_another_districts_list_or_instrument(
    xuhui_reg: TestClient, city: City
) -> None:
    r = xuhui_reg.get(f"/supervision/overdue?district={HUANGPU}")
    assert r.status_code == 403 and "辖区外" in r.text and 'data-instrument="' not in r.text
    r = xuhui_reg.get(f"/supervision/instruments/{city.ids['fd_b3']}")
    assert "没有可查看的计量器具" in r.text and 'data-instrument="' not in r.text
    missing = MISSING["instrument_id"]  # the same answer as for an instrument that does not exist
    hidden_like_missing(r, xuhui_reg.get(f"/supervision/instruments/{missing}"), str(city.ids["fd_b3"]), missing)
    # its own district's list and instruments are open to it; the filter offers its district only
    own = xuhui_reg.get("/supervision/overdue")
    assert len(overdue_rows(own.text)) == 5 and re.findall(r'<option value="(\d{6})"', own.text) == [XUHUI]
    assert xuhui_reg.get(f"/supervision/instruments/{city.ids['fd_late']}").status_code == 200


# ------------------------------------------------------------------ certificates per month


def test_the_certificates_page_carries_the_series_per_institution_and_month(
    city_reg: TestClient, xuhui_reg: TestClient, city: City
) -> None:
    r = city_reg.get("/supervision/certificates")
    assert r.status_code == 200
    chart = chart_of(r.text)
    today, late = city.today, city.late_on
    late_index = 11 - ((today.year - late.year) * 12 + today.month - late.month)
    assert len(chart["months"]) == 12 and chart["months"][-1] == f"{today.year}年{today.month}月"
    assert chart["months"][late_index] == f"{late.year}年{late.month}月"
    xuhui = [0] * 12
    xuhui[late_index], xuhui[11] = 1, 5  # fd_late then; fd_ok, fd_fail's notice, fd_rev (revoked), wm_ok, sc_ok now
    assert [(s["code"], s["data"]) for s in chart["series"]] == [
        ("D310101", [0] * 11 + [2]),
        ("D310104", xuhui),
        ("D310115", [0] * 11 + [1]),
    ]
    assert [s["name"] for s in chart["series"]] == ["黄浦区计量所", "徐汇区计量所", "浦东新区计量所"]
    assert chart["xName"] == "月份"
    # the same numbers as a table, and the chart's scripts on this page only
    totals = [e.text for e in elements(r.text, "data-field") if e.attrs["data-field"] == "total"]
    assert totals == ["2", "6", "1", "9"]
    assert "vendor/echarts.min.js" in r.text and "supervision-charts.js" in r.text
    assert "echarts" not in city_reg.get("/supervision/coverage").text
    safe_for_csp(r.text)

    mine = chart_of(xuhui_reg.get("/supervision/certificates").text)
    assert [(s["code"], s["data"]) for s in mine["series"]] == [("D310104", xuhui)]


# ------------------------------------------------------------------ language


def test_the_dashboard_in_english_after_the_switch(city_reg: TestClient, city: City) -> None:
    r = city_reg.get("/lang/en?next=/supervision/coverage")
    assert r.status_code == 200 and '<html lang="en">' in r.text
    assert "Coverage of mandatory verification" in r.text and "How coverage is counted" in r.text
    assert "Xuhui" in r.text and "徐汇区" not in r.text and "强制检定覆盖率" not in r.text
    assert coverage_cells(r.text)[(XUHUI, "fuel_dispenser")] == ("cov-2", "1/5 20.0 %")
    chart = chart_of(city_reg.get("/supervision/certificates").text)
    assert chart["months"][-1] == city.today.strftime("%b %Y") and chart["xName"] == "Month"
    assert [s["name"] for s in chart["series"]][1] == "Xuhui Metrology Institute"
    overdue = city_reg.get(f"/supervision/overdue?district={HUANGPU}").text
    assert "Never verified" in overdue and "Huangpu" in overdue
    assert "a district code has 6 digits" in city_reg.get("/supervision/overdue?district=abc").text
