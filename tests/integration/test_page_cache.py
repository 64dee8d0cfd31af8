"""Kept list pages (page_cache.py): after every kind of change the platform makes, a list answered
from the cache is byte for byte what the route builds afresh (an app with no cache, on the same
database), headers included; a token refused since is refused at once; one actor never gets another's
page; a kept answer reads the token and the ledger's size in one statement and nothing else; and on
PostgreSQL a dropped connection costs one answer from the route, not a wrong one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text, update

from jiliang.api import create_app
from jiliang.certificates import service as certs
from jiliang.page_cache import Kept, PageCache
from jiliang.platform import Platform
from jiliang.registry import service as registry
from jiliang.registry.tables import owners, users
from jiliang.verification import service as workflow
from tests.conftest import login
from tests.support import world

_VOLATILE = {"date", "server-timing"}  # the moment of the answer


@pytest.fixture
def kept(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c


@pytest.fixture
def fresh(platform: Platform) -> Iterator[TestClient]:
    uncached = Platform(replace(platform.settings, page_cache_bytes=0), engine=platform.engine)
    with TestClient(create_app(uncached)) as c:
        yield c


def _cache(client: TestClient) -> PageCache:
    return client.app.state.page_cache  # type: ignore[attr-defined,no-any-return]


def _agree(kept: TestClient, fresh: TestClient, reads: list[tuple[dict[str, str], str]]) -> None:
    """Each read twice from the kept app (the second from its cache) and once afresh: all the same."""
    for headers, url in reads:
        want = fresh.get(url, headers=headers)
        hits = _cache(kept).hits
        for _ in range(2):
            got = kept.get(url, headers=headers)
            assert (got.status_code, got.content) == (want.status_code, want.content), url
            assert {k: v for k, v in got.headers.items() if k not in _VOLATILE} == {
                k: v for k, v in want.headers.items() if k not in _VOLATILE
            }, url
        assert _cache(kept).hits == hits + 1, f"{url}: the second read was not answered from the cache"


def test_a_kept_page_is_what_the_route_builds_after_every_change(platform, kept, fresh) -> None:  # type: ignore[no-untyped-def]
    a, b = world.make_owner(platform, "310104"), world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    mine = [world.scale(platform, a) for _ in range(3)]
    world.scale(platform, b)
    tasks = workflow.apply(platform.uow(), a, mine[:2])
    as_a, as_b = login(kept, a.username, world.PASSWORD), login(kept, b.username, world.PASSWORD)
    as_lab = login(kept, lab.verifier.username, world.PASSWORD)
    reads = [
        (as_a, "/api/instruments"),
        (as_a, "/api/instruments?limit=2"),
        (as_a, "/api/certificates"),
        (as_b, "/api/instruments"),
        (as_lab, "/api/tasks"),
        (as_lab, "/api/tasks?state=issued"),
        (as_lab, "/api/instruments"),
        (as_lab, "/api/certificates"),
    ]
    _agree(kept, fresh, reads)
    assert kept.get("/api/instruments", headers=as_a).content != kept.get("/api/instruments", headers=as_b).content

    with platform.engine.connect() as c:
        b_code = c.execute(select(owners.c.credit_code).where(owners.c.id == b.owner_id)).scalar_one()
    changes: list[Any] = [
        lambda: world.scale(platform, a),  # registered
        lambda: world.record(platform, lab, tasks[0]),  # recorded
        lambda: world.verify(platform, lab, tasks[1]),  # issued: certificate, task, instrument's due date
        lambda: certs.revoke_certificate(
            platform.uow(), world.confirm(platform, lab.approver), _numbers(kept, as_lab)[0], "录入错误"
        ),
        lambda: registry.transfer_instrument(platform.uow(), a, mine[2], b_code),
        lambda: registry.scrap_instrument(platform.uow(), a, mine[0]),
    ]
    for change in changes:
        change()
        _agree(kept, fresh, reads)

    # the owner's instruments went, as they did, through every state the list shows
    statuses = {row["due_status"] for row in kept.get("/api/instruments", headers=as_a).json()}
    assert "scrapped" in statuses
    # a token refused since is refused at once, kept page or not
    assert kept.post("/api/auth/logout", headers=as_a).status_code == 204
    r = kept.get("/api/instruments", headers=as_a)
    assert r.status_code == 401 and r.json()["rule"] == "unauthenticated"
    with platform.uow() as uow:  # a deactivated account: its session goes with it
        uow.conn.execute(update(users).where(users.c.id == b.user_id).values(active=False))
        uow.commit()
    assert kept.get("/api/instruments", headers=as_b).status_code == 401


def _numbers(client: TestClient, headers: dict[str, str]) -> list[str]:
    return [c["number"] for c in client.get("/api/certificates", headers=headers).json()]


def test_a_kept_answer_reads_one_statement_and_never_runs_the_route(platform, kept) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform, "310104")
    world.scale(platform, owner)
    headers = login(kept, owner.username, world.PASSWORD)
    first = kept.get("/api/instruments", headers=headers)
    middleware = _kept_pages(kept)
    seen: list[str] = []
    listeners = {"route": platform.engine, "check": middleware.loop_engine}
    counters = {name: (lambda *_, name=name: seen.append(name)) for name in listeners}
    for name, engine in listeners.items():
        if engine is not None:
            event.listen(engine, "before_cursor_execute", counters[name])
    try:
        again = kept.get("/api/instruments", headers=headers)
    finally:
        for name, engine in listeners.items():
            if engine is not None:
                event.remove(engine, "before_cursor_execute", counters[name])
    assert again.content == first.content
    assert "route" not in seen, seen  # the app's own engine ran nothing: no route, no page rebuilt
    if middleware.loop_engine is not None:  # SQLite: the loop's own connection, one statement
        assert seen == ["check"]


def _kept_pages(client: TestClient) -> Any:
    app = client.app.middleware_stack  # type: ignore[attr-defined]
    while type(app).__name__ != "KeptPages":
        app = app.app
    return app


def test_one_actor_never_gets_anothers_page_and_the_bound_holds(platform, kept) -> None:  # type: ignore[no-untyped-def]
    a, b = world.make_owner(platform, "310104"), world.make_owner(platform, "310104")
    world.scale(platform, a)
    as_a, as_b = login(kept, a.username, world.PASSWORD), login(kept, b.username, world.PASSWORD)
    for _ in range(2):
        assert len(kept.get("/api/instruments", headers=as_a).json()) == 1
        assert kept.get("/api/instruments", headers=as_b).json() == []

    cache = PageCache(max_bytes=10)
    for i in range(4):
        cache.put(("/api/x", b"", a, None, i), Kept(b"abcd", ()))  # type: ignore[arg-type]
    assert len(cache) == 2  # 8 of 10 bytes: the two least recently used went
    assert cache.get(("/api/x", b"", a, None, 0)) is None and cache.get(("/api/x", b"", a, None, 3)) is not None  # type: ignore[arg-type]
    cache.put(("/api/x", b"", a, None, 9), Kept(b"x" * 11, ()))  # type: ignore[arg-type]
    assert len(cache) == 2  # larger than the whole bound: never kept


def test_a_dropped_postgresql_connection_costs_one_answer_from_the_route(platform, kept) -> None:  # type: ignore[no-untyped-def]
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite reads its file")
    owner = world.make_owner(platform, "310104")
    world.scale(platform, owner)
    headers = login(kept, owner.username, world.PASSWORD)
    first = kept.get("/api/instruments", headers=headers).content
    assert kept.get("/api/instruments", headers=headers).content == first
    with platform.engine.connect() as c:  # every other connection to the test database goes
        c.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    hits = _cache(kept).hits
    for _ in range(3):
        r = kept.get("/api/instruments", headers=headers)
        assert (r.status_code, r.content) == (200, first)
    assert _cache(kept).hits >= hits + 1  # reconnected: kept pages answer again
