"""A standard's DCC calibration certificate imported through the standards page in a real browser, on a
phone, in both languages: the lab manager opens a standard's form, chooses the DCC file and gives the
institution's interval; the page says what was recorded (number, due date, how many U, who signed) and
the standard's row shows the DCC's signer; a file that is not a DCC is refused in the page's language,
in that standard's form."""

from __future__ import annotations

import re
from datetime import timedelta

from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from tests.browser.conftest import log_in, screenshot
from tests.support import world
from tests.support.dcc_files import SIGNED, UNSIGNED

CJK = re.compile(r"[\u4e00-\u9fff]")
PHONE = 414


def _upload(page, sid: int, name: str, data: bytes, months: str = "12") -> None:  # type: ignore[no-untyped-def]
    form = f"#dcc-{sid}"
    if page.get_attribute(form, "open") is None:
        page.click(f"{form} summary")
    upload = {"name": name, "mimeType": "application/xml", "buffer": data}
    page.set_input_files(f"{form} input[name=dcc]", files=[upload])
    page.fill(f"{form} input[name=interval_months]", months)
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state()


IN_VIEW = (
    "s => { const r = document.querySelector(s).getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
)


def _in_view(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate(IN_VIEW, selector))


def _fits_the_phone(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE, width


def test_a_lab_manager_imports_a_dcc_on_a_phone_in_both_languages(platform, live_server, page) -> None:
    lab = world.make_lab(platform, "SIMT", [])
    today = shanghai_today()
    fresh = registry.add_standard(  # a standard with no calibration yet: the DCC becomes its calibration
        platform.uow(), lab.manager, lab.manager.institution_id, "铂电阻温度计标准装置", "[2025]沪量标88号",
        today + timedelta(days=700), [],
    )  # fmt: skip
    log_in(page, live_server, lab.manager.username, world.PASSWORD)
    page.goto(f"{live_server}/lab/standards")
    assert page.inner_text("#import-dcc h2") == "导入 DCC 校准证书"
    _upload(page, fresh, "signed.xml", SIGNED.read_bytes())
    flash = page.inner_text(".flash")
    assert _in_view(page, ".flash")  # the page opens at its top, where the flash is
    assert flash.startswith("已导入 Kalibrierfirma GmbH 的 DCC 校准证书 1234：有效期至 1958年8月12日"), flash
    assert "给出 5 个点或范围的扩展不确定度 U" in flash and "签名人 E=example@ptb.de,CN=cert" in flash
    assert "DCC 写有再校准日期 1959-10-22" in flash  # the customer's date, not used
    row = page.locator(f'tr[data-standard="{fresh}"]')
    assert "1234" in row.inner_text() and "DCC 已签名" in row.locator("[data-dcc]").inner_text()
    screenshot(page, "lab-standards-dcc-zh")
    _fits_the_phone(page)

    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_selector("html[lang=en]")
    _upload(page, lab.standard_id, "not-a-dcc.xml", b"<calibration/>")
    error = page.inner_text("#dcc-error")
    assert _in_view(page, "#dcc-error")  # the form posts to its own fragment: the error is on screen
    assert error.startswith("not a DCC: the root element is calibration"), error
    assert page.get_attribute(f"#dcc-{lab.standard_id}", "open") is not None
    assert page.input_value(f"#dcc-{lab.standard_id} input[name=interval_months]") == "12"  # kept
    texts = page.locator("#import-dcc h2, #import-dcc label, #import-dcc .hint, #import-dcc button, #dcc-error")
    for text in texts.all_inner_texts():
        assert not CJK.search(text), text
    screenshot(page, "lab-standards-dcc-error-en")
    _fits_the_phone(page)

    _upload(page, lab.standard_id, "unsigned.xml", UNSIGNED.read_bytes())
    flash = page.inner_text(".flash")
    assert _in_view(page, ".flash")
    assert flash.startswith("DCC calibration certificate 1234 of Kalibrierfirma GmbH recorded: due Aug 12, 1958"), flash
    assert "The DCC is not signed. A later calibration is already recorded" in flash
    assert not CJK.search(flash)
    screenshot(page, "lab-standards-dcc-en")
    _fits_the_phone(page)
    assert page.script_errors == []
