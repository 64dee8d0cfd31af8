"""Bad input over HTTP: a clear 4xx answer `{"detail": ..., "rule": ...}`, and nothing half-written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from jiliang.certificates.tables import certificates
from jiliang.platform import shanghai_today
from jiliang.registry.tables import instruments, owners, users
from jiliang.verification import service as workflow
from jiliang.verification.tables import measurement_points, signoffs, tasks, verification_records
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import jjg539, world

# a complete, passing JJG 539 verification (every test the regulation asks for at this stage), as JSON
COMPLETE = jjg539.as_json(jjg539.complete())


def _count(platform, table) -> int:
    with platform.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar_one())


def _error(r, status: int, rule: str) -> str:
    """Assert the shape of a domain error and return its message."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail", "rule"}, body
    assert body["rule"] == rule
    assert isinstance(body["detail"], str) and body["detail"].strip()
    return body["detail"]


def _task(platform, lab=None):
    owner = world.make_owner(platform, "310104")
    lab = lab or world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    return lab, task


def _results(lab, readings, **kw) -> dict:
    return {
        "password": world.PASSWORD,
        "performed_on": str(shanghai_today()),
        "standard_ids": [lab.standard_id],
        "stage": "subsequent",
        "readings": readings,
    } | kw


def _task_state(platform, task: int) -> str:
    with platform.engine.connect() as c:
        return str(c.execute(select(tasks.c.state).where(tasks.c.id == task)).scalar_one())


def test_non_numeric_reading_is_refused_naming_the_point_and_nothing_is_written(platform, client):
    lab, task = _task(platform)
    h = login(client, lab.verifier.username, world.PASSWORD)
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=h,
        json=_results(
            lab,
            [*COMPLETE, {"point_id": "load", "reference": "5.000", "indication": "5,005", "added_load": "0.0025"}],
        ),
    )
    detail = _error(r, 422, "invalid_input")
    assert "5,005" in detail and "not a number" in detail
    for table in (verification_records, measurement_points, signoffs):
        assert _count(platform, table) == 0
    assert _task_state(platform, task) == "assigned"
    # the same task still takes correct readings afterwards
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=h,
        json=_results(lab, COMPLETE),
    )
    assert r.status_code == 201, r.text


def test_reading_at_an_unknown_point_is_refused_and_nothing_is_written(platform, client):
    lab, task = _task(platform)
    h = login(client, lab.verifier.username, world.PASSWORD)
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=h,
        json=_results(lab, [*COMPLETE, {"point_id": "no_such_point", "reference": "1.000", "indication": "1.000"}]),
    )
    assert "no_such_point" in _error(r, 422, "readings")
    assert _count(platform, verification_records) == 0


def test_verification_date_in_the_future_is_refused(platform, client):
    lab, task = _task(platform)
    h = login(client, lab.verifier.username, world.PASSWORD)
    tomorrow = str(shanghai_today() + timedelta(days=1))
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=h,
        json=_results(lab, COMPLETE, performed_on=tomorrow),
    )
    assert r.status_code == 422 and "future" in r.json()["detail"]
    assert _count(platform, verification_records) == 0


def test_standard_of_another_institution_cannot_be_used(platform, client):
    other = world.make_lab(platform, "D310101", ["nawi"])
    lab, task = _task(platform)
    h = login(client, lab.verifier.username, world.PASSWORD)
    body = _results(lab, COMPLETE, standard_ids=[other.standard_id])
    assert str(other.standard_id) in _error(
        client.post(f"/api/tasks/{task}/results", headers=h, json=body), 422, "invalid_input"
    )
    assert _count(platform, verification_records) == 0


def test_wrong_password_when_signing_results_writes_nothing(platform, client):
    lab, task = _task(platform)
    h = login(client, lab.verifier.username, world.PASSWORD)
    body = _results(lab, COMPLETE, password="nope-nope")
    _error(client.post(f"/api/tasks/{task}/results", headers=h, json=body), 403, "password_confirmation")
    assert _count(platform, verification_records) == 0 and _task_state(platform, task) == "assigned"


def test_returning_a_record_needs_a_remark(platform, client):
    lab, task = _task(platform)
    rid = world.record(platform, lab, task, stage="initial")
    h = login(client, lab.checker.username, world.PASSWORD)
    r = client.post(f"/api/records/{rid}/check", headers=h, json={"password": world.PASSWORD, "accept": False})
    _error(r, 422, "invalid_input")
    assert client.get(f"/api/records/{rid}", headers=h).json()["status"] == "recorded"


def test_approving_a_record_twice_is_refused_and_issues_one_certificate(platform, client):
    lab, task = _task(platform)
    rid = world.record(platform, lab, task, stage="initial")
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
    h = login(client, lab.approver.username, world.PASSWORD)
    first = client.post(f"/api/records/{rid}/approve", headers=h, json={"password": world.PASSWORD})
    assert first.status_code == 200, first.text
    second = client.post(f"/api/records/{rid}/approve", headers=h, json={"password": world.PASSWORD})
    assert "approved" in _error(second, 409, "state")
    assert _count(platform, certificates) == 1


def test_approving_before_the_check_is_refused(platform, client):
    lab, task = _task(platform)
    rid = world.record(platform, lab, task, stage="initial")
    h = login(client, lab.approver.username, world.PASSWORD)
    _error(client.post(f"/api/records/{rid}/approve", headers=h, json={"password": world.PASSWORD}), 409, "state")
    assert _count(platform, certificates) == 0 and _task_state(platform, task) == "assigned"
    queue = client.get("/api/tasks?state=recorded", headers=login(client, lab.verifier.username, world.PASSWORD))
    assert [t["id"] for t in queue.json()] == [task]


def test_deciding_an_owner_registration_twice_is_refused(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post(
        "/public/owners",
        json={
            "credit_code": world.new_credit_code(),
            "name": "某加油站",
            "district_code": "310104",
            "username": "station",
            "password": "pass-1234",
        },
    )
    oid = r.json()["owner_id"]
    assert client.post(f"/api/owners/{oid}/decision", headers=admin, json={"approve": True}).status_code == 200
    _error(client.post(f"/api/owners/{oid}/decision", headers=admin, json={"approve": False}), 409, "state")
    with platform.engine.connect() as c:
        assert c.execute(select(owners.c.status).where(owners.c.id == oid)).scalar_one() == "approved"
    _error(client.post("/api/owners/999999/decision", headers=admin, json={"approve": True}), 404, "not_found")


def test_applying_twice_for_the_same_instrument_is_refused(platform, client):
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    h = login(client, owner.username, world.PASSWORD)
    assert client.post("/api/applications", headers=h, json={"instrument_ids": [iid]}).status_code == 201
    _error(client.post("/api/applications", headers=h, json={"instrument_ids": [iid]}), 409, "duplicate_task")
    assert _count(platform, tasks) == 1


def test_applying_for_a_scrapped_instrument_is_refused(platform, client):
    owner = world.make_owner(platform, "310104")
    iid = world.scale(platform, owner)
    h = login(client, owner.username, world.PASSWORD)
    assert client.post(f"/api/instruments/{iid}/scrap", headers=h).status_code == 200
    _error(client.post("/api/applications", headers=h, json={"instrument_ids": [iid]}), 409, "scrapped")
    _error(client.post(f"/api/instruments/{iid}/scrap", headers=h), 409, "scrapped")
    assert _count(platform, tasks) == 0


def test_instrument_with_an_unknown_item_or_a_foreign_type_is_refused(platform, client):
    owner = world.make_owner(platform, "310104")
    h = login(client, owner.username, world.PASSWORD)
    base = {"name": "电子计价秤", "serial_no": "E-1", "use": "trade"}
    assert "no_such_item" in _error(
        client.post("/api/instruments", headers=h, json=base | {"item_code": "no_such_item"}), 422, "invalid_input"
    )
    water_type = world.type_id(platform, "fuel_dispenser", "燃油加油机")
    _error(
        client.post("/api/instruments", headers=h, json=base | {"item_code": "nawi", "type_id": water_type}),
        422,
        "invalid_input",
    )
    _error(
        client.post("/api/instruments", headers=h, json=base | {"item_code": "nawi", "serial_no": "  "}),
        422,
        "invalid_input",
    )
    _error(
        client.post("/api/instruments", headers=h, json=base | {"item_code": "nawi", "district_code": "999999"}),
        422,
        "invalid_input",
    )
    assert _count(platform, instruments) == 0


def test_owner_signup_with_an_unknown_district_or_blank_name_creates_nothing(platform, client):
    body = {
        "credit_code": world.new_credit_code(),
        "name": "某店",
        "district_code": "110101",
        "username": "beijing",
        "password": "pass-1234",
    }
    assert "110101" in _error(client.post("/public/owners", json=body), 422, "invalid_input")
    _error(client.post("/public/owners", json=body | {"district_code": "310104", "name": "  "}), 422, "invalid_input")
    assert _count(platform, owners) == 0
    with platform.engine.connect() as c:
        assert c.execute(select(users.c.id).where(users.c.username == "beijing")).first() is None


def test_unknown_role_is_refused(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post(
        "/api/users",
        headers=admin,
        json={"username": "boss", "password": world.PASSWORD, "display_name": "Boss", "roles": ["superuser"]},
    )
    assert "superuser" in _error(r, 422, "roles")
    _error(
        client.post(
            "/api/users",
            headers=admin,
            json={"username": "nobody", "password": world.PASSWORD, "display_name": "Nobody", "roles": []},
        ),
        422,
        "roles",
    )
    with platform.engine.connect() as c:
        assert c.execute(select(users.c.id).where(users.c.username.in_(["boss", "nobody"]))).first() is None


def test_duplicate_username_is_refused(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    lab = world.institution_id(platform, "D310104")
    body = {"username": "admin", "password": world.PASSWORD, "display_name": "Another", "roles": ["verifier"]}
    body["institution_id"] = lab
    _error(client.post("/api/users", headers=admin, json=body), 409, "duplicate")


def test_qualification_ending_before_it_starts_is_refused(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    h = login(client, lab.manager.username, world.PASSWORD)
    today = shanghai_today()
    r = client.post(
        f"/api/users/{lab.verifier.user_id}/qualifications",
        headers=h,
        json={
            "item_code": "fuel_dispenser",
            "certificate_no": "Q-X",
            "valid_from": str(today),
            "valid_until": str(today - timedelta(days=1)),
        },
    )
    _error(r, 422, "invalid_input")


def test_calibration_due_before_it_was_made_is_refused(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    h = login(client, lab.manager.username, world.PASSWORD)
    today = shanghai_today()
    r = client.post(
        f"/api/standards/{lab.standard_id}/calibrations",
        headers=h,
        json={"calibrated_by": "SIMT", "certificate_no": "C-1", "calibrated_on": str(today), "due": str(today)},
    )
    _error(r, 422, "invalid_input")


def test_unknown_records_and_tasks_answer_404_with_a_rule(platform, client):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    h = login(client, lab.verifier.username, world.PASSWORD)
    _error(client.get("/api/records/999999", headers=h), 404, "not_found")
    _error(client.get("/api/tasks/999999", headers=h), 404, "not_found")
    _error(client.get("/api/certificates/D310104-1999-000001", headers=h), 404, "not_found")


def test_malformed_request_bodies_are_refused_with_422(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    r = client.post("/api/users", headers=admin | {"Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 422 and "detail" in r.json()
    r = client.post("/api/applications", headers=admin, json={"instrument_ids": []})
    assert r.status_code == 422 and "detail" in r.json()
    assert _count(platform, tasks) == 0


def test_negative_paging_is_refused_with_422_not_a_server_error(platform, client):
    admin = login(client, "admin", ADMIN_PASSWORD)
    for url in (
        "/api/instruments?limit=-1",
        "/api/instruments?offset=-5",
        "/api/certificates?limit=0",
        "/api/certificates?offset=-1",
    ):
        assert client.get(url, headers=admin).status_code == 422, url
    assert client.get("/api/instruments?limit=5000", headers=admin).status_code == 200  # capped, not refused


def test_reading_longer_than_the_stored_field_is_refused_and_nothing_is_written(platform, client):
    lab, task = _task(platform)
    h = login(client, lab.verifier.username, world.PASSWORD)
    r = client.post(
        f"/api/tasks/{task}/results",
        headers=h,
        json=_results(lab, [{"point_id": "load", "reference": "1." + "0" * 40, "indication": "1.000"}]),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][-1] == "reference"
    assert _count(platform, verification_records) == 0 and _task_state(platform, task) == "assigned"
