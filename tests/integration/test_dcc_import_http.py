"""A standard's DCC calibration certificate imported over HTTP: `POST /api/standards/{id}/calibrations/dcc`
(multipart) answers 201 with what was recorded — the number, laboratory, date, due date after the
institution's interval, every U with k and unit, the signature's outcome and signer — and the standards
page's form per standard does the same and says so in the page's language. Who may: the standard's
institution's lab manager, or an administrator; another institution's standard is not there (404, as
for an id that does not exist). Bad input is refused by name with nothing written.

Expected values come from the example files' own text (read with lxml in test_dcc_import.py), never
from the parser under test."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from jiliang.web.i18n import local_date
from tests.conftest import ADMIN_PASSWORD, login
from tests.integration.test_dcc_import import _ca, _example_text, _ranged, _sign, _state
from tests.support import world
from tests.support.dcc_files import SIGNED, UNSIGNED
from tests.support.work_pages import form_token, log_in

CJK = re.compile(r"[\u4e00-\u9fff]")
XML = "application/xml"


def _import(client, headers, sid: int, data: bytes, months: str | None = "12", root: bytes | None = None):  # type: ignore[no-untyped-def]
    files = {"file": ("dcc.xml", data, XML)}
    if root is not None:
        files["trust_root"] = ("root.pem", root, "application/x-pem-file")
    form = {} if months is None else {"interval_months": months}
    return client.post(f"/api/standards/{sid}/calibrations/dcc", headers=headers, data=form, files=files)


def test_a_lab_manager_imports_both_examples_over_the_api_and_gets_what_was_recorded(platform, client) -> None:
    lab = world.make_lab(platform, "SIMT", [])
    manager = login(client, lab.manager.username, world.PASSWORD)
    bare = world.make_lab(platform, "SIMT", [])  # an administrator imports onto any institution's standard
    for path, sid, headers in ((UNSIGNED, lab.standard_id, manager), (SIGNED, bare.standard_id, None)):
        stated = _example_text(path)
        r = _import(client, headers or login(client, "admin", ADMIN_PASSWORD), sid, path.read_bytes())
        assert r.status_code == 201, r.text
        got = r.json()
        assert (got["standard_id"], got["certificate_no"]) == (sid, stated["number"])
        assert got["calibrated_by"] == stated["lab"]
        assert (got["calibrated_on"], got["due"]) == (stated["date"], "1958-08-12")  # + 12 months − 1 day
        assert got["current"] is False and got["in_tolerance"] is True  # 1957: the recorded calibration stays
        assert [(x["lower"], x["upper"], x["unit"]) for x in got["ranges"]] == [(v, v, "K") for v in stated["refs"]]
        assert {(x["expanded_uncertainty"], x["coverage_factor"], x["uncertainty_unit"]) for x in got["ranges"]} == {
            (stated["U"], stated["k"], "K")
        }
        if path == UNSIGNED:
            assert got["signature"] == {
                "status": "unsigned",
                "signed_by": None,
                "certificate_valid_from": None,
                "certificate_valid_until": None,
            }
        else:
            assert got["signature"]["status"] == "valid"
            assert got["signature"]["signed_by"].startswith("E=example@ptb.de,CN=cert,OU=1.24,O=PTB,")
            assert got["signature"]["certificate_valid_from"].startswith("2026-01-06")
            assert any("recalibration date 1959-10-22" in note for note in got["notes"])  # shown, not used
    again = _import(client, manager, lab.standard_id, UNSIGNED.read_bytes())
    assert again.status_code == 409 and "already recorded" in again.json()["detail"]


def test_bad_input_another_institution_and_a_role_without_the_right_are_refused_with_nothing_written(
    platform, client
) -> None:
    lab = world.make_lab(platform, "SIMT", [])
    other = world.make_lab(platform, "D310105", ["nawi"])
    manager = login(client, lab.manager.username, world.PASSWORD)
    theirs = login(client, other.manager.username, world.PASSWORD)
    good = UNSIGNED.read_bytes()
    before = _state(platform, lab.standard_id)

    r = _import(client, manager, lab.standard_id, b"<not-a-dcc")
    assert (r.status_code, r.json()["rule"]) == (422, "dcc") and "not a well-formed XML file" in r.json()["detail"]
    r = _import(client, manager, lab.standard_id, good, months=None)
    assert (r.status_code, r.json()["rule"]) == (422, "invalid_input") and "interval_months" in r.json()["detail"]
    r = _import(client, manager, lab.standard_id, good, months="0")
    assert r.status_code == 422 and "interval_months" in r.json()["detail"]
    r = _import(client, manager, lab.standard_id, SIGNED.read_bytes().replace(b">0.061<", b">0.062<"))
    assert r.status_code == 422 and "signature does not verify" in r.json()["detail"]
    r = _import(client, manager, lab.standard_id, good, root=b"not a root")  # the example is not signed
    assert r.status_code == 422 and "the DCC is not signed" in r.json()["detail"]
    # another institution's standard answers exactly as one that does not exist
    mine, missing = _import(client, theirs, lab.standard_id, good), _import(client, theirs, 987654, good)
    assert (mine.status_code, missing.status_code) == (404, 404)
    assert mine.json()["detail"].replace(str(lab.standard_id), "ID") == missing.json()["detail"].replace("987654", "ID")
    r = _import(client, login(client, lab.verifier.username, world.PASSWORD), lab.standard_id, good)
    assert r.status_code == 403
    assert _state(platform, lab.standard_id) == before


def _browser(platform, username: str):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from jiliang.api import create_app

    return log_in(TestClient(create_app(platform)), username)


def _post(browser, sid: int, data: bytes, months: str = "12", root: bytes | None = None):  # type: ignore[no-untyped-def]
    """The standard's form on the standards page, submitted with its CSRF token."""
    files = {"dcc": ("dcc.xml", data, XML)} | ({} if root is None else {"trust_root": ("root.pem", root, "text/plain")})
    return browser.post(
        f"/lab/standards/{sid}/dcc",
        data={"interval_months": months, "csrf_token": form_token(browser, "/lab/standards")},
        files=files,
        follow_redirects=False,
    )


def _flash(browser) -> str:  # type: ignore[no-untyped-def]
    said = re.search(r'class="flash" role="status">([^<]*)<', browser.get("/lab/standards").text)
    assert said
    return html.unescape(said.group(1))


def test_the_standards_page_imports_a_dcc_and_says_what_was_recorded_in_its_language(platform) -> None:
    lab = world.make_lab(platform, "SIMT", [])
    browser = _browser(platform, lab.manager.username)
    page = browser.get("/lab/standards").text
    assert f'action="/lab/standards/{lab.standard_id}/dcc#dcc-{lab.standard_id}"' in page
    assert "导入 DCC 校准证书" in page and "JJF 1139" in page

    def post(data: bytes, months: str = "12"):  # type: ignore[no-untyped-def]
        return _post(browser, lab.standard_id, data, months)

    before = _state(platform, lab.standard_id)
    r = post(UNSIGNED.read_bytes(), months="")
    assert r.status_code == 422 and 'id="dcc-error"' in r.text and "请填写校准间隔（月）" in r.text
    assert f'id="dcc-{lab.standard_id}" open' in r.text
    browser.cookies.set("jiliang_lang", "en")
    # a U that is not positive: the message names it in English alone
    zero = UNSIGNED.read_bytes().replace(b"<si:uncertaintyXMLList>0.061", b"<si:uncertaintyXMLList>0")
    assert zero != UNSIGNED.read_bytes()
    r = post(zero)
    error = re.search(r'id="dcc-error">([^<]*)<', r.text)
    assert r.status_code == 422 and error, r.text[-2000:]
    assert "is not positive" in error.group(1) and not CJK.search(error.group(1)), error.group(1)
    assert _state(platform, lab.standard_id) == before

    r = post(SIGNED.read_bytes())
    assert (r.status_code, r.headers["location"]) == (303, "/lab/standards#top")
    stated = _example_text(SIGNED)
    text = _flash(browser)
    assert f"DCC calibration certificate {stated['number']} of {stated['lab']} recorded" in text
    assert f"due {local_date('1958-08-12', 'en')}" in text and "U stated for 5 points or ranges" in text
    assert "Signed by E=example@ptb.de,CN=cert,OU=1.24,O=PTB," in text and "the signature is valid" in text
    assert "A later calibration is already recorded" in text and not CJK.search(text)
    assert "The DCC states a recalibration date 1959-10-22 (the customer's); the due date follows your interval" in text


def test_the_page_says_when_the_dcc_fails_and_when_its_signer_chains_to_the_root_given(platform) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    lab = world.make_lab(platform, "SIMT", [])
    fresh = registry.add_standard(
        platform.uow(), lab.manager, lab.manager.institution_id, "铂电阻温度计标准装置", "[2025]沪量标88号",
        shanghai_today() + timedelta(days=700), [],
    )  # fmt: skip
    browser = _browser(platform, lab.manager.username)
    failed = UNSIGNED.read_bytes().replace(
        b"<dcc:conformity>pass</dcc:conformity>", b"<dcc:conformity>fail</dcc:conformity>"
    )
    assert failed != UNSIGNED.read_bytes()
    assert _post(browser, fresh, failed).status_code == 303
    assert "DCC 未签名。DCC 给出不符合要求的结论：该计量标准重新校准前不得使用。" in _flash(browser)
    root, leaf, key = _ca("中国计量科学研究院")
    assert (
        _post(browser, fresh, _sign(_ranged("NIM-P-1"), leaf, key), root=root.public_bytes(Encoding.PEM)).status_code
        == 303
    )
    flash = _flash(browser)
    assert "已导入 中国计量科学研究院 的 DCC 校准证书 NIM-P-1：有效期至" in flash and "给出 2 个点或范围" in flash
    assert "签名人 CN=校准签名,O=中国计量科学研究院，其证书可追溯至给定的可信根证书。" in flash
