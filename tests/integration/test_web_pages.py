"""The public pages as HTTP sees them, on the real database: a certificate looked up by number
(status rendered by the server, no script needed), the QR page (an HTML shell with strict headers;
the checking itself runs in the browser, see tests/browser), the instrument label page, and the
language switch."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from jiliang.api import create_app
from jiliang.certificates.queries import forget_public_keys
from jiliang.certificates.service import amend_certificate, revoke_certificate
from jiliang.certificates.tables import certificates
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.label import label_path
from jiliang.registry.tables import instruments
from jiliang.verification import service as workflow
from jiliang.web.i18n import local_date
from tests.support import world

SCRIPT = "verify-certificate.js"


def _token(platform: Platform, number: str) -> str:
    with platform.engine.connect() as c:
        return str(c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one())


def _verdict(html: str) -> str:
    m = re.search(r'id="verdict"[^>]*data-result="([^"]+)"', html)
    assert m, html
    return m.group(1)


def _in_english(client, path: str = "/public/verify") -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/lang/en?next={quote(path, safe='')}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == path


# ------------------------------------------------------------------ the QR page (checked in the browser)


def test_the_certificate_page_is_public_html_with_a_strict_content_policy(client):
    r = client.get("/public/verify/D310104-2026-000001?token=abc_DEF-123")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"  # the URL carries the QR code's token
    assert "set-cookie" not in r.headers  # a public page sets no cookie
    html = r.text
    assert '<html lang="zh-CN">' in html and 'name="viewport"' in html
    assert 'data-proof-url="/public/certificates/D310104-2026-000001/proof?token=abc_DEF-123"' in html
    assert f'src="/static/{SCRIPT}?v=' in html and 'type="module"' in html
    for check in ("signature", "leaf", "inclusion", "checkpoint"):
        assert f'id="check-{check}"' in html
    assert "style=" not in html and "<script>" not in html  # nothing inline: the CSP holds


def test_the_page_escapes_what_the_visitor_typed(client):
    html = client.get("/public/verify/%3Cb%3Ex%22y?token=%22%3E%3Cscript%3E").text
    assert "<b>x" not in html and "&lt;b&gt;x&#34;y" in html
    assert '"><script>' not in html and "token=%22%3E%3Cscript%3E" in html


def test_the_language_switch_on_the_qr_page_comes_back_with_the_token(client):
    html = client.get("/public/verify/D310104-2026-000001?token=abc_DEF-123").text
    back = quote("/public/verify/D310104-2026-000001?token=abc_DEF-123", safe="")
    assert f'href="/lang/en?next={back}"' in html


def test_without_javascript_the_qr_page_still_shows_the_status_of_the_number(platform, client):
    _, number = world.issued_certificate(platform)
    html = client.get(f"/public/verify/{number}", params={"token": _token(platform, number)}).text
    noscript = html[html.index("<noscript>") : html.index("</noscript>")]
    assert "需要启用 JavaScript" in noscript and 'data-status="valid"' in noscript and "有效" in noscript


def test_the_script_and_stylesheet_are_served_from_static(client):
    js = client.get(f"/static/{SCRIPT}")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "export async function verifyInclusion" in js.text
    css = client.get("/static/jiliang.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


# ------------------------------------------------------------------ a newly issued certificate's QR code


def test_a_new_certificate_s_qr_code_leads_to_the_page_and_the_json_answer_stays_for_machines(platform, client):
    lab, number = world.issued_certificate(platform)
    token = _token(platform, number)
    with platform.engine.connect() as c:
        payload = c.execute(select(certificates.c.payload).where(certificates.c.number == number)).scalar_one()
    qr = f"/public/verify/{number}?token={token}"
    assert f'"verify_path":"{qr}"' in payload  # inside the signed bytes
    page = client.get(qr)
    assert (
        page.status_code == 200 and f'data-proof-url="/public/certificates/{number}/proof?token={token}"' in page.text
    )
    # the JSON answer (the QR target of certificates signed before the page existed) still answers.
    # Public keys are cached per process by kid, and every test database copies the same keys: forget
    # what an earlier test (e.g. one that reported this key compromised) left in the cache.
    forget_public_keys()
    facts = client.get(f"/public/certificates/{number}", params={"token": token}).json()
    assert facts["number"] == number and facts["status"] == "valid" and facts["signature_valid"] is True


# ------------------------------------------------------------------ the number alone: status, no script


def test_the_form_sends_a_typed_number_to_its_status_page(client):
    r = client.get("/public/verify")
    assert r.status_code == 200 and 'action="/public/verify"' in r.text and 'name="number"' in r.text
    assert "set-cookie" not in r.headers and SCRIPT not in r.text
    r = client.get("/public/verify", params={"number": " d310104-2026-000001 "}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/public/verify/D310104-2026-000001"


def test_the_form_explains_a_number_that_cannot_be_one(client):
    r = client.get("/public/verify", params={"number": "D310104/2026"})
    assert r.status_code == 422 and "证书编号由字母、数字和连字符组成" in r.text
    assert 'aria-invalid="true"' in r.text and 'value="D310104/2026"' in r.text


def test_a_valid_certificate_by_number_shows_valid_without_any_script(platform, client):
    _, number = world.issued_certificate(platform)
    r = client.get(f"/public/verify/{number}")
    assert r.status_code == 200 and "set-cookie" not in r.headers
    html = r.text
    assert _verdict(html) == "valid" and "该证书有效" in html
    assert SCRIPT not in html and "data-proof-url" not in html  # no proof without the QR code's token
    assert "请扫描证书上印制的二维码" in html  # the number alone cannot prove the paper is genuine
    # nothing printed on the certificate is shown: no instrument, no owner
    assert "电子计价秤" not in html and "测试商户" not in html


def test_a_revoked_certificate_by_number_shows_revoked(platform, client):
    lab, number = world.issued_certificate(platform)
    revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), number, "示值超差")
    html = client.get(f"/public/verify/{number}").text
    assert _verdict(html) == "revoked" and "该证书已被撤销" in html and "请勿再以此证书为据" in html
    assert "示值超差" not in html  # the reason is proven on the QR page, not shown by number alone


def test_an_amended_certificate_by_number_shows_superseded(platform, client):
    lab, number = world.issued_certificate(platform)
    amend_certificate(platform.uow(), world.confirm(platform, lab.approver), number, {"remarks": "更正"}, "笔误")
    html = client.get(f"/public/verify/{number}").text
    assert _verdict(html) == "superseded" and "请向使用单位索取更正后的证书" in html


def test_an_unknown_number_is_not_found(client):
    r = client.get("/public/verify/D310104-1999-000001")
    assert r.status_code == 404 and _verdict(r.text) == "not-found" and "查无此证书" in r.text
    assert 'name="number"' in r.text  # and the form to try again


# ------------------------------------------------------------------ the instrument label


def _label_token(platform: Platform, iid: int) -> str:
    with platform.engine.connect() as c:
        return str(c.execute(select(instruments.c.label_token).where(instruments.c.id == iid)).scalar_one())


def _verified(
    platform: Platform, instrument: str = "fuel_dispenser", readings: list[workflow.ReadingInput] | None = None
) -> tuple[int, str]:
    """An instrument verified by a lab end to end; its id and its label's QR target."""
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", [instrument])
    if instrument == "fuel_dispenser":  # JJG 443: a six-month period
        iid = world.fuel_dispenser(platform, owner)
        readings = readings or [workflow.ReadingInput("volume", "20.00", "20.02")]
    else:
        iid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    world.verify(platform, lab, task, readings)
    return iid, label_path(iid, _label_token(platform, iid))


def _valid_until(platform: Platform, iid: int) -> date:
    with platform.engine.connect() as c:
        return c.execute(select(instruments.c.valid_until).where(instruments.c.id == iid)).scalar_one()


def test_a_verified_fuel_dispenser_s_label_says_in_date_and_until_when(platform, client):
    iid, path = _verified(platform)
    assert path.startswith(f"/public/label/{iid}?token=")
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"] and "set-cookie" not in r.headers
    html = r.text
    until = local_date(_valid_until(platform, iid), "zh-CN")
    assert _verdict(html) == "in_date" and "检定合格，在有效期内" in html and f"有效期至 {until}" in html
    assert "燃油加油机" in html and "FD" in html  # name, catalogue type and serial number
    assert local_date(shanghai_today(), "zh-CN") in html  # the date the answer holds for


def test_a_verified_scale_without_a_known_period_says_the_period_is_unknown(platform, client):
    _, path = _verified(platform, "nawi")  # the catalogue holds no verification period for scales yet
    html = client.get(path).text
    assert _verdict(html) == "unknown" and "检定有效期未知" in html and "没有该器具的检定周期数据" in html


def test_a_scale_that_failed_verification_is_barred(platform, client):
    _, path = _verified(platform, "nawi", world.SCALE_FAIL)
    html = client.get(path).text
    assert _verdict(html) == "barred" and "检定不合格，禁止使用" in html


def test_an_instrument_past_its_valid_until_is_overdue(platform, client):
    iid, path = _verified(platform)
    past = shanghai_today() - timedelta(days=3)
    # no service moves a verification into the past: the clock is simulated by the stored date
    with platform.engine.begin() as c:
        c.execute(update(instruments).where(instruments.c.id == iid).values(valid_until=past))
    html = client.get(path).text
    assert _verdict(html) == "overdue" and "已超过检定有效期" in html
    assert f"检定有效期至 {local_date(past, 'zh-CN')}，已过期" in html


def test_a_never_verified_or_scrapped_scale_says_so(platform, client):
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    path = label_path(iid, _label_token(platform, iid))
    assert _verdict(client.get(path).text) == "never_verified"
    registry.scrap_instrument(platform.uow(), owner, iid)
    html = client.get(path).text
    assert _verdict(html) == "scrapped" and "已报废" in html


def test_the_label_links_to_the_instruments_current_certificate_check(platform, client):
    iid, path = _verified(platform)
    with platform.engine.connect() as c:
        number = c.execute(select(certificates.c.number).where(certificates.c.instrument_id == iid)).scalar_one()
    link = re.search(r'<a id="certificate-check" href="([^"]+)">([^<]+)</a>', client.get(path).text)
    assert link and link.group(1) == f"/public/verify/{quote(number, safe='')}" and number in link.group(2)
    assert _verdict(client.get(link.group(1)).text) == "valid"  # that certificate's own public check
    assert 'href="/public/verify"' not in client.get(path).text  # not the generic form
    owner = world.make_owner(platform, "310104")
    never = world.scale(platform, owner)  # no certificate yet: no link to one
    assert 'id="certificate-check"' not in client.get(label_path(never, _label_token(platform, never))).text


def test_without_the_token_the_label_page_shows_the_status_only_as_the_json_answer(platform, client):
    iid, path = _verified(platform)
    with platform.engine.connect() as c:
        serial = c.execute(select(instruments.c.serial_no).where(instruments.c.id == iid)).scalar_one()
    for instrument in (iid, 999999):  # as /public/instruments/{id}: an unknown id's status is "unknown"
        r = client.get(f"/public/label/{instrument}")
        status = client.get(f"/public/instruments/{instrument}").json()["status"]
        assert r.status_code == 200 and _verdict(r.text) == status, instrument
        assert "仅显示状态" in r.text and 'id="fact-' not in r.text and 'id="certificate-check"' not in r.text
        for secret in (serial, "燃油加油机", "D310104"):
            assert secret not in r.text, (instrument, secret)
    assert _verdict(client.get(f"/public/label/{iid}").text) == "in_date"


def test_a_wrong_token_is_a_404_that_says_nothing_about_the_instrument(platform, client):
    iid, path = _verified(platform)
    with platform.engine.connect() as c:
        serial = c.execute(select(instruments.c.serial_no).where(instruments.c.id == iid)).scalar_one()
    for url in (
        f"/public/label/{iid}?token=guessed",
        "/public/label/999999?token=x",
        "/public/label/abc?token=x",
        f"/public/label/{iid}0000000000?token=x",
    ):
        r = client.get(url)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), url
        assert _verdict(r.text) == "not-found" and "无法识别此标签" in r.text
        for secret in (serial, "燃油加油机", "检定合格"):
            assert secret not in r.text, (url, secret)


# ------------------------------------------------------------------ language


def test_the_public_pages_follow_the_language_switch(platform, client):
    _, number = world.issued_certificate(platform)
    iid, path = _verified(platform)
    _in_english(client, f"/public/verify/{number}")
    html = client.get(f"/public/verify/{number}").text
    assert '<html lang="en">' in html and "This certificate is valid" in html and "该证书有效" not in html
    html = client.get(path).text
    until = local_date(_valid_until(platform, iid), "en")
    assert "Verified and in date" in html and f"Valid until {until}." in html and "在有效期内" not in html
    html = client.get("/public/verify/D310104-1999-000001?token=x").text
    assert "Checks run in your browser" in html and "在您的浏览器中运行的核验" not in html
    client.get("/lang/zh-CN?next=/public/verify")  # and back
    assert "该证书有效" in client.get(f"/public/verify/{number}").text


# ------------------------------------------------------------------ rate limit


def test_the_public_pages_are_rate_limited_per_client_and_say_so_in_a_page(settings):
    limited = Platform(replace(settings, public_rate_limit=3))
    try:
        with TestClient(create_app(limited)) as c:
            answers = [c.get(url).status_code for url in ("/public/verify", "/public/verify/X-1", "/public/label/1")]
            assert answers == [200, 404, 200]  # a label without its token: the status only
            r = c.get("/public/verify")
            assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
            assert "请求过于频繁" in r.text and "too many requests" not in r.text
    finally:
        limited.engine.dispose()


def test_a_browser_following_an_old_qr_code_to_the_json_endpoint_lands_on_the_page(client, platform) -> None:  # type: ignore[no-untyped-def]
    # certificates issued before the QR code led to the page carry /public/certificates/{n}?token=
    _, number = world.issued_certificate(platform)
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == number)).scalar_one()
    old_qr = f"/public/certificates/{number}?token={token}"
    r = client.get(old_qr, headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == f"/public/verify/{number}?token={token}"
    machine = client.get(old_qr, headers={"Accept": "application/json"})
    assert machine.status_code == 200 and machine.json()["number"] == number
