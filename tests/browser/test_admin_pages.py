"""Administration in a real browser, at a desk in Chinese and on a phone in English: an administrator
makes an account, gives it a role and resets its password, and the person changes it on My account;
the administrator enters a catalogue period with its source and confirms an MPE rule; and sets an
institution's authorised items, which its lab manager then reads. Screenshots of each page go to
test-artifacts/screenshots/admin-*.png."""

from __future__ import annotations

import re

from tests.browser.conftest import log_in, screenshot
from tests.conftest import ADMIN_PASSWORD
from tests.support import world

CJK = re.compile(r"[\u4e00-\u9fff]")
PHONE = 414


def _english(page) -> None:  # type: ignore[no-untyped-def]
    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_load_state()


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, width  # nothing wider than the phone


def test_accounts_made_reset_and_the_password_changed_by_its_user(platform, live_server, desk, page):
    log_in(desk, live_server, "admin", ADMIN_PASSWORD)
    desk.click('nav a[href="/admin/users"]')
    desk.click("#new-account")
    desk.fill("input[name=username]", "li-si")
    desk.fill("input[name=display_name]", "李四")
    desk.select_option("select[name=organisation]", label="徐汇区计量所")
    desk.check("input[name=roles][value=verifier]")
    screenshot(desk, "admin-account-new")
    desk.click("#new-account-form button[type=submit]")
    desk.wait_for_selector("#new-password")
    assert desk.inner_text("#account-roles") == "检定员"
    desk.check("#roles-form input[value=checker]")
    desk.click("#roles-form button[type=submit]")
    assert desk.inner_text(".flash") == "角色已保存。" and "核验员" in desk.inner_text("#account-roles")
    desk.click("#reset-form button[type=submit]")
    password = desk.inner_text("#new-password")
    screenshot(desk, "admin-account-reset")
    desk.goto(f"{live_server}/admin/users?q=li")
    assert desk.locator("#accounts tbody tr").count() == 1
    screenshot(desk, "admin-accounts")

    log_in(page, live_server, "li-si", password)
    page.goto(f"{live_server}/account")
    _english(page)
    page.fill("#password input[name=current]", password)
    page.fill("#password input[name=new]", "my-own-pass-1")
    page.fill("#password input[name=repeated]", "my-own-pass-2")
    page.click("#password button[type=submit]")
    assert page.inner_text("#password-error") == "the two new passwords differ"
    page.fill("#password input[name=current]", password)
    page.fill("#password input[name=new]", "my-own-pass-1")
    page.fill("#password input[name=repeated]", "my-own-pass-1")
    page.click("#password button[type=submit]")
    assert page.inner_text(".flash") == "Your password is changed."
    _fits(page)
    screenshot(page, "admin-my-account-phone-en")

    log_in(page, live_server, "admin", ADMIN_PASSWORD)
    page.goto(f"{live_server}/admin/users?q=li-si")
    page.click("#accounts a")
    assert not CJK.search(page.inner_text("main").replace("李四", "").replace("Xuhui", ""))
    _fits(page)
    screenshot(page, "admin-account-phone-en")
    page.goto(f"{live_server}/admin/users")
    assert not CJK.search(page.inner_text("#accounts thead")) and not CJK.search(page.inner_text("#account-search"))
    _fits(page)
    screenshot(page, "admin-accounts-phone-en")
    assert desk.script_errors == [] and page.script_errors == []


def test_a_period_entered_with_its_source_and_a_rule_confirmed(platform, live_server, desk, page):
    log_in(desk, live_server, "admin", ADMIN_PASSWORD)
    desk.click('nav a[href="/admin/catalogue"]')
    type_id = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    desk.click(f"#type-{type_id} a.button")
    desk.fill("input[name=period_months]", "12")
    desk.fill("input[name=source]", " ")
    desk.click("#type-form button[type=submit]")
    assert "请注明数据来源" in desk.inner_text("#form-error")  # the browser's check passed (a space), the service's not
    screenshot(desk, "admin-catalogue-type")
    desk.fill("input[name=source]", "JJG 539-2016 第 7.4 条")
    desk.click("#type-form button[type=submit]")
    assert "第 2 版" in desk.inner_text(".flash")
    assert desk.inner_text(f"#type-{type_id} .period") == "12 个月"
    screenshot(desk, "admin-catalogue")

    desk.click('nav a[href="/admin/rules"]')
    waiting = desk.locator("#waiting tr.rule").count()
    screenshot(desk, "admin-rules")
    desk.locator("#waiting tr.rule", has_text="数字指示秤").first.locator("button").click()
    assert "规则已确认" in desk.inner_text(".flash")
    assert desk.locator("#waiting tr.rule").count() == waiting - 1

    log_in(page, live_server, "admin", ADMIN_PASSWORD)
    page.goto(f"{live_server}/admin/rules")
    _english(page)
    for part in ("h1", "#waiting thead", "#waiting h2"):
        assert not CJK.search(page.inner_text(part)), part
    _fits(page)
    screenshot(page, "admin-rules-phone-en")
    page.goto(f"{live_server}/admin/catalogue/types/{type_id}")
    assert not CJK.search(page.inner_text("#type-form").replace("JJG 539-2016 第 7.4 条", ""))
    _fits(page)
    screenshot(page, "admin-catalogue-type-phone-en")
    assert desk.script_errors == [] and page.script_errors == []


def test_an_institutions_authorised_items_set_by_the_administrator_and_read_by_its_lab_manager(
    platform, live_server, desk, page
):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    log_in(desk, live_server, "admin", ADMIN_PASSWORD)
    desk.goto(f"{live_server}/lab/institutions/D310104")
    desk.click("#authorisations-link")
    desk.uncheck("input[name=item_codes][value=taximeter]")
    desk.click("#authorisations-form button[type=submit]")
    assert desk.inner_text(".flash") == "授权项目已保存。"
    assert not desk.is_checked("input[name=item_codes][value=taximeter]")
    screenshot(desk, "admin-authorisations")

    log_in(page, live_server, lab.manager.username, world.PASSWORD)
    page.goto(f"{live_server}/lab/institutions/D310104/authorisations")
    items = page.inner_text("#authorised")
    assert "非自动衡器" in items and "出租汽车计价器" not in items
    screenshot(page, "admin-authorisations-lab-manager-phone")
    _english(page)
    assert not CJK.search(page.inner_text("main h2")) and not CJK.search(page.inner_text("main .hint"))
    _fits(page)
    screenshot(page, "admin-authorisations-phone-en")
    assert desk.script_errors == [] and page.script_errors == []
