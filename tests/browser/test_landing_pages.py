"""Logging in as each role in a real browser lands on the page where that role's work waits, with that
page marked in the menu; a verifier who types an owner's address is told whose pages those are.
Screenshots: landing-<role>.png (desk), landing-owner-phone.png and landing-regulator-en.png."""

from __future__ import annotations

from typing import Any

from jiliang.platform import Platform
from tests.browser.conftest import log_in, screenshot
from tests.conftest import ADMIN_PASSWORD
from tests.support import world
from tests.support.owner_pages import make_regulator


def _log_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")


def test_each_role_lands_where_its_work_waits(platform: Platform, live_server: str, desk: Any, page: Any) -> None:
    lab, _ = world.issued_certificate(platform, "310104", "D310104")
    owner = world.make_owner(platform, "310104")
    people = {  # checkers and approvers land as verifiers do (tests/integration/test_role_pages.py)
        "verifier": (lab.verifier.username, world.PASSWORD, "/work/tasks"),
        "lab-manager": (lab.manager.username, world.PASSWORD, "/lab/standards"),
        "regulator": (make_regulator(platform, "310104").username, world.PASSWORD, "/supervision/coverage"),
        "admin": ("admin", ADMIN_PASSWORD, "/admin/users"),
        "owner": (owner.username, world.PASSWORD, "/owner/instruments"),
    }
    for role, (username, password, home) in people.items():
        log_in(desk, live_server, username, password)
        assert desk.url == live_server + home, role
        assert desk.get_attribute(".site-nav a[aria-current=page]", "href") == home, role
        screenshot(desk, f"landing-{role}")
        if role == "verifier":  # an owner's page typed in: refused, saying whose pages they are
            answer = desk.goto(f"{live_server}/owner/instruments")
            assert answer is not None and answer.status == 403
            assert "使用单位" in desk.inner_text("[role=alert]") and desk.locator("#scrap-form").count() == 0
            screenshot(desk, "landing-verifier-owner-page-refused")
        if role == "regulator":
            desk.click(".lang-switch a[data-lang=en]")
            desk.wait_for_url(f"**{home}")
            assert desk.inner_text("h1") == "Coverage of mandatory verification"
            screenshot(desk, "landing-regulator-en")
            desk.click(".lang-switch a[data-lang=zh-CN]")
            desk.wait_for_url(f"**{home}")
        _log_out(desk)
    log_in(page, live_server, owner.username, world.PASSWORD)  # an owner on a phone
    assert page.url == f"{live_server}/owner/instruments"
    screenshot(page, "landing-owner-phone")
    assert desk.script_errors == [] and page.script_errors == []
