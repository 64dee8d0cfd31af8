"""API lists walk by keyset cursor and are written by the database: each page is one statement after
the last row's id, its successor is named in the Link header while pages come back full, the pages
together are exactly the list, and every field has the value and JSON type the documented shape gives
(the Python rules of the detail views: registry.queries.instrument_row, certificates.routes
.certificate_summary, the framework's own encoding of the task queue)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter
from sqlalchemy import select, update

from jiliang.certificates import service as certs
from jiliang.certificates.queries import list_certificates
from jiliang.certificates.routes import certificate_summary
from jiliang.certificates.tables import certificates
from jiliang.platform import shanghai_today
from jiliang.registry import queries
from jiliang.registry.tables import instruments
from jiliang.verification import queries as workflow_queries
from jiliang.verification import service as workflow
from tests.conftest import login
from tests.support import world

NEXT = re.compile(r'<([^>]+)>; rel="next"')


def _walk(client, url: str, headers) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    pages = []
    while url:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(orjson.loads(r.content))
        found = NEXT.search(r.headers.get("link", ""))
        url = found.group(1) if found else ""
    return pages


def _same(answer: list[dict[str, Any]], documented: list[dict[str, Any]]) -> None:
    """Field by field: the same keys in the same order, equal values of the same JSON type (so a 0 is
    not taken for false, nor 1.0 for 1)."""
    assert len(answer) == len(documented)
    for got, want in zip(answer, documented, strict=True):
        assert list(got) == list(want)
        for key in want:
            assert (key, got[key]) == (key, want[key])
            assert (key, type(got[key])) == (key, type(want[key]))


def _documented_instruments(platform, owner, today: date) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        rows = c.execute(select(instruments).where(instruments.c.owner_id == owner.owner_id).order_by(instruments.c.id))
        return [jsonable_encoder(queries.instrument_row(r, today)) for r in rows]


def test_instruments_page_by_cursor(platform, client) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform, "310104")
    other = world.make_owner(platform, "310104")
    mine = [world.scale(platform, owner) for _ in range(5)]
    world.scale(platform, other)  # never in the owner's pages
    headers = login(client, owner.username, world.PASSWORD)

    pages = _walk(client, "/api/instruments?limit=2", headers)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [row["id"] for page in pages for row in page] == mine
    whole = client.get("/api/instruments", headers=headers)
    assert "link" not in whole.headers and whole.headers["content-type"] == "application/json"
    _same(whole.json(), _documented_instruments(platform, owner, shanghai_today()))
    # a cursor is a position, not a key to someone else's rows; offset paging still answers
    assert client.get(f"/api/instruments?cursor={mine[0] - 1}&limit=10", headers=headers).json() == whole.json()
    assert [r["id"] for r in client.get("/api/instruments?offset=3", headers=headers).json()] == mine[3:]
    assert client.get(f"/api/instruments?cursor={mine[-1]}", headers=headers).json() == []


def test_every_status_and_value_type_is_written_as_the_python_rules_write_it(platform, client) -> None:  # type: ignore[no-untyped-def]
    """The database's due status (a CASE) against registry.label.instrument_status on each branch and
    boundary, and its JSON against the documented shape: booleans, dates, times with and without
    microseconds, JSON parameters, text that needs escaping, nulls. The owner's status counts are one
    grouped query over the same rule."""
    today = shanghai_today()
    owner = world.make_owner(platform, "310104")
    states: dict[str, dict[str, Any]] = {
        "never_verified": {},
        "scrapped": {"status": "scrapped", "last_verified_on": today, "valid_until": today - timedelta(days=9)},
        "barred": {"barred": True, "last_verified_on": today, "valid_until": today + timedelta(days=300)},
        "replace_by_past": {"last_verified_on": today, "replace_by": today - timedelta(days=1)},
        "replace_by_today": {"last_verified_on": today, "replace_by": today, "valid_until": today - timedelta(days=3)},
        "unknown": {"last_verified_on": today},
        "overdue": {"last_verified_on": today, "valid_until": today - timedelta(days=1)},
        "due_today": {"last_verified_on": today, "valid_until": today},
        "due_in_30": {"last_verified_on": today, "valid_until": today + timedelta(days=30)},
        "in_date_31": {"last_verified_on": today, "valid_until": today + timedelta(days=31), "zone": "lingang"},
    }
    times = [
        datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC),  # no microseconds: isoformat() writes none
        datetime(2026, 3, 1, 8, 0, 0, 500, tzinfo=UTC),  # leading zeros kept
        datetime(2026, 3, 1, 8, 0, 0, 100000, tzinfo=UTC),  # trailing zeros kept
    ]
    ids = {
        label: world.scale(
            platform,
            owner,
            name='秤 "A" \\ 1\n',
            software_version="V1.0" if n % 2 else None,
            parameters={"e": "0.005", "说明": 'a "b" / c'},
        )
        for n, label in enumerate(states)
    }
    with platform.engine.begin() as c:
        for n, (label, values) in enumerate(states.items()):
            at = times[n % len(times)]
            c.execute(update(instruments).where(instruments.c.id == ids[label]).values(registered_at=at, **values))
    headers = login(client, owner.username, world.PASSWORD)

    answer = client.get("/api/instruments", headers=headers)
    documented = _documented_instruments(platform, owner, today)
    _same(answer.json(), documented)
    by_id = {row["id"]: row for row in answer.json()}
    assert {label: by_id[i]["due_status"] for label, i in ids.items()} == {
        "never_verified": "never_verified",
        "scrapped": "scrapped",
        "barred": "barred",
        "replace_by_past": "overdue",
        "replace_by_today": "in_date",
        "unknown": "unknown",
        "overdue": "overdue",
        "due_today": "due_soon",
        "due_in_30": "due_soon",
        "in_date_31": "in_date",
    }
    assert [by_id[ids[label]]["registered_at"] for label in ("never_verified", "scrapped", "barred")] == [
        "2026-03-01T08:00:00+00:00",
        "2026-03-01T08:00:00.000500+00:00",
        "2026-03-01T08:00:00.100000+00:00",
    ]
    assert by_id[ids["barred"]]["barred"] is True and by_id[ids["overdue"]]["barred"] is False
    assert by_id[ids["overdue"]]["parameters"] == {"e": "0.005", "说明": 'a "b" / c'}
    assert by_id[ids["overdue"]]["valid_until"] == (today - timedelta(days=1)).isoformat()

    with platform.engine.connect() as c:
        counts = queries.instrument_status_counts(c, owner, today)
        assert counts == {
            "never_verified": 1,
            "scrapped": 1,
            "barred": 1,
            "overdue": 2,
            "due_soon": 2,
            "in_date": 2,
            "unknown": 1,
        }
        assert sum(counts.values()) == len(states)
        overdue = queries.list_instruments(c, owner, today, status="overdue")
        assert [r["id"] for r in overdue] == [ids["replace_by_past"], ids["overdue"]]


def test_certificates_page_newest_first_by_cursor(platform, client) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(3)])
    numbers = [world.verify(platform, lab, t) for t in tasks]
    numbers.append(  # supersedes numbers[0], which becomes superseded
        certs.amend_certificate(
            platform.uow(), world.confirm(platform, lab.approver), numbers[0], {"remarks": "更正"}, "笔误"
        )
    )
    with platform.engine.begin() as c:  # one that has run out: current_status "expired"
        c.execute(
            update(certificates)
            .where(certificates.c.number == numbers[1])
            .values(valid_until=shanghai_today() - timedelta(days=1))
        )
    headers = login(client, owner.username, world.PASSWORD)
    pages = _walk(client, "/api/certificates?limit=3", headers)
    assert [[c["number"] for c in p] for p in pages] == [numbers[::-1][:3], numbers[::-1][3:]]
    with platform.engine.connect() as c:
        documented = [jsonable_encoder(certificate_summary(row)) for row in list_certificates(c, owner)]
    _same([c for p in pages for c in p], documented)
    newest = pages[0][0]
    assert newest["supersedes"] == numbers[0] and newest["instrument"] == "电子计价秤"
    assert newest["qr"].startswith("/public/verify/")
    assert {c["number"]: c["current_status"] for c in documented} == {
        numbers[0]: "superseded",
        numbers[1]: "expired",
        numbers[2]: "valid",
        numbers[3]: "valid",
    }
    stranger = login(client, world.make_owner(platform, "310104").username, world.PASSWORD)
    assert client.get("/api/certificates?cursor=999999", headers=stranger).json() == []


def test_the_task_queue_pages_by_cursor_as_the_framework_wrote_it(platform, client) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(3)])
    world.record(platform, lab, tasks[1])  # recorded: its record is named
    world.verify(platform, lab, tasks[2])  # issued
    headers = login(client, lab.verifier.username, world.PASSWORD)

    pages = _walk(client, "/api/tasks?limit=2", headers)
    assert [[t["id"] for t in p] for p in pages] == [tasks[:2], tasks[2:]]
    with platform.engine.connect() as c:
        queue = workflow_queries.task_queue(c, lab.verifier)
    documented = orjson.loads(TypeAdapter(list[dict[str, Any]]).dump_json(queue))  # times end in Z
    _same([t for p in pages for t in p], documented)
    assert [t["state"] for t in documented] == ["assigned", "recorded", "issued"]
    assert documented[1]["record_id"] is not None and documented[0]["created_at"].endswith("Z")
    recorded = client.get("/api/tasks?state=recorded", headers=headers).json()
    assert [t["id"] for t in recorded] == [tasks[1]]
    assert client.get("/api/tasks", headers=login(client, owner.username, world.PASSWORD)).json() == []


def test_a_list_refuses_a_missing_or_unknown_token_as_every_route_does(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/instruments", "/api/certificates", "/api/tasks"):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            r = client.get(path, headers=headers)
            assert r.status_code == 401 and r.json()["rule"] == "unauthenticated", (path, r.text)
        # a parameter out of range without a live token: refused for the token first, as every route
        # refuses, saying nothing about the parameters
        r = client.get(f"{path}?limit=0&cursor=-1", headers=headers)
        assert r.status_code == 401 and r.json()["rule"] == "unauthenticated", (path, r.text)
        assert "limit" not in r.text
