"""The results form with an uncertainty budget in a real browser (Debian's chromium, the app over real
HTTP): ticking the standard and typing an EV charger's reading shows its U with k and the JJF 1094
decision without a reload; a poor standard puts the same error in the undetermined zone. Expected U
values are worked by hand in tests/support/uncertainty_world.py (`ev_u95`)."""

from __future__ import annotations

from decimal import Decimal

from tests.browser.conftest import log_in, screenshot
from tests.support import world
from tests.support.uncertainty_world import ev_charger_task, ev_u95


def test_the_verifier_sees_u_k_and_the_decision_appear_as_the_reading_is_typed(platform, live_server, desk):
    t = ev_charger_task(platform, standard_U="0.2")
    log_in(desk, live_server, t.lab.verifier.username, world.PASSWORD)
    desk.goto(f"{live_server}/work/tasks/{t.task_id}")
    desk.evaluate("window.__sameDocument = true")  # gone if the page reloads
    assert "JJF 1094" in desk.locator("#decision-rule").inner_text()
    desk.check(f'input[name=standard_ids][value="{t.lab.standard_id}"]')
    row = desk.locator("#row-0")
    row.locator("input[name=reference]").fill("10.000")
    row.locator("input[name=indication]").fill("10.08")
    desk.wait_for_selector("#u-0[data-u]")
    assert Decimal(desk.locator("#u-0").get_attribute("data-u") or "nan") == ev_u95(
        "10.000", "10.08", "0.01", "0.2", "2"
    )
    assert desk.locator("#u-0").get_attribute("data-k") == "1.96"
    desk.wait_for_selector('#verdict-0[data-verdict="pass"] .decision[data-zone="accept"][data-rule="jjf1094"]')
    assert "U/MPEV" in desk.locator("#verdict-0").inner_text()
    screenshot(desk, "work-task-uncertainty")
    # an error beyond MPEV + U95 fails at once
    row.locator("input[name=indication]").fill("10.13")
    desk.wait_for_selector('#verdict-0[data-verdict="fail"]')
    assert desk.evaluate("window.__sameDocument") is True


def test_a_poor_standard_leaves_the_error_in_the_undetermined_zone(platform, live_server, desk):
    t = ev_charger_task(platform, standard_U="1.0")
    log_in(desk, live_server, t.lab.verifier.username, world.PASSWORD)
    desk.goto(f"{live_server}/work/tasks/{t.task_id}")
    desk.check(f'input[name=standard_ids][value="{t.lab.standard_id}"]')
    row = desk.locator("#row-0")
    row.locator("input[name=reference]").fill("10.000")
    row.locator("input[name=indication]").fill("10.08")
    desk.wait_for_selector('#verdict-0[data-verdict="unknown"] .decision[data-zone="undetermined"]')
    desk.wait_for_selector('#overall-verdict[data-verdict="unknown"]')
    assert Decimal(desk.locator("#u-0").get_attribute("data-u") or "nan") == ev_u95(
        "10.000", "10.08", "0.01", "1.0", "2"
    )
    screenshot(desk, "work-task-undetermined")
