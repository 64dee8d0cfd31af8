"""PostgreSQL restarted under a running platform (every server connection terminated): a request
caught on a dropped connection answers 503 with Retry-After, nothing half-written, and the next
request works on a fresh connection."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from jiliang.registry.tables import owners
from tests.conftest import ADMIN_PASSWORD, BACKEND, login, pg_admin_engine

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="a PostgreSQL server to restart")


def _terminate(platform) -> None:  # type: ignore[no-untyped-def]
    name = platform.engine.url.database
    with pg_admin_engine().connect() as c:
        c.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": name},
        )


def test_requests_after_a_restart_retry_and_succeed(platform, client) -> None:
    headers = login(client, "admin", ADMIN_PASSWORD)
    assert client.get("/api/me", headers=headers).status_code == 200  # the pool holds a connection now
    _terminate(platform)
    first = client.get("/api/me", headers=headers)
    assert first.status_code in (200, 503), first.text
    if first.status_code == 503:
        assert first.headers["retry-after"] == "1" and first.json()["rule"] == "unavailable"
    assert client.get("/api/me", headers=headers).status_code == 200
    with platform.engine.connect() as c:
        before = c.execute(select(func.count()).select_from(owners)).scalar_one()
    _terminate(platform)
    body = {
        "credit_code": "91310000MA1FL0XX3J",
        "name": "重启后注册",
        "district_code": "310104",
        "username": "after-restart",
        "password": "password-123",
    }
    answers = [client.post("/public/owners", json=body).status_code for _ in range(2)]
    assert answers in ([201, 409], [503, 201]), answers  # written exactly once
    with platform.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(owners)).scalar_one() == before + 1


def test_a_database_that_refuses_connections_answers_503_not_500(settings) -> None:  # type: ignore[no-untyped-def]
    """No server at all on the port (as when PostgreSQL refuses: too many clients, starting up)."""
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from jiliang.api import create_app
    from jiliang.platform import Platform

    gone = Platform(replace(settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/none"))
    client = TestClient(create_app(gone), raise_server_exceptions=False)
    for answer in (
        client.get("/api/me", headers={"Authorization": "Bearer x"}),
        client.get("/public/certificates/D310104-2026-000001"),
    ):
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1" and answer.json()["rule"] == "unavailable"
    gone.engine.dispose()
