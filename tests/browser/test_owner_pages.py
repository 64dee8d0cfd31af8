"""The owner's way through the site in a real browser: sign up (the credit code is checked while it is
typed), wait for the district bureau to approve on /lab/owners, register an instrument with the
catalogue picker, apply for verification and, once the institution has verified it, download the
signed certificate. Screenshots of each page go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
import re

from jiliang.platform import Platform
from tests.browser.conftest import log_in, screenshot
from tests.support import world
from tests.support.owner_pages import DOC_CODE, DOC_CODE_WRONG, make_regulator

OWNER_NAME = "上海示范菜市场经营管理有限公司"
OWNER_LOGIN = ("market-wang", "market-pass-1")


def sign_up(page, base: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect  # imported here: without playwright the fixtures skip visibly

    page.goto(f"{base}/signup")
    check = page.locator("#credit-code-check")
    page.fill("input[name=credit_code]", DOC_CODE_WRONG)
    page.wait_for_selector('#credit-code-check [data-check="bad"]')
    assert "应为 3" in check.inner_text()  # the documented example's check character
    page.fill("input[name=credit_code]", DOC_CODE[:10])
    expect(check).to_contain_text("实际为 10 位")  # (no wait_for_function: the page's CSP forbids eval)
    page.fill("input[name=credit_code]", DOC_CODE)
    page.wait_for_selector('#credit-code-check [data-check="ok"]')
    page.fill("input[name=name]", OWNER_NAME)
    page.select_option("select[name=district_code]", "310104")
    page.fill("input[name=contact_name]", "王经理")
    page.fill("input[name=address]", "徐汇区示范路 8 号")
    page.fill("input[name=username]", OWNER_LOGIN[0])
    page.fill("input[name=password]", OWNER_LOGIN[1])
    screenshot(page, "owner-signup")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(re.compile(r"/signup/pending$"))
    assert OWNER_NAME in page.inner_text("main") and "待审批" in page.inner_text("main")


def approve(desk, base: str, platform: Platform) -> None:  # type: ignore[no-untyped-def]
    regulator = make_regulator(platform, "310104")
    log_in(desk, base, regulator.username, world.PASSWORD)
    desk.goto(f"{base}/lab/owners")
    row = desk.locator("#registrations tbody tr", has_text=DOC_CODE)
    assert row.count() == 1 and "徐汇区" in row.inner_text()
    screenshot(desk, "lab-owners")
    row.locator("button[value=approve]").click()
    desk.wait_for_selector(".flash")
    assert f"已批准 {OWNER_NAME}" in desk.inner_text(".flash")
    assert desk.locator("#registrations tbody tr", has_text=DOC_CODE).count() == 0


def register_scale(page, base: str) -> int:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/owner/instruments/new")
    page.select_option("select[name=item_code]", "nawi")
    page.wait_for_selector("#type-picker")  # the item's types arrive by HTMX
    page.select_option("#type-picker", label="数字指示秤/电子计价秤")
    page.select_option("select[name=procedure_code]", "price_scale")
    page.wait_for_selector('[data-procedure="price_scale"]')
    page.select_option("select[name=param_accuracy_class]", "III")
    page.fill("input[name=param_e]", "0.005")
    page.fill("input[name=name]", "3 号柜台电子计价秤")
    page.fill("input[name=manufacturer]", "上海大华")
    page.fill("input[name=model]", "TM-A")
    page.fill("input[name=serial_no]", "DH-2026-0042")
    page.fill("input[name=location]", "示范菜场 12 号摊位")
    screenshot(page, "owner-instrument-new")
    page.click("#instrument-form button[type=submit]")
    page.wait_for_url(re.compile(r"/owner/instruments/\d+$"))
    assert "DH-2026-0042" in page.inner_text("main")
    return int(page.url.rsplit("/", 1)[1])


def test_an_owner_signs_up_is_approved_registers_a_scale_and_applies(live_server, page, desk, platform) -> None:  # type: ignore[no-untyped-def]
    base = live_server
    sign_up(page, base)
    approve(desk, base, platform)

    log_in(page, base, *OWNER_LOGIN)
    assert page.url.endswith("/owner/instruments")
    assert page.locator("#organisation-status").count() == 0  # approved: no waiting notice
    instrument = register_scale(page, base)
    page.goto(f"{base}/owner/instruments")
    row = page.locator(f'tr[data-instrument="{instrument}"]')
    assert row.locator('.badge[data-status="never_verified"]').count() == 1
    screenshot(page, "owner-instruments")

    page.goto(f"{base}/owner/apply")
    assert page.is_checked(f"#pick-{instrument}")  # never verified: ticked for the owner
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#created-tasks")
    task_row = page.locator("#created-tasks tr[data-task]")
    assert task_row.count() == 1 and "徐汇区计量所" in task_row.inner_text()
    task = int(task_row.get_attribute("data-task"))
    screenshot(page, "owner-apply")

    # the district institute verifies the scale; the owner downloads the signed certificate
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number = world.verify(platform, lab, task)
    page.goto(f"{base}/owner/certificates")
    cert = page.locator(f'tr[data-certificate="{number}"]')
    assert cert.locator('.badge[data-status="valid"]').count() == 1
    screenshot(page, "owner-certificates")
    with page.expect_download() as info:
        cert.locator('a[href$="/pdf"]').click()
    pdf = info.value
    assert pdf.suggested_filename == f"{number}.pdf" and open(pdf.path(), "rb").read(5) == b"%PDF-"
    with page.expect_download() as info:
        cert.locator('a[href$="/document"]').click()
    download = info.value
    assert download.suggested_filename == f"{number}.json"
    document = json.loads(open(download.path(), encoding="utf-8").read())
    assert document["payload"]["number"] == number and document["signature"]["value"]
    page.goto(f"{base}/owner/instruments/{instrument}/label")
    label = page.locator("#label").bounding_box()
    assert label and page.locator("#label svg").count() == 1
    screenshot(page, "owner-label")
    assert page.script_errors == [] and desk.script_errors == []


def test_the_status_filter_updates_the_list_in_place(live_server, desk, platform) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform, "310104")
    kept = world.scale(platform, owner)
    gone = world.scale(platform, owner)
    world.registry.scrap_instrument(platform.uow(), owner, gone)
    from playwright.sync_api import expect

    log_in(desk, live_server, owner.username, world.PASSWORD)
    assert desk.locator("tr[data-instrument]").count() == 2
    desk.click('.status-counts a[data-status="scrapped"]')
    desk.wait_for_url(re.compile(r"status=scrapped$"))  # the filter's URL is kept in the history
    expect(desk.locator("tr[data-instrument]")).to_have_count(1)
    assert desk.locator(f'tr[data-instrument="{gone}"]').count() == 1
    assert desk.locator(f'tr[data-instrument="{kept}"]').count() == 0
    assert desk.script_errors == []
