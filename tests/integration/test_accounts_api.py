"""Accounts over the API after they are made: roles, deactivation, a password reset by whoever manages
the account and a change by its user; an institution's authorised items. Each step audited and ledgered,
and the ledger's auditor finds every change made by someone with the right to it."""

from __future__ import annotations

from sqlalchemy import select

from jiliang.ledger.auditor import audit
from jiliang.registry import service as registry
from jiliang.registry.tables import regulators
from jiliang.verification import service as workflow
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world


def _staff(platform, code: str, username: str, roles: list[str]) -> int:  # type: ignore[no-untyped-def]
    iid = world.institution_id(platform, code)
    return registry.create_user(platform.uow(), world.admin(platform), username, world.PASSWORD, username, roles, iid)


def test_an_account_has_its_roles_changed_is_reset_deactivated_and_changes_its_own_password(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    uid = _staff(platform, "D310104", "wang", ["verifier"])
    r = client.put(f"/api/users/{uid}/roles", headers=admin, json={"roles": ["verifier", "checker"]})
    assert r.status_code == 200 and r.json()["changed"] is True
    assert client.get(f"/api/users/{uid}", headers=admin).json()["roles"] == ["verifier", "checker"]
    r = client.put(f"/api/users/{uid}/roles", headers=admin, json={"roles": ["regulator"]})
    assert r.status_code == 422 and r.json()["rule"] == "roles"  # a regulator belongs to a bureau

    user = login(client, "wang", world.PASSWORD)
    new = client.post(f"/api/users/{uid}/password-reset", headers=admin).json()["password"]
    assert client.get("/api/me", headers=user).status_code == 401  # the old session ended with the reset
    assert client.post("/api/auth/login", json={"username": "wang", "password": world.PASSWORD}).status_code == 401
    user = login(client, "wang", new)
    change = {"current_password": "wrong-password", "new_password": "a-new-password-1"}
    r = client.post("/api/auth/password", headers=user, json=change)
    assert r.status_code == 403 and "current password" in r.json()["detail"]
    r = client.post("/api/auth/password", headers=user, json={"current_password": new, "new_password": "short"})
    assert r.status_code == 422
    elsewhere = login(client, "wang", new)  # the same user signed in on another device
    made = {"label": "script", "scope": "read", "days": 7, "password": new}
    named = client.post("/api/auth/tokens", headers=user, json=made).json()
    r = client.post("/api/auth/password", headers=user, json={"current_password": new, "new_password": "a-new-one-9"})
    assert r.status_code == 204
    assert client.get("/api/me", headers=elsewhere).status_code == 401  # the other session ended
    assert client.get("/api/me", headers=user).status_code == 200  # the one that changed it goes on
    script = {"Authorization": f"Bearer {named['token']}"}
    assert client.get("/api/me", headers=script).status_code == 200  # a named token is revoked on its own

    assert client.put(f"/api/users/{uid}/active", headers=admin, json={"active": False}).json()["changed"] is True
    assert client.get("/api/me", headers=user).status_code == 401
    assert client.post("/api/auth/login", json={"username": "wang", "password": "a-new-one-9"}).status_code == 401
    client.put(f"/api/users/{uid}/active", headers=admin, json={"active": True})
    login(client, "wang", "a-new-one-9")

    me = client.get("/api/me", headers=admin).json()["id"]
    r = client.put(f"/api/users/{me}/active", headers=admin, json={"active": False})
    assert r.status_code == 403 and r.json()["rule"] == "own_account"  # no one locks themselves out
    actions = [e["action"] for e in client.get(f"/api/audit/user/{uid}", headers=admin).json()]
    assert actions == [
        "user.created",
        "user.roles_changed",
        "user.password_reset",
        "api_token.created",
        "user.password_changed",
        "user.deactivated",
        "user.reactivated",
    ]
    assert audit(platform).findings == []


def test_a_lab_manager_manages_their_own_staff_and_another_institutions_answer_as_missing(platform, client):
    _staff(platform, "D310104", "boss", ["lab_manager"])
    mine = _staff(platform, "D310104", "li", ["verifier"])
    theirs = _staff(platform, "D310105", "zhao", ["verifier"])
    boss = login(client, "boss", world.PASSWORD)
    listed = client.get("/api/users", headers=boss).json()
    assert {a["username"] for a in listed} == {"boss", "li"}
    assert [a["username"] for a in client.get("/api/users?search=L", headers=boss).json()] == ["li"]
    for uid in (theirs, 987654):
        assert client.put(f"/api/users/{uid}/roles", headers=boss, json={"roles": ["checker"]}).status_code == 404
        assert client.post(f"/api/users/{uid}/password-reset", headers=boss).status_code == 404
    r = client.put(f"/api/users/{mine}/roles", headers=boss, json={"roles": ["admin"]})
    assert r.status_code == 403
    r = client.put(f"/api/users/{mine}/roles", headers=boss, json={"roles": ["checker", "lab_manager"]})
    assert r.status_code == 200
    assert client.put(f"/api/users/{mine}/active", headers=boss, json={"active": False}).status_code == 200
    assert audit(platform).findings == []


def test_an_administrator_sets_an_institutions_authorised_items_and_applications_follow(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    manager = login(client, lab.manager.username, world.PASSWORD)
    items = client.get("/api/institutions/D310104/authorisations", headers=manager).json()["item_codes"]
    assert "nawi" in items
    assert client.get("/api/institutions/D310105/authorisations", headers=manager).status_code == 404
    r = client.put("/api/institutions/D310104/authorisations", headers=manager, json={"item_codes": []})
    assert r.status_code == 403
    r = client.put("/api/institutions/D310104/authorisations", headers=admin, json={"item_codes": ["no_such_item"]})
    assert r.status_code == 422
    fewer = [i for i in items if i != "nawi"]
    r = client.put("/api/institutions/D310104/authorisations", headers=admin, json={"item_codes": fewer})
    assert r.status_code == 200 and r.json()["item_codes"] == fewer
    owner = world.make_owner(platform, "310104")
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    detail = client.get(f"/api/tasks/{task}", headers=admin).json()
    assert detail["institution_id"] != lab.institution_id  # the district institute no longer verifies scales
    assert audit(platform).findings == []


def test_an_account_is_created_only_with_roles_that_fit_its_organisation(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    lab = world.institution_id(platform, "D310104")
    with platform.engine.connect() as c:
        bureau = c.execute(select(regulators.c.id).where(regulators.c.code == "SAMR-SH")).scalar_one()
    misfits = [
        {"roles": ["regulator"], "institution_id": lab},  # a regulator belongs to a bureau
        {"roles": ["verifier"], "regulator_id": bureau},  # staff belong to an institution
        {"roles": ["verifier"]},  # …and not to no one
        {"roles": ["owner_user"], "institution_id": lab},  # owners sign up as their organisation
    ]
    for i, body in enumerate(misfits):
        made = {"username": f"misfit-{i}", "password": world.PASSWORD, "display_name": "试", **body}
        r = client.post("/api/users", headers=admin, json=made)
        assert r.status_code == 422 and r.json()["rule"] == "roles", (body, r.text)
    names = {a["username"] for a in client.get("/api/users", headers=admin).json()}
    assert not any(n.startswith("misfit-") for n in names)
    fits = {"username": "fits", "password": world.PASSWORD, "display_name": "王", "roles": ["verifier"]}
    assert client.post("/api/users", headers=admin, json=fits | {"institution_id": lab}).status_code == 201
