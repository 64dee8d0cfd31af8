"""Where each role lands and which area answers it, over real HTTP: logging in leads every role to where
its work waits (an owner to their instruments, staff to the task queue, a lab manager to the standards,
a regulator to the coverage dashboard, an administrator to the accounts), and the owner's pages answer
only an owner's users — anyone else is refused as on every page of another role, with no owner's form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.platform import Platform
from jiliang.registry.tables import instruments
from tests.conftest import ADMIN_PASSWORD
from tests.support import world
from tests.support.owner_pages import csrf, make_regulator

OWNER_FORMS = ('id="scrap-form"', 'action="/owner/', "/transfer", "/relocate")


@pytest.fixture
def people(platform: Platform) -> dict[str, Any]:
    """Everyone of Xuhui: the owner of a verified scale, the institute's staff, the district bureau, and
    the administrator; with the scale's id and another owner of the district."""
    lab, _ = world.issued_certificate(platform, "310104", "D310104")
    with platform.engine.connect() as c:
        iid = c.execute(select(instruments.c.id)).scalar_one()
    return {
        "scale": iid,
        "other_owner": world.make_owner(platform, "310104"),
        "verifier": (lab.verifier.username, world.PASSWORD),
        "checker": (lab.checker.username, world.PASSWORD),
        "approver": (lab.approver.username, world.PASSWORD),
        "lab_manager": (lab.manager.username, world.PASSWORD),
        "regulator": (make_regulator(platform, "310104").username, world.PASSWORD),
        "admin": ("admin", ADMIN_PASSWORD),
    }


@pytest.fixture
def browser_like(platform: Platform) -> Iterator[Any]:
    opened: list[TestClient] = []

    def open_one() -> TestClient:
        client = TestClient(create_app(platform))
        client.__enter__()
        opened.append(client)
        return client

    yield open_one
    for client in opened:
        client.__exit__(None, None, None)


def _log_in(client: TestClient, username: str, password: str) -> str:
    """Logs in with the form; returns where the login sends the user."""
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_every_role_lands_where_its_work_waits(platform: Platform, people: dict[str, Any], browser_like) -> None:  # type: ignore[no-untyped-def]
    homes = {
        "verifier": "/work/tasks",
        "checker": "/work/tasks",
        "approver": "/work/tasks",
        "lab_manager": "/lab/standards",
        "regulator": "/supervision/coverage",
        "admin": "/admin/users",
    }
    for role, home in homes.items():
        client = browser_like()
        assert _log_in(client, *people[role]) == home, role
        assert client.get("/", follow_redirects=False).headers["location"] == home  # the brand link too
        assert client.get(home).status_code == 200, role
    owner = browser_like()
    assert _log_in(owner, people["other_owner"].username, world.PASSWORD) == "/owner/instruments"
    # a link to a page of its own still wins over the landing page
    r = owner.post(
        "/login",
        data={"username": people["other_owner"].username, "password": world.PASSWORD, "csrf_token": csrf(owner)}
        | {"next": "/owner/certificates"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/owner/certificates"


def test_the_owners_pages_answer_only_an_owners_users(platform: Platform, people: dict[str, Any], browser_like) -> None:  # type: ignore[no-untyped-def]
    scale = people["scale"]
    pages = [
        "/owner/instruments",
        f"/owner/instruments/{scale}",  # an instrument the staff verified and the regulator oversees
        f"/owner/instruments/{scale}/label",
        "/owner/instruments/new",
        "/owner/apply",
        "/owner/certificates",
    ]
    for role in ("verifier", "checker", "approver", "lab_manager", "regulator", "admin"):
        client = browser_like()
        _log_in(client, *people[role])
        for page in pages:
            r = client.get(page)
            assert r.status_code == 403, (role, page)
            assert "这些页面供使用单位使用" in r.text and not any(form in r.text for form in OWNER_FORMS), (role, page)
            made_up = page.replace(str(scale), "987654")  # the same page whatever the id
            assert r.text == client.get(made_up).text.replace(made_up.replace("/", "%2F"), page.replace("/", "%2F"))
        token = csrf(client, "/account")
        for action, form in (("scrap", {"confirm": "yes"}), ("relocate", {"district_code": "310105"})):
            r = client.post(f"/owner/instruments/{scale}/{action}", data=form | {"csrf_token": token})
            assert r.status_code == 403, (role, action)
    with platform.engine.connect() as c:  # nothing was changed
        row = c.execute(select(instruments.c.status, instruments.c.district_code).where(instruments.c.id == scale))
        assert row.one() == ("in_use", "310104")
    owner = browser_like()
    _log_in(owner, people["other_owner"].username, world.PASSWORD)
    for page in ("/owner/instruments", "/owner/instruments/new", "/owner/apply", "/owner/certificates"):
        assert owner.get(page).status_code == 200, page
