"""Helpers for the workbench and lab page tests: a logged-in HTTP client per person (the login form
with its CSRF token, as a person would), the token a page's forms carry, and the live-evaluation
outputs read back from the HTML fragment."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from jiliang.api import create_app
from jiliang.auth import Actor
from jiliang.platform import Platform
from tests.support.world import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SPAN = r'<span id="{name}-{n}"[^>]*>'


def form_token(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.text
    found = CSRF.search(r.text)
    assert found, f"no form on {path}"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_token(client, "/login")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def clients(platform: Platform) -> Iterator[Callable[[Actor], TestClient]]:
    """Fixture body: `as_(actor)` gives a fresh client logged in as that person (own cookies)."""
    with ExitStack() as stack:

        def as_(actor: Actor) -> TestClient:
            return log_in(stack.enter_context(TestClient(create_app(platform))), actor.username)

        yield as_


def post_form(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """Submit a form found on `page` (its CSRF token included) without following the redirect."""
    return client.post(action, data={**data, "csrf_token": form_token(client, page)}, follow_redirects=False)


@dataclass(frozen=True)
class RowOutput:
    error: Decimal | None
    mpe_lower: Decimal | None
    mpe_upper: Decimal | None
    mpe_unit: str | None
    verdict: str | None
    advisory: bool


def _attr(tag: str, name: str) -> str | None:
    found = re.search(rf'{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def row_output(html: str, n: int) -> RowOutput:
    """Row `n`'s error, MPE and verdict as the page shows them (from their data attributes)."""
    spans = {}
    for name in ("error", "mpe", "verdict"):
        found = re.search(_SPAN.format(name=name, n=n), html)
        assert found, f"no {name} output for row {n}"
        spans[name] = found.group(0)

    def dec(tag: str, attr: str) -> Decimal | None:
        value = _attr(tag, attr)
        return Decimal(value) if value else None

    return RowOutput(
        dec(spans["error"], "data-value"),
        dec(spans["mpe"], "data-lower"),
        dec(spans["mpe"], "data-upper"),
        _attr(spans["mpe"], "data-unit"),
        _attr(spans["verdict"], "data-verdict"),
        _attr(spans["verdict"], "data-advisory") == "yes",
    )


def overall(html: str) -> tuple[str | None, bool]:
    """The overall verdict shown under the readings, and whether it is advisory."""
    found = re.search(r'id="overall-verdict"[^>]*', html)
    assert found, "no overall verdict"
    return _attr(found.group(0), "data-verdict"), _attr(found.group(0), "data-advisory") == "yes"


COLUMNS = ("point_id", "reference", "indication", "added_load", "position", "indication_after")


def row_columns(rows: Any) -> dict[str, list[str]]:
    """The results form's per-row columns for `rows`: tuples (point_id, reference, indication[, added_load
    [, position[, indication_after]]]) as typed, or readings (PointReading / ReadingInput, e.g. from
    tests/support/jjg539.py); a missing or None column is posted blank, one value per row."""
    from tests.support.jjg539 import as_inputs

    typed = []
    for row in rows:
        if not isinstance(row, tuple):
            [r] = as_inputs([row]) if not hasattr(row, "expanded_uncertainty") else [row]
            row = (r.point_id, r.reference, r.indication, r.added_load, r.position, r.indication_after)
        typed.append(tuple(row) + (None,) * (len(COLUMNS) - len(row)))
    return {name: ["" if t[i] is None else str(t[i]) for t in typed] for i, name in enumerate(COLUMNS)}
