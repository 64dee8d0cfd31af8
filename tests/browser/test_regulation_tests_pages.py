"""The regulation's tests on the public certificate page, in a real browser on a phone: each test's
verdict and where each limit comes from, read from the signed bytes, with the advisory notice, in the
visitor's language only."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from jiliang.certificates.tables import certificates
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.verification import service as workflow
from tests.browser.conftest import screenshot
from tests.support import jjg539, world


def _issued_with_tare(platform) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A scale verified with the whole JJG 539 test plus a tare reading, whose rule is unconfirmed."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    readings = jjg539.as_inputs([*jjg539.complete(), jjg539.changeover("tare", Decimal(0), Decimal(0))])
    number = world.verify(platform, lab, task, readings)
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    issue_checkpoint(platform)
    return number, token


def test_the_qr_page_lists_each_test_and_the_standing_of_its_limits_in_the_visitors_language(
    platform, live_server, page
):
    number, token = _issued_with_tare(platform)
    page.goto(f"{live_server}/public/verify/{number}?token={token}")
    page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)
    tests = page.locator("#fact-tests li").all_inner_texts()
    assert tests[:2] == ["称量测试：合格", "偏载测试：合格"] and len(tests) == 6
    assert page.is_visible("#fact-advisory") and "仅供参考" in page.inner_text("#fact-advisory")
    page.click("#fact-sources summary")
    sources = page.locator("#fact-rules li").all_inner_texts()
    assert any(s.startswith("未确认（参考性）：OIML R 76-1 4.6.3") for s in sources)
    assert any(s.startswith("来自一处二手来源：gfjl.org") for s in sources)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 414, width  # nothing wider than the phone
    screenshot(page, "public-certificate-tests")

    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)
    assert page.locator("#fact-tests li").all_inner_texts()[:2] == [
        "weighing test: conforms",
        "eccentricity test: conforms",
    ]
    assert "advisory" in page.inner_text("#fact-advisory")
    text = page.inner_text("#fact-results")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.split("Where the limits come from")[0]), text
    assert page.script_errors == []


def test_an_in_service_inspection_says_it_does_not_renew_the_validity(platform, live_server, page):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    [task] = workflow.apply(platform.uow(), owner, [world.fuel_dispenser(platform, owner)])
    number = world.verify(platform, lab, task, [workflow.ReadingInput("volume", "20.00", "20.02")], stage="in_service")
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    issue_checkpoint(platform)
    page.goto(f"{live_server}/public/verify/{number}?token={token}")
    page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)
    assert page.inner_text("#fact-valid-until") == "使用中检查，不更新有效期"
    assert page.locator("#fact-tests li").all_inner_texts() == ["示值误差：合格"]
    assert page.script_errors == []
