"""An administrator adds a metrology institution over the API, the pages and the CLI: in one
transaction it gets its row, its signing key and its PDF certificate under the platform root, each
ledgered, with an `institution.created` audit event; it can then have staff and issue certificates
that verify. Others are refused (403); a code in use or a missing name is refused with a message in
both languages and nothing written; a later change of its row with SQL is named by the auditor."""

from __future__ import annotations

import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from jiliang.api import create_app
from jiliang.audit import audit_events, history
from jiliang.certificates.pki import root_certificate_pem
from jiliang.certificates.tables import certificates, signing_keys, x509_certificates
from jiliang.ledger.append import AUDIT_KIND
from jiliang.ledger.auditor import audit
from jiliang.ledger.tables import ledger_leaves
from jiliang.registry.authorisations import set_authorisations
from jiliang.registry.tables import institutions
from tests.conftest import ADMIN_PASSWORD, login
from tests.integration.test_cli import cli  # noqa: F401  (fixture)
from tests.support import tamper, world
from tests.support.owner_pages import make_regulator
from tests.support.work_pages import form_token, log_in

NEW = {
    "code": "D310104-2",
    "name_zh": "徐汇区计量所第二实验室",
    "name_en": "Xuhui Metrology Institute, Second Laboratory",
    "district_code": "310104",
    "cross_district": False,
}


def _counts(platform) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return tuple(
            c.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (institutions, signing_keys, x509_certificates, audit_events, ledger_leaves)
        )


def _row(platform, code: str):  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return c.execute(select(institutions).where(institutions.c.code == code)).first()


def _assert_ready_to_sign(platform, code: str) -> None:  # type: ignore[no-untyped-def]
    """Its signing key is published and active, and its X.509 certificate is signed by the root."""
    inst = _row(platform, code)
    with platform.engine.connect() as c:
        key = c.execute(select(signing_keys).where(signing_keys.c.kid == inst.signing_kid)).one()
        cert_row = c.execute(select(x509_certificates).where(x509_certificates.c.institution_id == inst.id)).one()
        root = x509.load_pem_x509_certificate(root_certificate_pem(c).encode())  # type: ignore[union-attr]
    assert key.owner == code and key.retired_at is None and key.algorithm == "Ed25519"
    assert (platform.settings.data_dir / "keys" / f"{inst.signing_kid}.key").exists()
    cert = x509.load_pem_x509_certificate(cert_row.certificate_pem.encode())
    assert cert_row.role == "platform" and cert.issuer == root.subject
    cert.verify_directly_issued_by(root)  # raises when the root did not sign it
    assert code in cert.subject.rfc4514_string() and isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_an_administrator_adds_an_institution_that_then_issues_a_certificate_that_verifies(platform, client) -> None:
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post("/api/institutions", headers=admin, json=NEW)
    assert r.status_code == 201, r.text
    made = r.json()
    assert {k: made[k] for k in NEW} == NEW and made["signing_kid"] and made["x509_serial"]
    _assert_ready_to_sign(platform, NEW["code"])
    assert client.get(f"/api/institutions/{NEW['code']}", headers=admin).json()["name_en"] == NEW["name_en"]

    # staff, an authorisation, and the district's own institute no longer authorised for scales: the
    # Xuhui task comes to the new institution, whose approver issues a certificate that verifies
    set_authorisations(platform.uow(), world.admin(platform), NEW["code"], ["nawi"])
    set_authorisations(platform.uow(), world.admin(platform), "D310104", ["water_meter"])
    lab, number = world.issued_certificate(platform, "310104", NEW["code"])
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    assert cert.institution_id == lab.institution_id == made_id(platform)
    h = login(client, lab.approver.username, world.PASSWORD)
    assert client.get(f"/api/certificates/{number}", headers=h).json()["signature_valid"] is True
    assert client.get(f"/public/certificates/{number}").json()["status"] == "valid"
    pdf = client.get(f"/api/certificates/{number}/document", params={"format": "pdf"}, headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    with platform.engine.connect() as c:
        [event] = [e for e in history(c, "institution", lab.institution_id) if e["action"] == "institution.created"]
    assert event["after"]["code"] == NEW["code"] and event["after"]["signing_kid"] == made["signing_kid"]
    report = audit(platform)
    assert report.clean, [str(f) for f in report.findings]


def made_id(platform) -> int:  # type: ignore[no-untyped-def]
    return int(_row(platform, NEW["code"]).id)


def test_the_creation_is_one_transaction_ledgered_and_a_later_sql_change_is_named(platform, client) -> None:
    before = _counts(platform)
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post(
        "/api/institutions",
        headers=admin,
        json={**NEW, "code": "sh-lab-9 ", "district_code": None, "cross_district": True},
    )
    assert r.status_code == 201 and r.json()["code"] == "SH-LAB-9", r.text
    after = _counts(platform)
    # one institution, one key, one certificate, one event; leaves: the row, the key, the
    # certificate and the transaction's audit leaf
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1, 4]
    iid = _row(platform, "SH-LAB-9").id
    with platform.engine.connect() as c:
        kinds = c.execute(
            select(ledger_leaves.c.kind, ledger_leaves.c.record_id, ledger_leaves.c.version)
            .order_by(ledger_leaves.c.idx.desc())
            .limit(4)
        ).all()
        events = history(c, "institution", iid)
    assert ("institution", str(iid), 1) in kinds
    assert {k for k, _, _ in kinds} == {"institution", "signing_key", "x509_certificate", AUDIT_KIND}
    assert [e["action"] for e in events] == ["institution.created"]
    assert events[0]["actor_id"] == world.admin(platform).user_id and events[0]["before"] is None
    assert audit(platform).clean

    tamper.sql(platform, update(institutions).where(institutions.c.id == iid).values(cross_district=False))
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert ("changed", "institutions", str(iid)) in found


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"code": "D310104"}, 409, "is taken"),
        ({"code": "d310104"}, 409, "is taken"),  # the same code in lower case
        ({"name_en": "  "}, 422, "give the English name"),
        ({"name_zh": ""}, 422, "give the Chinese name"),
        ({"code": "沪-1"}, 422, "capital letters, digits and hyphens"),
        ({"code": "A" * 17}, 422, "at most 16 characters"),
        ({"name_en": "x" * 129}, 422, "at most 128 characters"),
        ({"district_code": "999999"}, 422, "no district 999999"),
        ({"district_code": None, "cross_district": False}, 422, "choose the institution's district"),
    ],
)
def test_bad_input_is_refused_in_both_languages_and_nothing_is_written(platform, client, change, status, says) -> None:
    before = _counts(platform)
    keys = sorted((platform.settings.data_dir / "keys").iterdir())
    r = client.post("/api/institutions", headers=login(client, "admin", ADMIN_PASSWORD), json={**NEW, **change})
    assert r.status_code == status, r.text
    zh, en = r.json()["detail"].split(" / ", 1)
    assert says in en and re.search(r"[\u4e00-\u9fff]", zh)
    if status == 409:
        assert r.json()["rule"] == "duplicate"
    assert _counts(platform) == before
    assert sorted((platform.settings.data_dir / "keys").iterdir()) == keys  # no key made for nothing


def test_the_openapi_document_describes_the_new_route(client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/institutions"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(operation["responses"])
    assert "requestBody" in operation and operation["security"]


def test_only_an_administrator_adds_an_institution(platform, client) -> None:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    regulator = make_regulator(platform, "310104")
    before = _counts(platform)
    for who in (lab.manager, regulator):
        h = login(client, who.username, world.PASSWORD)
        r = client.post("/api/institutions", headers=h, json=NEW)
        assert r.status_code == 403, r.text
        with TestClient(create_app(platform)) as browser:
            log_in(browser, who.username)
            assert browser.get("/lab/institutions/new").status_code == 403
            token = form_token(browser, "/account")
            assert browser.post("/lab/institutions", data={**_form(NEW), "csrf_token": token}).status_code == 403
            if who is lab.manager:  # their own institution's page, with no way to add one
                assert 'id="new-institution"' not in browser.get("/lab/institutions").text
    assert client.post("/api/institutions", json=NEW).status_code == 401
    assert _counts(platform) == before


def _form(values: dict[str, object]) -> dict[str, str]:
    form = {k: str(v) for k, v in values.items() if k != "cross_district" and v is not None}
    if values.get("cross_district"):
        form["cross_district"] = "yes"
    return form


def test_the_page_adds_an_institution_and_shows_a_refusal_in_the_visitors_language(platform) -> None:
    with TestClient(create_app(platform)) as browser:
        log_in(browser, "admin", ADMIN_PASSWORD)
        listing = browser.get("/lab/institutions")
        assert 'href="/lab/institutions/new"' in listing.text
        page = browser.get("/lab/institutions/new")
        assert page.status_code == 200 and "新增机构" in page.text and "机构代码" in page.text
        assert ">徐汇区</option>" in page.text and ">310104</option>" not in page.text  # names, never codes
        token = form_token(browser, "/lab/institutions/new")

        typed = {**NEW, "code": "D310104", "name_zh": "重复代码所"}
        r = browser.post("/lab/institutions", data={**_form(typed), "csrf_token": token})
        assert r.status_code == 409 and "机构代码 D310104 已被使用" in r.text and "is taken" not in r.text
        assert 'value="重复代码所"' in r.text and 'value="310104" selected' in r.text  # as typed

        browser.get("/lang/en")
        r = browser.post("/lab/institutions", data={**_form({**NEW, "name_en": ""}), "csrf_token": token})
        assert r.status_code == 422 and "give the English name" in r.text and "请填写英文名称" not in r.text
        assert f'value="{NEW["name_zh"]}"' in r.text
        assert ">Xuhui</option>" in r.text and ">徐汇区</option>" not in r.text

        browser.get("/lang/zh-CN")
        r = browser.post("/lab/institutions", data={**_form(NEW), "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/lab/institutions/{NEW['code']}"
        shown = browser.get(r.headers["location"])
        assert shown.status_code == 200 and "已新增机构" in shown.text and NEW["name_zh"] in shown.text
    _assert_ready_to_sign(platform, NEW["code"])
    assert _row(platform, NEW["code"]).cross_district is False


def test_the_new_institution_can_have_staff(platform, client) -> None:
    admin = login(client, "admin", ADMIN_PASSWORD)
    assert client.post("/api/institutions", headers=admin, json=NEW).status_code == 201
    lab = world.make_lab(platform, NEW["code"], ["nawi"])
    assert lab.institution_id == made_id(platform)
    h = login(client, lab.manager.username, world.PASSWORD)
    assert client.get(f"/api/institutions/{NEW['code']}", headers=h).json()["code"] == NEW["code"]


def test_the_cli_adds_an_institution(cli, platform) -> None:  # noqa: F811
    r = cli(
        "institution",
        "add",
        "SQI-2",
        "--name-zh",
        "上海市质量监督检验技术研究院分院",
        "--name-en",
        "SQI Branch",
        "--cross-district",
    )
    assert r.exit_code == 0, r.output
    assert "SQI-2" in r.stdout and "X.509" in r.stdout
    _assert_ready_to_sign(platform, "SQI-2")
    assert _row(platform, "SQI-2").district_code is None
    r = cli("institution", "add", "SQI-2", "--name-zh", "又一个", "--name-en", "Again", "--cross-district")
    assert r.exit_code == 2 and "is taken" in " ".join(r.stderr.split())
    r = cli("institution", "add", "SQI-3", "--name-zh", "缺英文名")
    assert r.exit_code == 2 and "give the English name" in " ".join(r.stderr.split())
    assert _row(platform, "SQI-3") is None


def test_an_administrators_revocation_of_a_pdf_certificate_is_within_their_right(platform) -> None:
    from jiliang.certificates.pki import revoke_pdf_certificate

    with platform.engine.connect() as c:
        serial = c.execute(
            select(x509_certificates.c.serial).where(
                x509_certificates.c.institution_id == world.institution_id(platform, "D310104")
            )
        ).scalar_one()
    assert revoke_pdf_certificate(platform.uow(), world.admin(platform), serial, "私钥泄露 key leaked")
    report = audit(platform)
    assert report.clean, [str(f) for f in report.findings]


def test_two_administrators_adding_the_same_code_at_once_get_one_institution_and_a_refusal(platform) -> None:
    """Whether the check or the database's unique key stops the second, it is told the code is taken (409),
    never a server error."""
    import threading

    from jiliang.errors import RuleViolation
    from jiliang.registry.institution_create import create_institution

    admin, start, outcomes = world.admin(platform), threading.Barrier(2), []

    def add() -> None:
        start.wait()
        try:
            create_institution(platform.uow(), admin, "RACE-1", "竞速计量所", "Race Metrology Institute", None, True)
            outcomes.append("created")
        except RuleViolation as exc:
            outcomes.append(exc.rule)

    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["created", "duplicate"]
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).where(institutions.c.code == "RACE-1")).scalar_one() == 1
