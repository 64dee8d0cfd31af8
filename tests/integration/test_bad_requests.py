"""Requests an attacker or a careless client sends get a clear 4xx naming what is wrong, on both
databases, and nothing is stored: integers beyond a column's range in a path or query, NaN and
Infinity literals, lone surrogates and NUL characters in a body or a URL, texts longer than their
column, and bodies above the size limit (refused before they are read in full)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from jiliang.registry.tables import instruments, owners
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world

JSON = {"content-type": "application/json"}


def _owners(platform) -> int:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(owners)).scalar_one())


@pytest.mark.parametrize(
    "path",
    [
        "/public/instruments/99999999999999999999",
        "/public/instruments/3000000000",
        "/public/instruments/-99999999999999999999",
    ],
)
def test_an_id_beyond_the_column_range_is_refused_without_login(client, path) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert "instruments.id" in r.json()["detail"]


def test_bad_parameters_without_a_live_token_are_refused_for_the_token_first(platform, client) -> None:  # type: ignore[no-untyped-def]
    """A route that needs the token says 401 before anything about its parameters, whether the token
    is missing, unknown or logged out; with a live token the parameters are named (422). Public
    routes need none and name them at once."""
    owner = world.make_owner(platform, "310104")
    live = login(client, owner.username, world.PASSWORD)
    ended = login(client, owner.username, world.PASSWORD)
    assert client.post("/api/auth/logout", headers=ended).status_code == 204
    bad = "/api/instruments/99999999999999999999"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, ended):
        r = client.get(bad, headers=headers)
        assert r.status_code == 401 and r.json()["rule"] == "unauthenticated", r.text
        assert "instruments" not in r.json()["detail"]
        r = client.post("/api/applications", json={"instrument_ids": "x"}, headers=headers)
        assert r.status_code == 401, r.text
    r = client.get(bad, headers=live)
    assert r.status_code == 422 and "instruments.id" in r.json()["detail"], r.text
    assert client.get("/public/instruments/99999999999999999999").status_code == 422


def test_an_id_beyond_the_column_range_is_refused_after_login(platform, client) -> None:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    headers = login(client, lab.verifier.username, world.PASSWORD)
    for path in (
        "/api/tasks/3000000000",
        "/api/tasks/99999999999999999999",
        "/api/instruments?offset=99999999999999999999",
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 422, (path, r.text)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"username": NaN, "password": "x"}', "NaN"),
        ('{"username": "admin", "password": Infinity}', "Infinity"),
        ('{"username": "\\udc00", "password": "password-1"}', "username: contains a lone surrogate"),
        ('{"username": "ad\\u0000min", "password": "password-1"}', "username: contains a NUL character"),
        ('{"username": "admin", "password": ["\\ud800"]}', "password[0]: contains a lone surrogate"),
    ],
)
def test_json_a_database_cannot_hold_is_refused_naming_where(client, body, says) -> None:
    r = client.post("/api/auth/login", content=body, headers=JSON)
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"]


@pytest.mark.parametrize("path", ["/public/instruments/1%00", "/public/certificates/A%00B", "/public/verify/%ED%B0%80"])
def test_a_url_with_nul_or_not_utf8_is_a_bad_request(client, path) -> None:
    r = client.get(path)
    assert r.status_code == 400, r.text


def _signup(name: str, **extra: str) -> dict[str, str]:
    return {
        "credit_code": "91310000MA1FL0XX3J",
        "name": name,
        "district_code": "310104",
        "username": "longname",
        "password": "password-123",
        **extra,
    }


def test_a_text_longer_than_its_column_is_refused_on_both_databases(platform, client) -> None:
    before = _owners(platform)
    r = client.post("/public/owners", json=_signup("上" * 200))
    assert r.status_code == 422, r.text
    assert "owners.name" in r.json()["detail"] and "longer than 128 characters" in r.json()["detail"]
    assert _owners(platform) == before  # nothing half-written


def test_a_body_above_the_limit_is_refused_before_it_is_read(platform, client) -> None:
    limit = platform.settings.max_body_bytes
    huge = json.dumps({"username": "a" * (limit + 1), "password": "x"})
    r = client.post("/api/auth/login", content=huge, headers=JSON)
    assert r.status_code == 413, r.text
    assert f"{limit:,}" in r.json()["detail"]
    before = _owners(platform)
    r = client.post("/public/owners", json=_signup("x" * 10_000_000))
    assert r.status_code == 413
    assert _owners(platform) == before


def test_an_owner_cannot_store_an_instrument_name_beyond_its_column(platform, client) -> None:
    owner = world.make_owner(platform)
    headers = login(client, owner.username, world.PASSWORD)
    with platform.engine.connect() as c:
        before = c.execute(select(func.count()).select_from(instruments)).scalar_one()
    body = {"name": "秤" * 1000, "serial_no": "X-1", "use": "trade", "item_code": "nawi"}
    r = client.post("/api/instruments", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert "instruments.name" in r.json()["detail"]
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(instruments)).scalar_one() == before


def test_an_instrument_names_only_a_loaded_procedure(platform, client) -> None:
    owner = world.make_owner(platform)
    headers = login(client, owner.username, world.PASSWORD)
    body = {"name": "秤", "serial_no": "X-2", "use": "trade", "item_code": "nawi"}
    r = client.post("/api/instruments", json={**body, "procedure_code": "../../../../etc/passwd"}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "unknown_procedure"
    assert client.post("/api/instruments", json={**body, "procedure_code": "nawi"}, headers=headers).status_code == 201


def test_monte_carlo_is_for_approved_accounts_and_capped_per_role(platform, client) -> None:
    budget = {
        "format": "jiliang.uncertainty-budget/2",
        "title": "cap",
        "inputs": [{"symbol": "x", "estimate": 1, "standard_uncertainty": 0.1}],
        "measurands": [{"symbol": "y", "expression": "x"}],
    }
    pending = client.post(
        "/public/owners", json={**_signup("待批单位"), "credit_code": "91310000MA1FL0XX3J", "username": "pending1"}
    )
    assert pending.status_code == 201, pending.text
    headers = login(client, "pending1", "password-123")
    r = client.post("/api/uncertainty/evaluate", json={"budget": budget, "method": "mcm"}, headers=headers)
    assert r.status_code == 403 and r.json()["rule"] == "account_not_approved"
    assert client.post("/api/uncertainty/evaluate", json={"budget": budget}, headers=headers).status_code == 200
    owner = login(client, world.make_owner(platform).username, world.PASSWORD)
    body = {"budget": budget, "method": "mcm", "trials": 2_000_000}
    r = client.post("/api/uncertainty/evaluate", json=body, headers=owner)
    assert r.status_code == 422 and "1,000,000" in r.text
    body["trials"] = 100_000
    assert client.post("/api/uncertainty/evaluate", json=body, headers=owner).status_code == 200


def test_a_body_that_is_not_the_multipart_form_it_claims_is_refused_as_every_refusal_is(platform, client) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin", ADMIN_PASSWORD)
    broken = {"Content-Type": "multipart/form-data; boundary=b0undary", **admin}
    r = client.put("/api/institutions/D310104/seal", headers=broken, content=b"--b0undary\r\nno headers, no end")
    assert r.status_code == 400, r.text
    assert r.json()["rule"] == "malformed" and r.json()["detail"].startswith("请求格式有误 / malformed request")
    assert client.get("/api/no-such-path", headers=admin).status_code == 404  # others as Starlette answers them
