"""The optional second factor (TOTP, RFC 6238) for approvers and administrators: turned on with the
password and a first code, asked for at every login (API and login page), each code accepted once,
wrong codes counted toward the account's lock, turned off with password and code or reset by an
administrator, every step an audit event, and the factor ledgered so that removing it with SQL is
named."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from jiliang.audit import audit_events
from jiliang.ledger.auditor import audit
from jiliang.registry.tables import second_factors
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import tamper, world

LOGIN = "/api/auth/login"
FACTOR = "/api/auth/second-factor"


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows (pyotp, not the platform's code), now or a step later."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


@pytest.fixture
def approver(platform, client):  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    return lab.approver, login(client, lab.approver.username, world.PASSWORD)


def _turn_on(client, session) -> str:  # type: ignore[no-untyped-def]
    r = client.post(FACTOR, json={"password": world.PASSWORD}, headers=session)
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert r.json()["otpauth_uri"].startswith("otpauth://totp/") and f"secret={secret}" in r.json()["otpauth_uri"]
    return secret


def _events(platform, action: str) -> list:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return c.execute(select(audit_events).where(audit_events.c.action == action)).all()


def test_turning_it_on_needs_the_password_and_a_first_good_code(platform, client, approver) -> None:
    person, session = approver
    wrong = client.post(FACTOR, json={"password": "not it"}, headers=session)
    assert wrong.status_code == 403
    secret = _turn_on(client, session)
    # pending: logging in still needs the password only
    assert client.post(LOGIN, json={"username": person.username, "password": world.PASSWORD}).status_code == 200
    bad = client.post(
        f"{FACTOR}/confirm", json={"code": "000000" if _code(secret) != "000000" else "111111"}, headers=session
    )
    assert bad.status_code == 401
    assert client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session).status_code == 204
    assert client.get("/api/me", headers=session).json()["second_factor"] is True
    [event] = _events(platform, "user.totp_enabled")
    assert event.actor_id == person.user_id and secret not in str(event)


def test_login_asks_for_the_code_and_takes_each_code_once(platform, client, approver) -> None:
    person, session = approver
    secret = _turn_on(client, session)
    client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session)
    body = {"username": person.username, "password": world.PASSWORD}

    asked = client.post(LOGIN, json=body)
    assert asked.status_code == 401 and asked.json()["rule"] == "totp_required"
    later = _code(secret, steps_ahead=1)  # the confirmation used this step's code; apps run a little ahead
    assert client.post(LOGIN, json=body | {"totp": later}).status_code == 200
    replay = client.post(LOGIN, json=body | {"totp": later})
    assert replay.status_code == 401 and replay.json()["rule"] == "totp_wrong"
    # a wrong password with a good code is still a wrong password
    assert client.post(LOGIN, json=body | {"password": "not it", "totp": _code(secret, 1)}).status_code == 401


def test_wrong_codes_lock_the_account_like_wrong_passwords(platform, client, approver) -> None:
    person, session = approver
    secret = _turn_on(client, session)
    client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session)
    body = {"username": person.username, "password": world.PASSWORD, "totp": "123456"}
    valid = {_code(secret, k) for k in (-1, 0, 1)}
    if "123456" in valid:  # one chance in ~300,000
        body["totp"] = "654321"
    answers = [client.post(LOGIN, json=body).status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 429]
    locked = client.post(LOGIN, json=body | {"totp": _code(secret, 1)})
    assert locked.status_code == 429  # even the right code waits for the lock to end
    [lock] = [e for e in _events(platform, "user.locked") if e.record_id == str(person.user_id)]
    assert lock.after["at"] == "second factor"


def test_the_login_page_takes_the_code_too(platform, client, approver) -> None:
    person, session = approver
    secret = _turn_on(client, session)
    client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session)
    page = client.get("/login")
    csrf = page.cookies.get("jiliang_csrf") or client.cookies.get("jiliang_csrf")
    form = {"username": person.username, "password": world.PASSWORD, "csrf_token": csrf}
    asked = client.post("/login", data=form, follow_redirects=False)
    assert asked.status_code == 401 and 'name="totp"' in asked.text and "required" in asked.text
    done = client.post("/login", data=form | {"totp": _code(secret, 1)}, follow_redirects=False)
    assert done.status_code == 303 and "jiliang_session" in done.cookies


def test_turning_it_off_needs_password_and_code_and_an_administrator_can_reset_it(platform, client, approver) -> None:
    person, session = approver
    secret = _turn_on(client, session)
    client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session)
    off = client.post(f"{FACTOR}/off", json={"password": world.PASSWORD, "code": "000000"}, headers=session)
    assert off.status_code == 401 or _code(secret) == "000000"
    ok = client.post(f"{FACTOR}/off", json={"password": world.PASSWORD, "code": _code(secret)}, headers=session)
    assert ok.status_code == 204
    assert client.post(LOGIN, json={"username": person.username, "password": world.PASSWORD}).status_code == 200

    secret = _turn_on(client, session)
    client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session)
    reset = f"/api/users/{person.user_id}/second-factor"
    # not an administrator: the same answer for a real user and a made-up one
    assert (
        client.delete(reset, headers=session).status_code
        == client.delete("/api/users/987654/second-factor", headers=session).status_code
    )
    assert client.delete(reset, headers=session).status_code in (403, 404)
    admin = login(client, "admin", ADMIN_PASSWORD)
    assert client.delete(reset, headers=admin).status_code == 204
    assert client.post(LOGIN, json={"username": person.username, "password": world.PASSWORD}).status_code == 200
    assert [e.action for e in _events(platform, "user.totp_reset")] == ["user.totp_reset"]
    assert len(_events(platform, "user.totp_disabled")) == 1
    assert audit(platform).findings == []


def test_a_second_factor_removed_with_sql_is_named(platform, client, approver) -> None:
    person, session = approver
    secret = _turn_on(client, session)
    client.post(f"{FACTOR}/confirm", json={"code": _code(secret)}, headers=session)
    assert audit(platform).findings == []
    tamper.sql(platform, second_factors.delete().where(second_factors.c.user_id == person.user_id))
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert found == {("deleted", "second_factors", str(person.user_id))}


def test_my_account_page_turns_it_on_with_a_qr_code_and_off_again(platform) -> None:
    import re

    from tests.support.work_pages import clients, post_form

    lab = world.make_lab(platform, "D310104", ["nawi"])
    for as_ in clients(platform):
        page = as_(lab.approver)
        shown = post_form(page, "/account", "/account/second-factor", {"password": world.PASSWORD})
        assert shown.status_code == 200 and 'src="data:image/svg+xml' in shown.text
        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', shown.text).group(1)
        on = post_form(page, "/account", "/account/second-factor/confirm", {"code": _code(secret)})
        assert on.status_code == 303
        assert "两步验证已启用" in page.get("/account").text
        off = post_form(
            page, "/account", "/account/second-factor/off", {"password": world.PASSWORD, "code": _code(secret, 1)}
        )
        assert off.status_code == 303 and "两步验证已停用" in page.get("/account").text
