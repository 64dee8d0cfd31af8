"""Password guessing is throttled: five wrong passwords in a row (at login or when signing) lock the
account for fifteen minutes, with an audit event; one client address may try at most the configured
number of logins per minute; scrypt hashes of earlier versions become argon2id at the next login;
and every answer carries the security headers, the API's and its documentation's included."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from sqlalchemy import select, update

from jiliang.audit import audit_events
from jiliang.ledger.auditor import audit
from jiliang.registry.tables import account_locks, users
from jiliang.types import utcnow
from jiliang.verification import service as workflow
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world

LOGIN = "/api/auth/login"


def _try(client, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, json={"username": username, "password": password})


def _events(platform, action: str, user_id: int) -> list:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return list(
            c.execute(
                select(audit_events).where(audit_events.c.action == action, audit_events.c.record_id == str(user_id))
            )
        )


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(platform, client) -> None:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    name = lab.verifier.username
    for _ in range(4):
        assert _try(client, name, "not-the-password").status_code == 401
    r = _try(client, name, "not-the-password")
    assert r.status_code == 429 and r.json()["rule"] == "account_locked"
    r = _try(client, name, world.PASSWORD)  # the right password, too late
    assert r.status_code == 429 and "locked until" in r.json()["detail"]
    [event] = _events(platform, "user.locked", lab.verifier.user_id)
    assert event.after["failures"] == 5 and event.after["at"] == "login"
    # fifteen minutes later (the lock's end moved into the past) the right password works again
    with platform.engine.begin() as c:
        c.execute(update(account_locks).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert _try(client, name, world.PASSWORD).status_code == 200
    with platform.engine.connect() as c:
        assert c.execute(select(account_locks)).first() is None  # the run of failures is over
    assert audit(platform).clean  # the lock's audit event is ledgered under the platform's key


def test_a_right_password_ends_a_run_of_wrong_ones(platform, client) -> None:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    name = lab.checker.username
    for _ in range(4):
        assert _try(client, name, "wrong").status_code == 401
    assert _try(client, name, world.PASSWORD).status_code == 200
    for _ in range(4):
        assert _try(client, name, "wrong").status_code == 401
    assert _try(client, name, world.PASSWORD).status_code == 200


def test_wrong_signing_passwords_count_toward_the_same_lock(platform, client) -> None:
    owner = world.make_owner(platform)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    headers = login(client, lab.verifier.username, world.PASSWORD)
    body = {
        "performed_on": utcnow().date().isoformat(),
        "standard_ids": [lab.standard_id],
        "readings": [{"point_id": "load", "reference": "1.000", "indication": "1.000"}],
        "password": "wrong-signing-password",
    }
    answers = [client.post(f"/api/tasks/{task}/results", json=body, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [403, 403, 403, 403, 429]
    assert _try(client, lab.verifier.username, world.PASSWORD).status_code == 429
    [event] = _events(platform, "user.locked", lab.verifier.user_id)
    assert event.after["at"] == "signing"
    assert audit(platform).clean


def test_an_unknown_username_gets_the_same_answer(platform, client) -> None:
    known = _try(client, "admin", "wrong-password")
    unknown = _try(client, "no-such-user", "wrong-password")
    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()


def test_one_client_may_try_only_so_many_logins_a_minute(platform, client) -> None:
    limit = platform.settings.login_rate_limit
    answers = [_try(client, f"nobody{i}", "x").status_code for i in range(limit + 1)]
    assert answers[:limit] == [401] * limit and answers[limit] == 429


def _scrypt(password: str) -> str:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_an_earlier_scrypt_hash_becomes_argon2id_at_the_next_login(platform, client) -> None:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    user_id = lab.approver.user_id
    with platform.engine.begin() as c:
        c.execute(update(users).where(users.c.id == user_id).values(password_hash=_scrypt(world.PASSWORD)))
    assert _try(client, lab.approver.username, world.PASSWORD).status_code == 200
    with platform.engine.connect() as c:
        stored = c.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar_one()
    assert stored.startswith("$argon2id$")
    [event] = _events(platform, "user.password_rehashed", user_id)
    assert event.after == {"scheme": "argon2id"} and stored not in str(event.before) + str(event.after)
    assert _try(client, lab.approver.username, world.PASSWORD).status_code == 200  # the new hash works


def test_the_api_and_its_documentation_carry_the_security_headers(platform, client) -> None:
    headers = login(client, "admin", ADMIN_PASSWORD)
    for path, kwargs in (("/api/me", {"headers": headers}), ("/docs", {}), ("/openapi.json", {})):
        r = client.get(path, **kwargs)
        assert r.status_code == 200, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "strict-transport-security" not in r.headers  # plain HTTP here
    r = client.get("https://testserver/health")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
