"""The public certificate page shows the QR code of its own address, so a printed page or a screen can
be scanned again; the owner's instrument page leads to each certificate's public check. A code is
checked against segno's own encoding of the address (JILIANG_PUBLIC_URL + the path), mask fixed."""

from __future__ import annotations

import re

import segno
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.certificates.tables import certificates
from jiliang.platform import shanghai_today
from jiliang.registry.queries import instrument_detail
from jiliang.verification import service as workflow
from tests.support import world
from tests.support.owner_pages import make_regulator, page_login


def _svg_of(url: str) -> str:
    svg = segno.make(url, error="m", micro=False, mask=0).svg_inline(scale=3, border=4)
    return re.search(r' d="([^"]+)"', svg).group(0)  # type: ignore[union-attr]


def test_the_public_certificate_page_shows_the_qr_code_of_its_own_address(platform, client) -> None:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    number = world.verify(platform, lab, task)
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    path = f"/public/verify/{number}?token={token}"
    page = client.get(path).text
    assert 'id="page-qr"' in page and _svg_of(platform.settings.public_url.rstrip("/") + path) in page
    assert "<title>扫码核验本证书</title>" in page and "扫码再次核验" in page
    client.get("/lang/en")
    english = client.get(path).text
    assert "<title>Scan to check this certificate</title>" in english and "扫码" not in english
    # no code for a number the platform does not know: nothing there to check again
    assert 'id="page-qr"' not in client.get(f"/public/verify/D310104-2026-987654?token={token}").text

    with TestClient(create_app(platform)) as mine:
        page_login(mine, owner.username)
        instrument = mine.get(f"/owner/instruments/{task_instrument(platform, number)}").text
        assert f'class="check-online" href="{path}"' in instrument.replace("&amp;", "&")
        assert f'href="/owner/certificates/{number}/pdf"' in instrument
        listing = mine.get("/owner/certificates").text
        assert f'href="{path}"' in listing.replace("&amp;", "&")


def task_instrument(platform, number: str) -> int:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return int(c.execute(select(certificates.c.instrument_id).where(certificates.c.number == number)).scalar_one())


def test_only_the_owner_gets_the_certificates_links_with_their_token(platform) -> None:
    _, number = world.issued_certificate(platform)
    regulator = make_regulator(platform, "310104")
    with platform.engine.connect() as c:
        seen = instrument_detail(c, regulator, task_instrument(platform, number), shanghai_today())
    assert seen["certificates"] and all(
        "verify_path" not in c and "public_token" not in c for c in seen["certificates"]
    )
