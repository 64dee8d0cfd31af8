"""Certificates over HTTP: amendment, revocation, the public QR views, key rotation, SM2, rate limiting."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jiliang.api import create_app
from jiliang.certificates.document import verify_document
from jiliang.certificates.queries import PUBLIC_FIELDS
from jiliang.certificates.signing import KeySet
from jiliang.certificates.tables import certificates
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.tables import owners
from jiliang.verification import service as workflow
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world


def _issue(platform, lab, owner=None, readings=None, on=None):
    owner = owner or world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    return world.verify(platform, lab, task, readings, on=on), iid, owner


def _seq(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def _qr_json(qr: str) -> str:
    """A certificate's QR code leads to the page /public/verify/{n}?token=; machines read the same
    number and token as JSON at /public/certificates/{n}?token=."""
    assert qr.startswith("/public/verify/") and "?token=" in qr, qr
    return "/public/certificates/" + qr.removeprefix("/public/verify/")


def _qr(client, headers, number: str) -> str:
    """The JSON answer behind the certificate's QR code."""
    r = client.get(f"/api/certificates/{number}", headers=headers)
    assert r.status_code == 200, r.text
    return _qr_json(r.json()["qr"])


def _document(client, headers, number: str) -> dict:
    r = client.get(f"/api/certificates/{number}/document", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _published(client) -> KeySet:
    return KeySet.from_json(client.get("/public/keys").json())


# ------------------------------------------------------------------ amendment and revocation


def test_amendment_gets_the_next_number_names_the_old_one_and_supersedes_it(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    old, _, _ = _issue(platform, lab)
    h = login(client, lab.approver.username, world.PASSWORD)
    r = client.post(
        f"/api/certificates/{old}/amend",
        headers=h,
        json={"password": world.PASSWORD, "corrections": {"instrument.model": "TM-B"}, "reason": "型号录入错误"},
    )
    assert r.status_code == 201, r.text
    new = r.json()["number"]
    assert new != old and _seq(new) == _seq(old) + 1  # gap-free: the very next number
    assert new.rsplit("-", 1)[0] == old.rsplit("-", 1)[0]
    detail = client.get(f"/api/certificates/{new}", headers=h).json()
    assert detail["payload"]["supersedes"] == old and detail["supersedes"] == old
    assert detail["payload"]["instrument"]["model"] == "TM-B"
    assert detail["payload"]["amendment_reason"] == "型号录入错误"
    assert detail["signature_valid"] is True
    assert client.get(f"/public/certificates/{old}").json() == {"number": old, "status": "superseded"}
    assert client.get(f"/public/certificates/{new}").json() == {"number": new, "status": "valid"}
    # a superseded certificate cannot be amended again
    r = client.post(
        f"/api/certificates/{old}/amend",
        headers=h,
        json={"password": world.PASSWORD, "corrections": {"instrument.model": "TM-C"}, "reason": "再改"},
    )
    assert r.status_code == 409 and r.json()["rule"] == "state"


def test_amendment_cannot_touch_readings_or_the_conclusion(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    old, _, _ = _issue(platform, lab)
    h = login(client, lab.approver.username, world.PASSWORD)
    for field in ("conclusion", "points", "valid_until", "record.verdict"):
        r = client.post(
            f"/api/certificates/{old}/amend",
            headers=h,
            json={"password": world.PASSWORD, "corrections": {field: "合格"}, "reason": "试图改结论"},
        )
        assert r.status_code == 422, (field, r.text)
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(certificates)).scalar_one() == 1
    assert client.get(f"/public/certificates/{old}").json()["status"] == "valid"


def test_revocation_needs_a_reason_and_shows_revoked_publicly(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, _, _ = _issue(platform, lab)
    h = login(client, lab.approver.username, world.PASSWORD)
    for body in ({"password": world.PASSWORD, "reason": "  "}, {"password": world.PASSWORD}):
        assert client.post(f"/api/certificates/{number}/revoke", headers=h, json=body).status_code == 422
    assert client.get(f"/public/certificates/{number}").json()["status"] == "valid"
    r = client.post(
        f"/api/certificates/{number}/revoke", headers=h, json={"password": world.PASSWORD, "reason": "标准器溯源失效"}
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/public/certificates/{number}").json() == {"number": number, "status": "revoked"}
    detail = client.get(f"/api/certificates/{number}", headers=h).json()
    assert detail["status"] == "revoked" and detail["revocation_reason"] == "标准器溯源失效"
    assert client.get(_qr_json(detail["qr"])).json()["status"] == "revoked"
    r = client.post(
        f"/api/certificates/{number}/revoke", headers=h, json={"password": world.PASSWORD, "reason": "again"}
    )
    assert r.status_code == 409 and r.json()["rule"] == "state"


def test_revocation_with_a_wrong_password_is_refused(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, _, _ = _issue(platform, lab)
    h = login(client, lab.approver.username, world.PASSWORD)
    r = client.post(f"/api/certificates/{number}/revoke", headers=h, json={"password": "wrong-one", "reason": "x"})
    assert r.status_code == 403 and r.json()["rule"] == "password_confirmation"
    assert client.get(f"/public/certificates/{number}").json()["status"] == "valid"


def test_verifier_may_not_revoke_or_amend(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, _, _ = _issue(platform, lab)
    h = login(client, lab.verifier.username, world.PASSWORD)
    assert (
        client.post(
            f"/api/certificates/{number}/revoke", headers=h, json={"password": world.PASSWORD, "reason": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/certificates/{number}/amend",
            headers=h,
            json={"password": world.PASSWORD, "corrections": {"remarks": "x"}, "reason": "x"},
        ).status_code
        == 403
    )


# ------------------------------------------------------------------ the public QR views


def test_number_alone_shows_only_number_and_status(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, _, _ = _issue(platform, lab)
    r = client.get(f"/public/certificates/{number}")
    assert r.status_code == 200
    assert r.json() == {"number": number, "status": "valid"}


def test_number_and_token_show_exactly_the_public_fields_and_nothing_about_the_owner(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, _, owner = _issue(platform, lab)
    with platform.engine.connect() as c:
        name, code, address = c.execute(
            select(owners.c.name, owners.c.credit_code, owners.c.address).where(owners.c.id == owner.owner_id)
        ).one()
    qr = _qr(client, login(client, owner.username, world.PASSWORD), number)
    r = client.get(qr)
    assert r.status_code == 200
    facts = r.json()
    assert set(facts) == set(PUBLIC_FIELDS)
    assert facts["number"] == number and facts["status"] == "valid" and facts["signature_valid"] is True
    assert facts["conclusion"].startswith("合格") and facts["verification_date"] == str(shanghai_today())
    for secret in (name, code, address, owner.username):
        assert secret not in r.text


def test_wrong_token_is_404_and_unknown_number_is_status_unknown(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, _, _ = _issue(platform, lab)
    r = client.get(f"/public/certificates/{number}", params={"token": "guessed-token"})
    assert r.status_code == 404 and r.json()["rule"] == "not_found"
    assert number not in r.text
    assert client.get("/public/certificates/D310104-1999-000001").json() == {
        "number": "D310104-1999-000001",
        "status": "unknown",
    }
    assert client.get("/public/certificates/D310104-1999-000001", params={"token": "x"}).status_code == 404


def test_certificate_past_its_valid_until_shows_expired(platform, client):
    lab = world.make_lab(platform, "D310104", ["fuel_dispenser"])
    today = shanghai_today()
    on = today - timedelta(days=215)  # ~7 months ago: beyond the 6-month period of JJG 443
    # the standard was calibrated before that day too (its calibration history must cover the date)
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        lab.standard_id,
        "上海市计量测试技术研究院",
        "CAL-old",
        on - timedelta(days=10),
        today + timedelta(days=100),
        True,
    )
    owner = world.make_owner(platform, "310104")
    iid = world.fuel_dispenser(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    number = world.verify(platform, lab, task, [workflow.ReadingInput("volume", "20.00", "20.02")], on=on)
    assert client.get(f"/public/certificates/{number}").json() == {"number": number, "status": "expired"}
    h = login(client, owner.username, world.PASSWORD)
    cert = client.get(f"/api/certificates/{number}", headers=h).json()
    assert cert["status"] == "valid" and cert["current_status"] == "expired"
    assert client.get(_qr_json(cert["qr"])).json()["status"] == "expired"
    assert client.get(f"/public/instruments/{iid}").json()["status"] == "overdue"


def test_failed_verification_issues_a_notice_and_the_label_shows_barred(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    number, iid, owner = _issue(platform, lab, readings=world.SCALE_FAIL)
    h = login(client, owner.username, world.PASSWORD)
    cert = client.get(f"/api/certificates/{number}", headers=h).json()
    assert cert["kind"] == "nonconformity" and cert["conclusion"].startswith("不合格")
    assert client.get(_qr_json(cert["qr"])).json()["kind"] == "nonconformity"
    assert client.get(f"/public/instruments/{iid}").json() == {"instrument": iid, "status": "barred"}
    token = client.get(f"/api/instruments/{iid}", headers=h).json()["label_token"]
    label = client.get(f"/public/instruments/{iid}", params={"token": token}).json()
    assert label["status"] == "barred" and label["valid_until"] is None
    assert client.get(f"/public/instruments/{iid}", params={"token": "wrong"}).status_code == 404


def test_instrument_label_of_an_unknown_instrument_is_unknown(client):
    assert client.get("/public/instruments/999999").json() == {"instrument": 999999, "status": "unknown"}


# ------------------------------------------------------------------ signing keys


def test_key_rotation_keeps_the_old_key_published_and_old_certificates_still_verify(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    admin = login(client, "admin", ADMIN_PASSWORD)
    staff = login(client, lab.approver.username, world.PASSWORD)
    before, _, _ = _issue(platform, lab)
    old_kid = _document(client, staff, before)["signature"]["kid"]
    r = client.post("/api/institutions/D310104/keys/rotate", headers=admin, json={})
    assert r.status_code == 200, r.text
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    keys = {k.kid: k for k in _published(client).keys}
    assert keys[old_kid].status == "retired" and keys[new_kid].status == "active"
    assert keys[old_kid].owner == keys[new_kid].owner == "D310104"
    after, _, _ = _issue(platform, lab)
    assert _document(client, staff, after)["signature"]["kid"] == new_kid
    keyset = _published(client)
    for number in (before, after):
        check = verify_document(_document(client, staff, number), keyset)
        assert check.valid, check.problems
        assert client.get(_qr(client, staff, number)).json()["signature_valid"] is True


def test_only_an_administrator_rotates_keys(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    h = login(client, lab.manager.username, world.PASSWORD)
    assert client.post("/api/institutions/D310104/keys/rotate", headers=h, json={}).status_code == 403
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post("/api/institutions/NOPE/keys/rotate", headers=admin, json={})
    assert r.status_code == 404
    r = client.post("/api/institutions/D310104/keys/rotate", headers=admin, json={"algorithm": "RSA"})
    assert r.status_code == 422
    assert all(k.status == "active" for k in _published(client).keys if k.owner == "D310104")


def test_institution_switched_to_sm2_issues_sm2_certificates_that_verify(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post("/api/institutions/D310104/keys/rotate", headers=admin, json={"algorithm": "SM2-SM3"})
    assert r.status_code == 200, r.text
    kid = r.json()["kid"]
    number, _, _ = _issue(platform, lab)
    staff = login(client, lab.approver.username, world.PASSWORD)
    doc = _document(client, staff, number)
    assert doc["signature"] == doc["signature"] | {"alg": "SM2-SM3", "kid": kid}
    with platform.engine.connect() as c:
        assert (
            c.execute(select(certificates.c.signature_alg).where(certificates.c.number == number)).scalar_one()
            == "SM2-SM3"
        )
    check = verify_document(doc, _published(client))
    assert check.valid, check.problems
    assert client.get(_qr(client, staff, number)).json()["signature_valid"] is True
    tampered = json.loads(json.dumps(doc))
    tampered["payload"]["conclusion"] = "不合格 / does not conform"
    assert not verify_document(tampered, _published(client)).valid


# ------------------------------------------------------------------ rate limit


def test_public_endpoints_are_rate_limited_per_client(settings):
    limited = Platform(replace(settings, public_rate_limit=5))
    try:
        with TestClient(create_app(limited)) as c:
            answers = [c.get("/public/certificates/D310104-2020-000001").status_code for _ in range(5)]
            assert answers == [200] * 5
            r = c.get("/public/keys")
            assert r.status_code == 429 and r.json()["rule"] == "rate_limited"
            assert c.get("/public/instruments/1").status_code == 429
            assert c.get("/health").status_code == 200  # only /public is limited
            assert c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200
    finally:
        limited.engine.dispose()
