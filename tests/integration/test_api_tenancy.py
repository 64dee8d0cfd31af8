"""Tenancy and jurisdiction over HTTP: who may read what, and who may register or approve whom."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from jiliang.registry.tables import instruments, owners, regulators, users
from jiliang.verification import service as workflow
from jiliang.verification import tables as vtables
from jiliang.verification.tables import applications, tasks
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world
from tests.support.tenancy import MISSING, hidden_like_missing

PUBLIC_ONLY = re.compile(r"^/public/")
LOGIN = "/api/auth/login"  # the one door outside /public: it hands out the tokens


def _regulator_id(platform, code: str) -> int:
    with platform.engine.connect() as c:
        return int(c.execute(select(regulators.c.id).where(regulators.c.code == code)).scalar_one())


def _regulator_login(client, platform, code: str) -> dict[str, str]:
    """An administrator creates a regulator account over HTTP; returns its auth header."""
    admin = login(client, "admin", ADMIN_PASSWORD)
    username = f"reg-{code.lower()}"
    r = client.post(
        "/api/users",
        headers=admin,
        json={
            "username": username,
            "password": world.PASSWORD,
            "display_name": f"监管 {code}",
            "roles": ["regulator"],
            "regulator_id": _regulator_id(platform, code),
        },
    )
    assert r.status_code == 201, r.text
    return login(client, username, world.PASSWORD)


def _owner_login(client, owner) -> dict[str, str]:
    return login(client, owner.username, world.PASSWORD)


def _visible_ids(client, headers) -> set[int]:
    r = client.get("/api/instruments", headers=headers)
    assert r.status_code == 200, r.text
    return {i["id"] for i in r.json()}


def _example_path(path: str, operation: dict) -> str:
    types = {
        p["name"]: p.get("schema", {}).get("type") for p in operation.get("parameters", []) if p.get("in") == "path"
    }
    return re.sub(r"\{(\w+)\}", lambda m: "1" if types.get(m.group(1)) == "integer" else "X", path)


def _hidden(client, headers, method: str, url: str, real, body=None, missing: str = MISSING["instrument_id"]) -> None:  # type: ignore[no-untyped-def]
    """`real` exists outside the caller's reach: the answer is the one for the made-up `missing` — 404, the
    same body, and nothing written. `url` has `{}` for the id, or `body(id)` carries it."""

    def call(value):  # type: ignore[no-untyped-def]
        json = body(int(value)) if body else None
        return client.request(method, url.format(value), headers=headers, json=json)

    hidden_like_missing(call(real), call(missing), str(real), missing)


# ------------------------------------------------------------------ authentication


def test_every_route_outside_public_answers_401_without_a_token(client):
    spec = client.get("/openapi.json").json()
    checked, open_paths = 0, set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            url = _example_path(path, op)
            if path == LOGIN:
                continue
            r = client.request(method.upper(), url)
            if PUBLIC_ONLY.match(path):
                assert r.status_code != 401, f"{method.upper()} {url} is public but asks for a login"
                open_paths.add(path)
                continue
            assert r.status_code == 401, f"{method.upper()} {url} answered {r.status_code} without a token"
            assert r.json()["rule"] == "unauthenticated"
            checked += 1
    assert checked >= 20  # the whole API, not an empty document
    assert open_paths == {p for p in spec["paths"] if p.startswith("/public/")}
    assert client.get("/health").json() == {"status": "ok"}
    r = client.post(LOGIN, json={"username": "admin", "password": "wrong-password"})
    assert r.status_code == 401 and "token" not in r.json()


def test_a_made_up_token_is_refused_like_no_token(client):
    r = client.get("/api/instruments", headers={"Authorization": "Bearer not-a-real-token"})
    assert r.status_code == 401 and r.json()["rule"] == "unauthenticated"


# ------------------------------------------------------------------ owners


def test_owner_cannot_read_or_apply_for_another_owners_instrument(platform, client):
    a, b = world.make_owner(platform), world.make_owner(platform)
    mine, theirs = world.scale(platform, a), world.scale(platform, b)
    ha = _owner_login(client, a)
    assert client.get(f"/api/instruments/{mine}", headers=ha).status_code == 200
    _hidden(client, ha, "GET", "/api/instruments/{}", theirs)
    assert _visible_ids(client, ha) == {mine}
    _hidden(client, ha, "POST", "/api/applications", theirs, lambda i: {"instrument_ids": [i]})
    _hidden(client, ha, "POST", "/api/applications", theirs, lambda i: {"instrument_ids": [mine, i]})
    with platform.engine.connect() as c:  # the refused applications left nothing behind
        assert c.execute(select(func.count()).select_from(applications)).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(tasks)).scalar_one() == 0


def test_owner_cannot_change_another_owners_instrument(platform, client):
    a, b = world.make_owner(platform), world.make_owner(platform)
    theirs = world.scale(platform, b)
    ha = _owner_login(client, a)
    _hidden(client, ha, "POST", "/api/instruments/{}/scrap", theirs)
    _hidden(client, ha, "POST", "/api/instruments/{}/relocate", theirs, lambda _: {"district_code": "310105"})
    with platform.engine.connect() as c:
        assert c.execute(select(instruments.c.status).where(instruments.c.id == theirs)).scalar_one() == "in_use"


def test_owner_sees_only_their_own_certificates_and_gets_404_for_others(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    a, b = world.make_owner(platform), world.make_owner(platform)
    [ta] = workflow.apply(platform.uow(), a, [world.scale(platform, a)])
    [tb] = workflow.apply(platform.uow(), b, [world.scale(platform, b)])
    na, nb = world.verify(platform, lab, ta), world.verify(platform, lab, tb)
    ha, hb = _owner_login(client, a), _owner_login(client, b)
    assert [c["number"] for c in client.get("/api/certificates", headers=ha).json()] == [na]
    assert [c["number"] for c in client.get("/api/certificates", headers=hb).json()] == [nb]
    assert client.get(f"/api/certificates/{na}", headers=ha).status_code == 200
    for url in (f"/api/certificates/{nb}", f"/api/certificates/{nb}/document"):
        r = client.get(url, headers=ha)
        assert r.status_code == 404 and r.json()["rule"] == "not_found"


# ------------------------------------------------------------------ institutions


def test_institution_staff_cannot_read_another_institutions_task_record_or_certificate(platform, client):
    here = world.make_lab(platform, "D310104", ["nawi"])
    other = world.make_lab(platform, "D310101", ["nawi"])
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    number = world.verify(platform, here, task)
    with platform.engine.connect() as c:
        [rid] = c.execute(select(vtables.verification_records.c.id)).scalars().all()
    for person in (here.verifier, here.manager):  # control: the institution that did the work sees it
        h = login(client, person.username, world.PASSWORD)
        assert client.get(f"/api/tasks/{task}", headers=h).status_code == 200
        assert client.get(f"/api/records/{rid}", headers=h).status_code == 200
        assert client.get(f"/api/certificates/{number}", headers=h).status_code == 200
    for person in (other.verifier, other.approver, other.manager):
        h = login(client, person.username, world.PASSWORD)
        assert client.get(f"/api/tasks/{task}", headers=h).status_code == 404
        assert client.get(f"/api/records/{rid}", headers=h).status_code == 404
        assert client.get(f"/api/certificates/{number}", headers=h).status_code == 404
        assert client.get(f"/api/certificates/{number}/document", headers=h).status_code == 404
        assert client.get("/api/tasks", headers=h).json() == []
        assert client.get("/api/certificates", headers=h).json() == []
        _hidden(client, h, "GET", "/api/instruments/{}", iid)
        _hidden(client, h, "GET", "/api/certificates/{}", number, missing=MISSING["number"])


def test_other_institutions_approver_cannot_revoke_a_certificate(platform, client):
    here = world.make_lab(platform, "D310104", ["nawi"])
    other = world.make_lab(platform, "D310101", ["nawi"])
    owner = world.make_owner(platform, "310104")
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    number = world.verify(platform, here, task)
    h = login(client, other.approver.username, world.PASSWORD)
    r = client.post(
        f"/api/certificates/{number}/revoke", headers=h, json={"password": world.PASSWORD, "reason": "试图撤销他人证书"}
    )
    assert r.status_code == 404
    assert client.get(f"/public/certificates/{number}").json()["status"] == "valid"


def test_lab_manager_creates_staff_only_for_own_institution_and_never_an_admin(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    other_inst = world.institution_id(platform, "D310101")
    h = login(client, lab.manager.username, world.PASSWORD)
    ok = client.post(
        "/api/users",
        headers=h,
        json={
            "username": "new-verifier",
            "password": world.PASSWORD,
            "display_name": "新检定员",
            "roles": ["verifier"],
            "institution_id": lab.institution_id,
        },
    )
    assert ok.status_code == 201, ok.text
    refused = [
        {"username": "elsewhere", "roles": ["verifier"], "institution_id": other_inst},
        {"username": "sneaky-admin", "roles": ["admin"], "institution_id": lab.institution_id},
        {"username": "sneaky-reg", "roles": ["regulator"], "institution_id": lab.institution_id},
        {"username": "no-inst", "roles": ["verifier"], "institution_id": None},
    ]
    for body in refused:
        r = client.post(
            "/api/users", headers=h, json=body | {"password": world.PASSWORD, "display_name": body["username"]}
        )
        assert r.status_code == 403, (body, r.text)
        assert r.json()["rule"] == "forbidden"
    with platform.engine.connect() as c:
        names = set(c.execute(select(users.c.username)).scalars())
    assert "new-verifier" in names and not names & {b["username"] for b in refused}


def test_verifier_cannot_create_accounts(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    h = login(client, lab.verifier.username, world.PASSWORD)
    r = client.post(
        "/api/users",
        headers=h,
        json={
            "username": "friend",
            "password": world.PASSWORD,
            "display_name": "朋友",
            "roles": ["verifier"],
            "institution_id": lab.institution_id,
        },
    )
    assert r.status_code == 403


# ------------------------------------------------------------------ regulators


def test_district_regulator_sees_instruments_of_its_district_only_and_city_regulator_sees_all(platform, client):
    xuhui, huangpu = world.make_owner(platform, "310104"), world.make_owner(platform, "310101")
    in_xuhui, in_huangpu = world.scale(platform, xuhui), world.scale(platform, huangpu)
    district = _regulator_login(client, platform, "SAMR-310104")
    assert _visible_ids(client, district) == {in_xuhui}
    assert client.get(f"/api/instruments/{in_xuhui}", headers=district).status_code == 200
    _hidden(client, district, "GET", "/api/instruments/{}", in_huangpu)
    city = _regulator_login(client, platform, "SAMR-SH")
    assert _visible_ids(client, city) == {in_xuhui, in_huangpu}
    assert client.get(f"/api/instruments/{in_huangpu}", headers=city).status_code == 200


def test_instrument_relocated_to_another_district_leaves_the_old_regulators_view(platform, client):
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    r = client.post(
        f"/api/instruments/{iid}/relocate",
        headers=_owner_login(client, owner),
        json={"district_code": "310101", "location": "南京东路"},
    )
    assert r.status_code == 200, r.text
    assert _visible_ids(client, _regulator_login(client, platform, "SAMR-310104")) == set()
    assert _visible_ids(client, _regulator_login(client, platform, "SAMR-310101")) == {iid}


def test_lingang_regulator_sees_only_instruments_registered_in_the_lingang_zone(platform, client):
    pudong = world.make_owner(platform, "310115")
    in_zone = world.scale(platform, pudong, zone="lingang")
    outside = world.scale(platform, pudong)
    at_airport = world.scale(platform, pudong, zone="airport")
    lingang = _regulator_login(client, platform, "SAMR-LG")
    assert _visible_ids(client, lingang) == {in_zone}
    _hidden(client, lingang, "GET", "/api/instruments/{}", outside)
    _hidden(client, lingang, "GET", "/api/instruments/{}", at_airport)
    airport = _regulator_login(client, platform, "SAMR-AP")
    assert _visible_ids(client, airport) == {at_airport}


def test_regulator_without_an_institution_sees_no_task_queue_and_cannot_apply(platform, client):
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    workflow.apply(platform.uow(), owner, [iid])
    district = _regulator_login(client, platform, "SAMR-310104")
    assert client.get("/api/tasks", headers=district).json() == []
    r = client.post("/api/applications", headers=district, json={"instrument_ids": [iid]})
    assert r.status_code == 403


# ------------------------------------------------------------------ owner registration


def _signup(client, credit_code: str, district: str = "310104", username: str = "shop-a") -> object:
    return client.post(
        "/public/owners",
        json={
            "credit_code": credit_code,
            "name": "某某便利店",
            "district_code": district,
            "username": username,
            "password": "shop-pass-1",
        },
    )


def test_owner_registration_with_a_wrong_check_character_is_refused_naming_it(platform, client):
    r = _signup(client, "91350100M000100Y44")
    assert r.status_code == 422
    body = r.json()
    assert body["rule"] == "credit_code"
    assert "check character" in body["detail"] and "校验码" in body["detail"]
    assert "3" in body["detail"]  # the character it should have been
    with platform.engine.connect() as c:  # no owner and no login were created
        assert c.execute(select(func.count()).select_from(owners)).scalar_one() == 0
        assert c.execute(select(users.c.id).where(users.c.username == "shop-a")).first() is None


def test_owner_registration_with_a_valid_credit_code_waits_for_approval(platform, client):
    r = _signup(client, "91350100M000100Y43")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    with platform.engine.connect() as c:
        assert c.execute(select(owners.c.credit_code, owners.c.status)).one() == ("91350100M000100Y43", "pending")
    assert _signup(client, "91350100M000100Y43", username="shop-b").json()["rule"] == "duplicate"


def test_pending_owner_cannot_register_instruments_or_apply(platform, client):
    r = _signup(client, "91350100M000100Y43")
    assert r.status_code == 201
    h = login(client, "shop-a", "shop-pass-1")
    r = client.post(
        "/api/instruments",
        headers=h,
        json={"item_code": "nawi", "name": "电子计价秤", "serial_no": "P-1", "use": "trade", "procedure_code": "nawi"},
    )
    assert r.status_code == 409
    assert r.json()["rule"] == "owner_not_approved"
    assert (
        client.post("/api/applications", headers=h, json={"instrument_ids": [1]}).json()["rule"] == "owner_not_approved"
    )
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(instruments)).scalar_one() == 0


def test_district_regulator_approves_owners_of_its_district_only(platform, client):
    huangpu = _signup(client, world.new_credit_code(), district="310101", username="hp-shop").json()["owner_id"]
    xuhui = _signup(client, world.new_credit_code(), district="310104", username="xh-shop").json()["owner_id"]
    reg = _regulator_login(client, platform, "SAMR-310104")
    assert [o["id"] for o in client.get("/api/owners/pending", headers=reg).json()] == [xuhui]
    r = client.post(f"/api/owners/{huangpu}/decision", headers=reg, json={"approve": True})
    # outside its districts the owner is not there for it: the same answer as for a missing owner
    assert r.status_code == 404 and r.json()["rule"] == "not_found"
    assert client.post(f"/api/owners/{xuhui}/decision", headers=reg, json={"approve": True}).status_code == 200
    with platform.engine.connect() as c:
        status = dict(c.execute(select(owners.c.id, owners.c.status)).all())
    assert status == {huangpu: "pending", xuhui: "approved"}


def test_owner_cannot_approve_registrations(platform, client):
    pending = _signup(client, world.new_credit_code(), username="waiting").json()["owner_id"]
    h = _owner_login(client, world.make_owner(platform))
    assert client.post(f"/api/owners/{pending}/decision", headers=h, json={"approve": True}).status_code == 403
    assert client.get("/api/owners/pending", headers=h).status_code == 403
