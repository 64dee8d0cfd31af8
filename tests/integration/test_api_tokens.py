"""API tokens a user makes for programs: named, scoped (read: GET only), limited in time, revocable;
made only with the password again; their making and revoking are audit events; and a token row
written with database access alone (a planted token, a longer expiry, a wider scope) is refused at
use and named by the auditor."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from jiliang.audit import audit_events
from jiliang.ledger.auditor import audit
from jiliang.registry.tables import api_tokens
from jiliang.tokens import token_digest, token_id
from jiliang.types import utcnow
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import tamper, world

TOKENS = "/api/auth/tokens"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _make(client, headers, scope: str = "read", days: int = 30, label: str = "报表脚本"):  # type: ignore[no-untyped-def]
    return client.post(
        TOKENS, json={"label": label, "scope": scope, "days": days, "password": world.PASSWORD}, headers=headers
    )


@pytest.fixture
def manager(platform, client):  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    return lab, login(client, lab.manager.username, world.PASSWORD)


def _a_write_request(client, lab, headers):  # type: ignore[no-untyped-def]
    """A change a lab manager may make: a standard of their institute."""
    body = {
        "name": "砝码组",
        "examination_certificate_no": f"E{secrets.token_hex(3)}",
        "examination_valid_until": "2030-01-01",
        "item_codes": ["nawi"],
    }
    return client.post("/api/standards", json=body, headers=headers)


def test_a_read_token_reads_but_never_writes_and_a_write_token_writes(platform, client, manager) -> None:
    lab, session = manager
    assert _a_write_request(client, lab, session).status_code == 201  # the session itself may

    r = _make(client, session, "read")
    assert r.status_code == 201, r.text
    read = r.json()
    assert read["scope"] == "read" and read["label"] == "报表脚本" and len(read["id"]) == 16
    assert client.get("/api/me", headers=_bearer(read["token"])).json()["username"] == lab.manager.username
    refused = _a_write_request(client, lab, _bearer(read["token"]))
    assert refused.status_code == 403 and refused.json()["rule"] == "token_scope"

    write = _make(client, session, "write").json()
    assert _a_write_request(client, lab, _bearer(write["token"])).status_code == 201

    listed = client.get(TOKENS, headers=session).json()
    assert {t["id"] for t in listed} == {read["id"], write["id"]}
    assert all("token" not in t for t in listed)  # a token is shown once, when made


def test_making_a_token_needs_the_password_and_sane_values(client, manager) -> None:
    _, session = manager
    wrong = client.post(TOKENS, json={"label": "x", "scope": "read", "password": "not it"}, headers=session)
    assert wrong.status_code == 403 and wrong.json()["rule"] == "password_confirmation"
    for bad in ({"scope": "admin"}, {"days": 0}, {"days": 366}, {"label": ""}):
        body = {"label": "x", "scope": "read", "days": 30, "password": world.PASSWORD} | bad
        r = client.post(TOKENS, json=body, headers=session)
        assert r.status_code == 422, (bad, r.text)
    assert client.get(TOKENS, headers=session).json() == []


def test_a_revoked_token_stops_at_once_and_only_its_owner_or_an_administrator_revokes_it(
    platform, client, manager
) -> None:
    lab, session = manager
    made = _make(client, session).json()
    other = login(client, lab.verifier.username, world.PASSWORD)
    # another user's token is answered like one that does not exist
    assert client.delete(f"{TOKENS}/{made['id']}", headers=other).status_code == 404
    assert client.delete(f"{TOKENS}/{'0' * 16}", headers=other).status_code == 404
    assert client.get("/api/me", headers=_bearer(made["token"])).status_code == 200

    assert client.delete(f"{TOKENS}/{made['id']}", headers=session).status_code == 204
    assert client.get("/api/me", headers=_bearer(made["token"])).status_code == 401
    assert client.get(TOKENS, headers=session).json() == []

    again = _make(client, session).json()
    admin = login(client, "admin", ADMIN_PASSWORD)
    assert client.delete(f"{TOKENS}/{again['id']}", headers=admin).status_code == 204
    assert client.get("/api/me", headers=_bearer(again["token"])).status_code == 401

    with platform.engine.connect() as c:
        events = c.execute(
            select(audit_events.c.action, audit_events.c.actor_id, audit_events.c.after, audit_events.c.before).where(
                audit_events.c.action.like("api_token.%")
            )
        ).all()
    actions = [(e.action, e.actor_id) for e in events]
    assert actions.count(("api_token.created", lab.manager.user_id)) == 2
    assert ("api_token.revoked", lab.manager.user_id) in actions
    assert any(a == "api_token.revoked" and actor != lab.manager.user_id for a, actor in actions)
    assert made["token"] not in str(events) and again["token"] not in str(events)
    assert audit(platform).findings == []


def test_logging_out_ends_the_session_token(client, manager) -> None:
    _, session = manager
    assert client.post("/api/auth/logout", headers=session).status_code == 204
    assert client.get("/api/me", headers=session).status_code == 401


def test_an_api_token_is_not_a_page_session(client, manager) -> None:
    _, session = manager
    made = _make(client, session, "write").json()
    client.cookies.set("jiliang_session", made["token"])
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_token_planted_or_stretched_with_sql_is_refused_and_named(platform, client, manager) -> None:
    lab, session = manager
    made = _make(client, session, "read", days=1).json()
    digest = next(
        d for (d,) in platform.engine.connect().execute(select(api_tokens.c.token_hash)) if token_id(d) == made["id"]
    )
    # a longer life and a wider scope for a real token, and a token for the administrator out of thin air
    far = utcnow() + timedelta(days=3650)
    tamper.sql(platform, update(api_tokens).where(api_tokens.c.token_hash == digest).values(expires_at=far))
    planted = secrets.token_urlsafe(32)
    admin_id = world.admin(platform).user_id
    tamper.sql(
        platform,
        insert(api_tokens).values(
            token_hash=token_digest(planted), user_id=admin_id, expires_at=far, scope="write", created_at=utcnow()
        ),
    )
    assert client.get("/api/me", headers=_bearer(made["token"])).status_code == 401
    assert client.get("/api/me", headers=_bearer(planted)).status_code == 401
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert found == {
        ("unsigned", "api_tokens", made["id"]),
        ("unsigned", "api_tokens", token_id(token_digest(planted))),
    }

    # copying a real seal onto a wider scope does not help either
    second = _make(client, session, "read").json()
    tamper.sql(
        platform,
        update(api_tokens).where(api_tokens.c.token_hash.startswith(second["id"])).values(scope="write"),
    )
    assert client.get("/api/me", headers=_bearer(second["token"])).status_code == 401


def test_my_account_page_makes_a_token_shows_it_once_and_revokes_it(platform) -> None:
    from tests.support.work_pages import clients, post_form

    lab = world.make_lab(platform, "D310104", ["nawi"])
    for as_ in clients(platform):
        page = as_(lab.approver)
        wrong = post_form(page, "/account", "/account/tokens", {"label": "读数导出", "scope": "read", "password": "x"})
        assert wrong.status_code == 403 and "密码错误" in wrong.text
        made = post_form(
            page,
            "/account",
            "/account/tokens",
            {"label": "读数导出", "scope": "read", "days": "7", "password": world.PASSWORD},
        )
        assert made.status_code == 200
        token = re.search(r'<code class="secret">([^<]+)</code>', made.text).group(1)
        assert page.get("/api/me", headers=_bearer(token)).status_code == 200
        listed = page.get("/account").text
        assert "读数导出" in listed and "只读" in listed and token not in listed  # shown once only
        [tid] = re.findall(r"/account/tokens/([0-9a-f]{16})/revoke", listed)
        revoked = post_form(page, "/account", f"/account/tokens/{tid}/revoke", {})
        assert revoked.status_code == 303
        assert page.get("/api/me", headers=_bearer(token)).status_code == 401
        assert "您还没有 API 令牌" in page.get("/account").text
