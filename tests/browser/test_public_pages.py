"""The public pages on a phone, in a real browser over real HTTP: the certificate-number form and the
status it leads to, the instrument label a QR code leads to, and the language switch in the header.
(The certificate a QR code leads to, valid, revoked or tampered with: tests/browser/test_certificate_page.py.)"""

from __future__ import annotations

from sqlalchemy import select

from jiliang.certificates.service import revoke_certificate
from jiliang.certificates.tables import certificates
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.platform import Platform
from jiliang.registry.label import label_path
from jiliang.registry.tables import instruments
from jiliang.verification import service as workflow
from tests.browser.conftest import screenshot
from tests.support import world

PHONE_WIDTH = 414


def _token(platform: Platform, number: str) -> str:
    with platform.engine.connect() as c:
        return str(c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one())


def _fits_the_phone(page) -> None:  # type: ignore[no-untyped-def]
    """Nothing wider than the screen, and the verdict is on the first screen without scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    box = page.locator("#verdict").bounding_box()
    assert box is not None and box["y"] + box["height"] < 896


def test_a_number_typed_into_the_form_shows_the_certificate_revoked(platform, live_server, page):
    lab, number = world.issued_certificate(platform)
    revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), number, "示值超差")
    page.goto(f"{live_server}/public/verify")
    screenshot(page, "public-verify-form")
    page.fill("input[name=number]", f" {number.lower()} ")  # as typed on a phone
    page.click("form.lookup button[type=submit]")
    page.wait_for_url(f"{live_server}/public/verify/{number}")
    assert page.get_attribute("#verdict", "data-result") == "revoked"
    assert "该证书已被撤销" in page.inner_text("#verdict")
    _fits_the_phone(page)
    screenshot(page, "public-status-revoked")
    assert page.script_errors == []


def test_an_instrument_label_on_a_phone_says_verified_and_until_when(platform, live_server, page):
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    iid = world.fuel_dispenser(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    world.verify(platform, lab, task, [workflow.ReadingInput("volume", "20.00", "20.02")])
    with platform.engine.connect() as c:
        token = c.execute(select(instruments.c.label_token).where(instruments.c.id == iid)).scalar_one()
    page.goto(live_server + label_path(iid, token))
    assert page.get_attribute("#verdict", "data-result") == "in_date"
    assert "检定合格，在有效期内" in page.inner_text("#verdict") and "有效期至" in page.inner_text("#verdict")
    assert page.inner_text("#fact-name") == "燃油加油机"
    assert page.get_attribute("#label-status", "data-status") == "in_date"
    _fits_the_phone(page)
    screenshot(page, "public-label")
    page.click("#certificate-check")  # the instrument's own certificate, not the generic form
    page.wait_for_url(f"{live_server}/public/verify/*")
    assert page.get_attribute("#verdict", "data-result") == "valid"
    page.go_back()
    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_url(f"**/public/label/{iid}?token=*")
    assert page.inner_text("#certificate-check").startswith("Check its certificate")
    screenshot(page, "public-label-en")
    page.click(".lang-switch a[data-lang=zh-CN]")

    page.goto(f"{live_server}/public/label/{iid}")  # without the token: the status only
    assert page.get_attribute("#verdict", "data-result") == "in_date" and page.locator("#fact-name").count() == 0
    _fits_the_phone(page)
    screenshot(page, "public-label-status-only")

    page.goto(f"{live_server}/public/label/{iid}?token=guessed")
    assert page.get_attribute("#verdict", "data-result") == "not-found"
    assert "无法识别此标签" in page.inner_text("#verdict") and page.locator("#fact-name").count() == 0
    assert page.script_errors == []


def test_the_language_switch_turns_the_qr_page_into_english_and_back(platform, live_server, page):
    _, number = world.issued_certificate(platform)
    issue_checkpoint(platform)
    page.goto(f"{live_server}/public/verify/{number}?token={_token(platform, number)}")
    page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)
    assert "证书真实有效" in page.inner_text("#verdict")

    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)  # back with the token: checked again
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#verdict-title") == "✓ Genuine and valid"
    assert page.inner_text("#check-signature .label") == "The institution's signature"
    assert page.inner_text("#status") == "Valid"
    assert page.inner_text("h1") == "Certificate check"
    for part in ("h1", ".requested", "#verdict", "#checks-card", "#about", "#certificate dl dt", ".site-footer"):
        text = " ".join(page.locator(part).all_inner_texts())
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in text), (part, text)  # the signed facts stay as signed
    screenshot(page, "public-certificate-en")

    page.click(".lang-switch a[data-lang=zh-CN]")
    page.wait_for_selector('#verdict[data-result="valid"]', timeout=15_000)
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("#verdict-title") == "✓ 证书真实有效" and page.inner_text("h1") == "证书核验"
    assert page.script_errors == []
