"""The institution's settings in a real browser: its lab manager records the authorisation number and
uploads the seal through the page (at a desk, and in English on a phone), then downloads a certificate's
PDF and finds both printed — the number in its text layer (pdftotext), the seal as one more image
(pdfimages), the page kept as a picture to look at (pdftoppm). The public page a certificate's QR code
opens shows that code again, in either language."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from jiliang.certificates.tables import certificates
from tests.browser.conftest import SCREENSHOTS, log_in, screenshot
from tests.conftest import missing_service
from tests.support import seal, world

NUMBER = "（沪）法计（2021）01004号"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def poppler() -> None:
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdfimages", "pdftoppm")):
        missing_service("poppler-utils (pdftotext, pdfimages, pdftoppm) not installed")


def _download_pdf(desk, base: str, number: str, out: Path) -> tuple[str, list[tuple[int, str]]]:  # type: ignore[no-untyped-def]
    """The certificate's PDF as its page's link downloads it: its text and (page, type) of each image."""
    desk.goto(f"{base}/work/certificates/{number}")
    with desk.expect_download() as download:
        desk.click("#pdf-link")
    download.value.save_as(out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    listed = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True, text=True, check=True).stdout
    return text.replace(" ", ""), [(int(row.split()[0]), row.split()[2]) for row in listed.splitlines()[2:]]


def test_a_lab_manager_uploads_the_seal_and_the_pdf_prints_it_with_the_number(
    platform, live_server, desk, poppler, tmp_path
):
    lab, number = world.issued_certificate(platform)
    log_in(desk, live_server, lab.manager.username, world.PASSWORD)
    text, images = _download_pdf(desk, live_server, number, tmp_path / "before.pdf")
    assert "计量授权证书编号：未登记" in text and images == []

    desk.click('nav a[href="/lab/institutions"]')
    desk.wait_for_url("**/lab/institutions/D310104")
    assert desk.inner_text("#authorisation-current") == "未登记"
    screenshot(desk, "lab-institution-empty")
    desk.set_input_files("#seal-form input[type=file]", files=[_file("seal.jpg", seal.jpeg(), "image/jpeg")])
    desk.click("#seal-form button[type=submit]")
    assert desk.inner_text("#seal-error") == "印章图片须为 PNG 格式"  # the page's language only
    desk.fill("input[name=authorisation_no]", NUMBER)
    desk.click("#authorisation-form button[type=submit]")
    desk.wait_for_selector("#authorisation-no")
    assert desk.inner_text("#authorisation-no") == NUMBER and "已保存" in desk.inner_text(".flash")
    desk.set_input_files("#seal-form input[type=file]", files=[_file("seal.png", seal.seal_png(800), "image/png")])
    desk.click("#seal-form button[type=submit]")
    desk.wait_for_selector("#seal-image")
    # kept at 400 px (read once the image has loaded: under load the page's own load event comes first)
    assert desk.locator("#seal-image").evaluate("img => img.decode().then(() => img.naturalWidth)") == 400
    assert "400 × 400" in desk.inner_text("#seal-facts")
    screenshot(desk, "lab-institution-seal")

    text, images = _download_pdf(desk, live_server, number, tmp_path / "after.pdf")
    assert f"计量授权证书编号：{NUMBER}" in text and "未登记" not in text
    assert sorted(kind for _, kind in images) == ["image", "smask"]  # the seal and its transparency
    [page] = {p for p, _ in images}
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(page), "-l", str(page)]
        + [str(tmp_path / "after.pdf"), str(SCREENSHOTS / "certificate-pdf-with-seal")],
        check=True,
    )
    # the certificate page in English: its own labels in English (the payload's facts stay as signed)
    desk.click(".lang-switch a[data-lang=en]")
    desk.goto(f"{live_server}/work/certificates/{number}")
    screenshot(desk, "work-certificate-en")
    for label in desk.locator("main dt, main h1, main h2, main a, main button, main label").all_inner_texts():
        assert not CJK.search(label), label


def _file(name: str, data: bytes, mime: str) -> dict[str, object]:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_on_a_phone_in_english_the_settings_and_the_public_page_with_its_qr_code(platform, live_server, page):
    lab, number = world.issued_certificate(platform)
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    page.goto(f"{live_server}/public/verify/{number}?token={token}")
    page.wait_for_selector("#page-qr svg")
    assert page.inner_text("#scan-again h2") == "扫码再次核验"
    box = page.locator("#page-qr svg").bounding_box()
    assert box and box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 414  # whole, on screen
    page.wait_for_selector('#verdict:not([data-result="checking"])', timeout=15_000)
    # a signed "中文 / English" text in the page's language only
    assert (page.inner_text("#fact-title"), page.inner_text("#fact-conclusion")) == ("检定证书", "合格")
    screenshot(page, "public-certificate-qr-zh")
    page.click(".lang-switch a[data-lang=en]")
    page.wait_for_selector("#page-qr svg")
    assert page.inner_text("#scan-again h2") == "Scan to check again"
    page.wait_for_selector('#verdict:not([data-result="checking"])', timeout=15_000)
    assert not CJK.search(page.inner_text("#scan-again"))
    assert (page.inner_text("#fact-title"), page.inner_text("#fact-conclusion")) == (
        "verification certificate",
        "conforms",
    )
    screenshot(page, "public-certificate-qr-en")

    log_in(page, live_server, lab.manager.username, world.PASSWORD)
    page.goto(f"{live_server}/lab/institutions")
    page.set_input_files("#seal-form input[type=file]", files=[_file("s.png", seal.seal_png(300, 260), "image/png")])
    page.click("#seal-form button[type=submit]")
    page.wait_for_selector("#seal-image")
    assert page.inner_text(".flash") == "Seal uploaded."
    main = page.inner_text("main").replace(page.inner_text("#institution-name"), "")
    assert not CJK.search(main), main
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 414, width  # nothing wider than the phone
    screenshot(page, "lab-institution-phone-en")
    assert page.script_errors == []
