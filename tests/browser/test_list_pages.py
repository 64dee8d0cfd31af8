"""The list pages in a real browser on a phone-sized window, in both languages: the lab's staff a page at
a time (next, then back), and the owner's instrument search; and a results form whose test-point
dropdowns show their whole name on a phone and at a desk. Screenshots go to
test-artifacts/screenshots/lists-*.png."""

from __future__ import annotations

from jiliang import listing
from jiliang.verification import service as workflow
from tests.browser.conftest import log_in, screenshot
from tests.support import world
from tests.support.lists import add_staff

# how much wider than its box a select's chosen text is (0: it fits): its text measured in the select's font
_CUT = """s => {
  const probe = document.createElement("span");
  probe.style.font = getComputedStyle(s).font;
  probe.style.whiteSpace = "pre";
  probe.textContent = s.options[s.selectedIndex].text;
  document.body.append(probe);
  const cut = probe.getBoundingClientRect().width - (s.clientWidth - 28);  // less the arrow and padding
  probe.remove();
  return Math.max(0, Math.round(cut));
}"""


def _in(page, base: str, lang: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/lang/{lang}?next={path}")
    page.wait_for_load_state()


def test_the_staff_list_pages_and_the_instrument_search_on_a_phone(platform, live_server, page) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    add_staff(platform, lab.institution_id, [f"xh-{n:02d}" for n in range(40)])
    log_in(page, live_server, lab.manager.username, world.PASSWORD)
    page.goto(f"{live_server}/lab/staff")
    rows = page.locator("#staff tbody tr")
    assert rows.count() == listing.PAGE_ROWS  # 44 people: the first 25
    screenshot(page, "lists-staff-phone-zh")
    page.click(".pager a[rel=next]")
    page.wait_for_load_state()
    assert rows.count() == 44 - listing.PAGE_ROWS and page.locator(".pager a[rel=prev]").is_visible()
    assert "xh-39" in rows.last.inner_text()
    _in(page, live_server, "en", "/lab/staff")
    page.fill(".search-box input[type=search]", "XH-1")
    page.press(".search-box input[type=search]", "Enter")
    page.wait_for_url("**q=XH-1**")
    assert rows.count() == 10 and "Matching" in page.inner_text(".search-note")
    screenshot(page, "lists-staff-phone-en")
    assert page.evaluate("document.documentElement.scrollWidth") <= 414  # nothing wider than the phone

    owner = world.make_owner(platform)
    scales = [world.scale(platform, owner) for _ in range(3)]
    meter = world.water_meter(platform, owner)
    page.context.clear_cookies()
    log_in(page, live_server, owner.username, world.PASSWORD)
    for lang, word in (("zh-CN", "水表"), ("en", "TM-A")):
        _in(page, live_server, lang, "/owner/instruments")
        page.fill(".search-box input[type=search]", word)
        page.press(".search-box input[type=search]", "Enter")
        page.wait_for_selector(".search-note")
        found = [
            int(x)
            for x in page.locator("#instruments tbody tr").evaluate_all("rs => rs.map(r => r.dataset.instrument)")
        ]
        assert found == ([meter] if word == "水表" else scales)
        assert page.evaluate("document.documentElement.scrollWidth") <= 414
        screenshot(page, f"lists-owner-search-phone-{'zh' if lang == 'zh-CN' else 'en'}")
    assert not page.script_errors, page.script_errors


def test_the_test_point_dropdowns_show_their_whole_name(platform, live_server, page, desk) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    owner = world.make_owner(platform)
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    for window, name in ((desk, "desk"), (page, "phone")):
        log_in(window, live_server, lab.verifier.username, world.PASSWORD)
        _in(window, live_server, "en", f"/work/tasks/{task}")  # English names are the longest
        window.fill("#row-0 input[name=reference]", "0.000")
        window.fill("#row-0 input[name=indication]", "0.000")
        window.wait_for_selector("#verdict-0[data-verdict]")
        points = window.locator("select[name=point_id]")
        assert points.count() > 10
        assert [points.nth(i).evaluate(_CUT) for i in range(points.count())] == [0] * points.count()
        assert window.evaluate("document.documentElement.scrollWidth") <= window.viewport_size["width"]
        screenshot(window, f"lists-results-form-{name}-en")
