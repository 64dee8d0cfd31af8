"""The regulator's dashboard at a desk, in a real browser over real HTTP: the city regulator follows a
coverage figure down to one instrument and sees the certificate chart drawn; the Xuhui regulator sees
Xuhui only and is refused another district typed into the address bar; the language switch.
(The figures themselves are checked in tests/integration/test_web_supervision.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jiliang.platform import Platform
from tests.browser.conftest import log_in, screenshot
from tests.support.supervision_pages import HUANGPU, XUHUI, City, build_city, module_platform
from tests.support.world import PASSWORD


@pytest.fixture(scope="module")
def platform(template, tmp_path_factory) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    """One world for the module: the pages only read it."""
    with module_platform(template, tmp_path_factory.mktemp("supervision-browser")) as p:
        yield p


@pytest.fixture(scope="module")
def city(platform: Platform) -> City:
    return build_city(platform)


@pytest.fixture
def regulator_desk(desk: Any) -> Any:
    """The desk page, also keeping what the browser refused under the Content-Security-Policy."""
    refused: list[str] = []
    desk.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    desk.csp_refusals = refused
    return desk


def test_the_city_regulator_follows_a_figure_down_to_an_instrument_and_sees_the_chart(
    live_server: str, city: City, regulator_desk: Any
) -> None:
    from playwright.sync_api import expect  # here: without playwright the fixtures skip with a notice

    page = regulator_desk
    log_in(page, live_server, city.city_regulator.username, PASSWORD)
    page.goto(f"{live_server}/supervision/coverage")
    districts = page.locator("#coverage tbody th[scope=row]").all_inner_texts()
    assert len(districts) == 16 and {"徐汇区", "黄浦区", "浦东新区"} <= set(districts)
    xuhui_fuel = page.locator(f'#coverage td[data-district="{XUHUI}"][data-item="fuel_dispenser"]')
    assert "cov-2" in (xuhui_fuel.get_attribute("class") or "") and "1/5" in xuhui_fuel.inner_text()
    assert page.locator("#coverage-legend .cov-10").is_visible() and page.locator("#unknown-period-table").is_visible()
    screenshot(page, "supervision-coverage")

    xuhui_fuel.locator("a").click()
    page.wait_for_url("**/supervision/overdue?district=310104&item=fuel_dispenser")
    assert page.locator("#overdue tbody tr").count() == 4
    statuses = [row.get_attribute("data-status") for row in page.locator("#overdue tbody tr").all()]
    assert statuses == ["overdue", "never_verified", "barred", "no_valid_date"]
    # changing a filter reloads the list in place (HTMX) and keeps the address in step
    page.select_option("#filter-district", HUANGPU)
    page.wait_for_url(f"**/supervision/overdue?district={HUANGPU}&item=fuel_dispenser")
    expect(page.locator("#overdue tbody tr")).to_have_count(1)
    page.select_option("#filter-district", XUHUI)
    expect(page.locator("#overdue tbody tr")).to_have_count(4)
    screenshot(page, "supervision-overdue")

    page.locator("#overdue tbody tr").first.locator("a").click()
    page.wait_for_url(f"**/supervision/instruments/{city.ids['fd_late']}")
    assert page.get_attribute("#instrument-status", "data-status") == "overdue"
    assert page.inner_text("#owner-name") == city.owner_names["a"]
    assert city.certificates["fd_late"] in page.inner_text("#instrument-certificates")
    screenshot(page, "supervision-instrument")

    page.click('.site-nav a[href="/supervision/certificates"]')
    page.wait_for_selector("#chart canvas", timeout=15_000)
    assert page.get_attribute("#chart", "data-drawn") == "yes"
    drawn = "performance.getEntriesByName('jiliang:chart-drawn').length"  # the User Timing mark
    for _ in range(100):  # polled from here: the page's CSP forbids the eval wait_for_function needs
        if page.evaluate(drawn):
            break
        page.wait_for_timeout(50)
    assert page.evaluate(drawn) == 1
    box = page.locator("#chart canvas").first.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 300
    assert page.locator("#certificates-table tbody tr").count() == 3
    _chart_laid_out(page, series=3)
    screenshot(page, "supervision-certificates")
    page.set_viewport_size({"width": 414, "height": 896})  # a phone: the chart redraws to the width
    page.wait_for_timeout(300)
    _chart_laid_out(page, series=3)
    screenshot(page, "supervision-certificates-phone")
    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_selector("#chart[data-drawn=yes] canvas", timeout=15_000)
    _chart_laid_out(page, series=3)
    screenshot(page, "supervision-certificates-phone-en")
    assert page.script_errors == [] and page.csp_refusals == []


# Where ECharts drew the legend and the two axis names, in the chart's pixels (its own scene graph).
_CHART_LAYOUT = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById('chart'));
  const model = chart.getModel();
  const place = (el) => {
    const r = el.getBoundingRect().clone();
    r.applyTransform(el.getComputedTransform());
    return {left: r.x, top: r.y, right: r.x + r.width, bottom: r.y + r.height};
  };
  const named = (axis) => {
    const name = model.getComponent(axis).get('name');
    let found = null;
    chart.getViewOfComponentModel(model.getComponent(axis)).group.traverse((e) => {
      if (!found && e.style && e.style.text === name) found = e;
    });
    return place(found);
  };
  return {legend: place(chart.getViewOfComponentModel(model.getComponent('legend')).group),
          y: named('yAxis'), x: named('xAxis'), width: chart.getWidth(), height: chart.getHeight(),
          colours: model.getSeries().map((s) => s.get('itemStyle.color'))};
}"""


def _chart_laid_out(page: Any, series: int) -> None:
    """The legend, the y axis name and the x axis name drawn apart and inside the chart, each
    institution in a colour of its own."""
    at = page.evaluate(_CHART_LAYOUT)
    legend, y, x = at["legend"], at["y"], at["x"]
    assert legend["bottom"] < y["top"] and y["bottom"] < x["top"], at  # top to bottom, none touching
    for box in (y, x):
        assert 0 <= box["left"] and box["right"] <= at["width"] and box["bottom"] <= at["height"], at
    assert len(set(at["colours"])) == len(at["colours"]) == series, at


def test_the_xuhui_regulator_sees_xuhui_only_and_another_district_typed_in_is_refused(
    live_server: str, city: City, regulator_desk: Any
) -> None:
    page = regulator_desk
    log_in(page, live_server, city.xuhui_regulator.username, PASSWORD)
    page.goto(f"{live_server}/supervision/coverage")
    assert page.locator("#coverage tbody th[scope=row]").all_inner_texts() == ["徐汇区"]
    assert "黄浦区" not in page.inner_text("main")

    answer = page.goto(f"{live_server}/supervision/overdue?district={HUANGPU}")
    assert answer is not None and answer.status == 403
    assert page.inner_text("h1") == "无权访问" and "辖区外" in page.inner_text("[role=alert]")
    assert page.locator("#overdue").count() == 0

    answer = page.goto(f"{live_server}/supervision/instruments/{city.ids['fd_b3']}")
    assert answer is not None and answer.status == 404  # as an instrument that does not exist
    assert page.script_errors == [] and page.csp_refusals == []


def test_the_language_switch_turns_the_dashboard_into_english(
    live_server: str, city: City, regulator_desk: Any
) -> None:
    page = regulator_desk
    log_in(page, live_server, city.city_regulator.username, PASSWORD)
    page.goto(f"{live_server}/supervision/coverage")
    assert page.inner_text("h1") == "强制检定覆盖率"
    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_url("**/supervision/coverage")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Coverage of mandatory verification"
    assert "Xuhui" in page.locator("#coverage tbody th[scope=row]").all_inner_texts()
    page.goto(f"{live_server}/supervision/certificates")
    page.wait_for_selector("#chart canvas", timeout=15_000)
    assert page.inner_text("h1") == "Certificates per month"
    assert "Xuhui Metrology Institute" in page.inner_text("#certificates-table")
    page.click(".lang-switch a[data-lang=zh-CN]")
    page.wait_for_selector("#chart canvas", timeout=15_000)
    assert page.inner_text("h1") == "每月证书量"
    assert page.script_errors == [] and page.csp_refusals == []
