"""The printable certificate: a Chinese A4 PDF over the API and the CLI, read back with poppler's own
tools (pdftotext for the text layer, pdffonts for the embedded font, pdftoppm for the first page as an
image, kept in test-artifacts/ to look at)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from jiliang.ledger.tables import ledger_leaves
from tests.conftest import login, missing_service
from tests.integration.test_cli import cli, issued  # noqa: F401  (fixtures)
from tests.support import world

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def poppler() -> None:
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdffonts", "pdftoppm")):
        missing_service("poppler-utils (pdftotext, pdffonts, pdftoppm) not installed")


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _pdf(client, headers, number: str) -> bytes:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/certificates/{number}/document", params={"format": "pdf"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    assert r.content.startswith(b"%PDF-")
    return r.content


def _leaf_hash(platform, number: str) -> str:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        data = c.execute(
            select(ledger_leaves.c.data)
            .where(ledger_leaves.c.kind == "certificate", ledger_leaves.c.record_id == number)
            .order_by(ledger_leaves.c.idx.desc())
        ).scalar()
    return hashlib.sha256(b"\x00" + bytes(data)).hexdigest()  # RFC 9162 leaf hash


def test_the_certificate_prints_as_a_chinese_pdf(platform, client, poppler, tmp_path) -> None:
    lab, number = world.issued_certificate(platform)
    h = login(client, lab.approver.username, world.PASSWORD)
    pdf = _pdf(client, h, number)
    text = _text(pdf, tmp_path)
    payload = client.get(f"/api/certificates/{number}", headers=h).json()["payload"]
    for shown in (
        "检定证书",
        number,
        payload["owner"]["name"],
        payload["instrument"]["name"],
        payload["instrument"]["serial_no"],
        "JJG 539-2016",
        "检定结论",
        "合格",
        "称量测试载荷",  # a point's name from JJG 539, not its code
        "偏载测试",
        "环境温度：20.5 °C",
        payload["standards"][0]["examination_certificate"],
        _leaf_hash(platform, number),
        "检定专用章",
    ):
        assert shown in text, shown
    for code in ("weighing_zero", "eccentricity", "iii_subsequent", "temperature"):
        assert code not in text, code  # users read names, not codes
    assert text.count(f"证书编号：{number}") == 2  # the number on every page
    tight = text.replace(" ", "")
    assert "第1页共2页" in tight and "第2页共2页" in tight
    assert "verify/" + number in text and "token=" in text  # the public check the QR code leads to
    fonts = subprocess.run(["pdffonts", str(tmp_path / "c.pdf")], capture_output=True, text=True, check=True).stdout
    embedded = [line for line in fonts.splitlines() if "WenQuanYiZenHei" in line]
    assert embedded and all(" yes yes " in line for line in embedded), fonts  # embedded as a subset


def test_the_first_page_renders_with_ink_and_is_kept_to_look_at(platform, client, poppler, tmp_path) -> None:
    lab, number = world.issued_certificate(platform)
    pdf = _pdf(client, login(client, lab.approver.username, world.PASSWORD), number)
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-singlefile", "-f", "1", str(tmp_path / "c.pdf"), str(tmp_path / "p")],
        check=True,
    )
    raw = (tmp_path / "p.pgm").read_bytes()
    magic, width, height, maxval, pixels = raw.split(maxsplit=4)
    assert magic == b"P5" and int(width) > 300 and int(height) > 400 and int(maxval) == 255
    dark = sum(1 for b in pixels if b < 128)
    assert 0.003 < dark / len(pixels) < 0.5  # text, tables and the QR code; not blank, not a black page
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "80",
            "-png",
            "-singlefile",
            "-f",
            "1",
            str(tmp_path / "c.pdf"),
            str(ARTIFACTS / "certificate-page-1"),
        ],
        check=True,
    )


def test_a_revoked_certificate_prints_as_revoked(platform, client, poppler, tmp_path) -> None:
    lab, number = world.issued_certificate(platform)
    h = login(client, lab.approver.username, world.PASSWORD)
    r = client.post(
        f"/api/certificates/{number}/revoke", headers=h, json={"password": world.PASSWORD, "reason": "溯源失效"}
    )
    assert r.status_code == 200, r.text
    assert "本证书已撤销" in _text(_pdf(client, h, number), tmp_path)


def test_only_those_who_may_see_a_certificate_get_its_pdf(platform, client) -> None:
    lab, number = world.issued_certificate(platform)
    other = world.make_lab(platform, "D310101", ["nawi"])
    r = client.get(
        f"/api/certificates/{number}/document?format=pdf",
        headers=login(client, other.approver.username, world.PASSWORD),
    )
    assert r.status_code == 404
    assert client.get(f"/api/certificates/{number}/document?format=pdf").status_code == 401
    h = login(client, lab.approver.username, world.PASSWORD)
    assert client.get(f"/api/certificates/{number}/document?format=xml", headers=h).status_code == 422
    assert client.get(f"/api/certificates/{number}/document", headers=h).json()["payload"]["number"] == number


def test_the_cli_exports_the_pdf(cli, issued, poppler, tmp_path) -> None:  # noqa: F811
    out = tmp_path / "c.pdf"
    r = cli("cert", "export", issued, "--format", "pdf", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF-") and issued in _text(out.read_bytes(), tmp_path)


def test_without_the_chinese_font_the_pdf_is_refused_plainly(platform, client, monkeypatch) -> None:
    from jiliang.certificates import pdf

    lab, number = world.issued_certificate(platform)
    h = login(client, lab.approver.username, world.PASSWORD)
    monkeypatch.setattr(pdf, "FONT_PATHS", (Path("/nonexistent/font.ttc"),))
    pdf._font.cache_clear()
    try:
        r = client.get(f"/api/certificates/{number}/document?format=pdf", headers=h)
    finally:
        pdf._font.cache_clear()
    assert r.status_code == 503 and r.json()["rule"] == "unavailable"
    assert "fonts-wqy-zenhei" in r.json()["detail"]


def test_text_that_looks_like_markup_prints_as_written(poppler, tmp_path) -> None:
    """reportlab reads a paragraph as markup: an owner called "A&B <Ltd>" must print as typed."""
    from jiliang.certificates.pdf import PrintedCertificate, render_pdf

    payload = {
        "number": "T-1",
        "title": "检定证书 / verification certificate",
        "kind": "verification",
        "owner": {"name": "甲&乙 <商行>", "address": "路<b>1</b>号"},
        "instrument": {"name": "秤"},
        "record": {"performed_on": "2026-12-02"},
        "issuer": {"name": "徐汇区计量所", "code": "D310104"},
    }
    pdf = render_pdf(PrintedCertificate(payload, "valid", "http://x/public/verify/T-1?token=t", lambda _: "测量点"))
    text = _text(pdf, tmp_path)
    assert "甲&乙 <商行>" in text and "路<b>1</b>号" in text
