"""Helpers for the owner-page tests: logging in through the form, the forms' CSRF token, a district
regulator's account, and an instrument verified with a chosen end of validity."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from jiliang.auth import Actor, load_actor
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.tables import regulators, users
from jiliang.verification import service as workflow
from tests.support import world

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# GB 32100's documented example (shared/reference/credit-code.md): valid with check character 3
DOC_CODE = "91350100M000100Y43"
DOC_CODE_WRONG = "91350100M000100Y44"


def csrf(client, path: str = "/login") -> str:  # type: ignore[no-untyped-def]
    """The CSRF token of the form on `path` (as a browser would read it from the page)."""
    r = client.get(path)
    assert r.status_code == 200, r.text
    found = CSRF.search(r.text)
    assert found, f"no form on {path}"
    return found.group(1)


def page_login(client, username: str, password: str = world.PASSWORD) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def make_regulator(platform: Platform, district: str) -> Actor:
    """A user of the district bureau SAMR-<district>."""
    with platform.engine.connect() as c:
        rid = c.execute(select(regulators.c.id).where(regulators.c.code == f"SAMR-{district}")).scalar_one()
    uid = registry.create_user(
        platform.uow(),
        world.admin(platform),
        f"reg{district}",
        world.PASSWORD,
        f"监管{district}",
        ["regulator"],
        regulator_id=rid,
    )
    with platform.engine.connect() as c:
        return load_actor(c, uid)


def owner_username(platform: Platform, owner_id: int) -> str:
    with platform.engine.connect() as c:
        return str(c.execute(select(users.c.username).where(users.c.owner_id == owner_id)).scalar_one())


def verified_scale(
    platform: Platform,
    lab: world.Lab,
    owner: Actor,
    until: date | None,
    on: date | None = None,
    readings: list[workflow.ReadingInput] | None = None,
) -> int:
    """A scale applied for and verified on `on` (today), the institution setting its validity to
    `until` (None: the catalogue gives no period, so it stays unknown); returns the instrument id."""
    iid = world.scale(platform, owner)
    [task] = workflow.apply(platform.uow(), owner, [iid])
    rid = workflow.record_results(
        platform.uow(),
        world.confirm(platform, lab.verifier),
        task,
        workflow.ResultsInput(
            performed_on=on or shanghai_today(),
            standard_ids=[lab.standard_id],
            readings=readings or world.SCALE_PASS,
            stage="subsequent",
            environment={"temperature": "20.5 °C"},
            institution_valid_until=until,
        ),
    )
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
    workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rid)
    return iid
