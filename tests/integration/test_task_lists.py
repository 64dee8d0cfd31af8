"""The task lists over real HTTP: each task names its current record (an issued one too, as its detail
does), and an administrator reads every institution's tasks — the API's list and the /work/tasks page
agree with GET /api/tasks/{id}, which answers them — without being offered to record results."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from jiliang.registry.tables import institutions
from jiliang.verification import service as workflow
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world
from tests.support.owner_pages import page_login


def _world(platform):  # type: ignore[no-untyped-def]
    """An issued task in Xuhui (D310104) and a task waiting for its results in Huangpu (D310101)."""
    xuhui, _ = world.issued_certificate(platform, "310104", "D310104")
    huangpu = world.make_lab(platform, "D310101", ["nawi"])
    owner = world.make_owner(platform, "310101")
    [waiting] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    return xuhui, huangpu, waiting


def test_every_listed_task_names_the_record_its_detail_lists_in_one_statement(platform, client) -> None:  # type: ignore[no-untyped-def]
    xuhui, _, _ = _world(platform)
    h = login(client, xuhui.verifier.username, world.PASSWORD)
    statements: list[str] = []

    def keep(conn, cursor, statement, *rest):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(platform.engine, "before_cursor_execute", keep)
    try:
        [issued] = client.get("/api/tasks", headers=h).json()
    finally:
        event.remove(platform.engine, "before_cursor_execute", keep)
    assert issued["state"] == "issued"
    detail = client.get(f"/api/tasks/{issued['id']}", headers=h).json()
    assert issued["record_id"] is not None and [issued["record_id"]] == detail["records"]
    assert sum("tasks" in s for s in statements) == 1  # the record comes with the page, not a query per row


def test_an_administrator_lists_every_institutions_tasks_as_the_detail_answers_them(platform, client) -> None:  # type: ignore[no-untyped-def]
    xuhui, huangpu, waiting = _world(platform)
    admin = login(client, "admin", ADMIN_PASSWORD)
    listed = {t["id"]: t for t in client.get("/api/tasks", headers=admin).json()}
    assert {t["institution_id"] for t in listed.values()} == {xuhui.institution_id, huangpu.institution_id}
    for task_id, task in listed.items():
        detail = client.get(f"/api/tasks/{task_id}", headers=admin)
        assert detail.status_code == 200
        assert detail.json()["institution_id"] == task["institution_id"]
        assert detail.json()["records"] == ([task["record_id"]] if task["record_id"] else [])
    assert listed[waiting]["state"] == "assigned" and listed[waiting]["record_id"] is None
    assert [t["id"] for t in client.get("/api/tasks?state=assigned", headers=admin).json()] == [waiting]
    # each institution's staff still see only their own
    mine = login(client, huangpu.verifier.username, world.PASSWORD)
    assert [t["id"] for t in client.get("/api/tasks", headers=mine).json()] == [waiting]

    page_login(client, "admin", ADMIN_PASSWORD)
    page = client.get("/work/tasks?state=all")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr data-task="(\d+)" data-state="(\w+)">', page.text))
    assert {int(k) for k in rows} == set(listed) and rows[str(waiting)] == "assigned"
    with platform.engine.connect() as c:  # whose task each row is, by name
        names = c.execute(select(institutions.c.name_zh).where(institutions.c.code.in_(["D310101", "D310104"])))
        assert all(f'data-field="institution">{name}</td>' in page.text for name in names.scalars())
    issued = next(t for t in listed.values() if t["record_id"])
    assert f'href="/work/records/{issued["record_id"]}"' in page.text  # the record, read-only
    assert f'href="/work/tasks/{waiting}"' not in page.text  # recording results is the institution's
    assert client.get("/work/tasks?state=assigned").text.count('data-task="') == 1
