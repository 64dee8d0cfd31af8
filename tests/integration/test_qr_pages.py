"""QR codes where people need them: the institution's certificate page (with the printable PDF and, once
amended, the way forward to its replacement) and the owner's printable instrument label. A code is
checked against segno's own encoding of the address it must lead to (JILIANG_PUBLIC_URL + the path)."""

from __future__ import annotations

import re

import pytest
import segno
from fastapi.testclient import TestClient
from markupsafe import escape

from jiliang.api import create_app
from jiliang.certificates.queries import get_certificate
from jiliang.registry.tables import instruments
from tests.support import world
from tests.support.owner_pages import page_login
from tests.support.work_pages import clients, post_form


def _svg_of(url: str) -> str:
    """The modules of the QR code of `url` as the pages draw them (error correction M, four-module
    quiet zone, scale 3): the path data of segno's SVG."""
    svg = segno.make(url, error="m", micro=False).svg_inline(scale=3, border=4)
    return re.search(r' d="([^"]+)"', svg).group(0)  # type: ignore[union-attr]


@pytest.fixture
def as_(platform):  # type: ignore[no-untyped-def]
    yield from clients(platform)


def test_the_certificate_page_shows_its_qr_code_the_pdf_and_its_replacement(platform, as_) -> None:
    lab, number = world.issued_certificate(platform)
    base = platform.settings.public_url.rstrip("/")
    approver = as_(lab.approver)
    with platform.engine.connect() as conn:
        token = get_certificate(conn, lab.approver, number).public_token
    url = f"/work/certificates/{number}"
    page = approver.get(url).text
    assert _svg_of(f"{base}/public/verify/{number}?token={token}") in page
    assert 'id="replaced-by"' not in page
    r = approver.get(f"{url}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    # the page says that a reader trusts the PDF's signature once it trusts the root, and offers the root
    assert 'id="pdf-signature-note"' in page and 'href="/public/keys/root.crt"' in page
    assert TestClient(create_app(platform)).get("/public/keys/root.crt").text.startswith("-----BEGIN CERTIFICATE")
    data = {"password": world.PASSWORD, "reason": "型号录入错误", "instrument.model": "TM-B"}
    new = post_form(approver, url, f"{url}/amend", data).headers["location"].rsplit("/", 1)[1]
    old_page = approver.get(url).text
    assert 'id="replaced-by"' in old_page and f'href="/work/certificates/{new}"' in old_page
    other = world.make_lab(platform, "D310101", ["nawi"])
    assert as_(other.approver).get(f"{url}/pdf").status_code == 404


def test_the_owner_prints_the_instruments_label_with_its_qr_code(platform) -> None:
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    with platform.engine.connect() as conn:
        row = conn.execute(instruments.select().where(instruments.c.id == iid)).one()
    base = platform.settings.public_url.rstrip("/")
    with TestClient(create_app(platform)) as client:
        page_login(client, owner.username)
        assert f'href="/owner/instruments/{iid}/label"' in client.get(f"/owner/instruments/{iid}").text
        r = client.get(f"/owner/instruments/{iid}/label")
        assert r.status_code == 200
        label = r.text
        assert _svg_of(f"{base}/public/label/{iid}?token={row.label_token}") in label
        for shown in (row.name, row.serial_no, row.label_token, "扫码查验检定状态"):
            assert str(escape(shown)) in label, shown
        # the page the code leads to answers for this instrument
        assert client.get(f"/public/label/{iid}?token={row.label_token}").status_code == 200
    with TestClient(create_app(platform)) as stranger:
        page_login(stranger, world.make_owner(platform, "310104").username)
        refused = stranger.get(f"/owner/instruments/{iid}/label")
        assert refused.status_code == stranger.get(f"/owner/instruments/{iid}").status_code == 404
        assert row.label_token not in refused.text
