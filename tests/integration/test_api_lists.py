"""API lists walk by keyset cursor: each page is one query after the last row's id, its successor is
named in the Link header while pages come back full, the pages together are exactly the list, and the
answer is the same JSON the framework's own encoder would write."""

from __future__ import annotations

import re

from fastapi.encoders import jsonable_encoder

from jiliang.platform import shanghai_today
from jiliang.registry import queries
from jiliang.verification import service as workflow
from tests.conftest import login
from tests.support import world

NEXT = re.compile(r'<([^>]+)>; rel="next"')


def _walk(client, url: str, headers) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    pages = []
    while url:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        found = NEXT.search(r.headers.get("link", ""))
        url = found.group(1) if found else ""
    return pages


def test_instruments_page_by_cursor_and_match_the_frameworks_encoding(platform, client) -> None:
    owner = world.make_owner(platform, "310104")
    other = world.make_owner(platform, "310104")
    mine = [world.scale(platform, owner) for _ in range(5)]
    world.scale(platform, other)  # never in the owner's pages
    headers = login(client, owner.username, world.PASSWORD)

    pages = _walk(client, "/api/instruments?limit=2", headers)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [row["id"] for page in pages for row in page] == mine
    whole = client.get("/api/instruments", headers=headers)
    assert "link" not in whole.headers
    with platform.engine.connect() as c:
        expected = jsonable_encoder(queries.list_instruments(c, owner, shanghai_today()))
    assert whole.json() == expected  # dates, times, JSON parameters written as FastAPI would
    # a cursor is a position, not a key to someone else's rows; offset paging still answers
    assert client.get(f"/api/instruments?cursor={mine[0] - 1}&limit=10", headers=headers).json() == expected
    assert [r["id"] for r in client.get("/api/instruments?offset=3", headers=headers).json()] == mine[3:]


def test_certificates_page_newest_first_by_cursor(platform, client) -> None:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(3)])
    numbers = [world.verify(platform, lab, t) for t in tasks]
    headers = login(client, owner.username, world.PASSWORD)
    pages = _walk(client, "/api/certificates?limit=2", headers)
    assert [[c["number"] for c in p] for p in pages] == [numbers[::-1][:2], numbers[::-1][2:]]
    assert pages[0][0]["instrument"] == "电子计价秤" and pages[0][0]["qr"].startswith("/public/verify/")
    stranger = login(client, world.make_owner(platform, "310104").username, world.PASSWORD)
    assert client.get("/api/certificates?cursor=999999", headers=stranger).json() == []
