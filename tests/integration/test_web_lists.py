"""The list pages over real HTTP on the real database: a page at a time by key (first, next, previous,
last; a row added meanwhile moves no page), a search that narrows them, another institution's rows
never shown, and a bounded number of SQL statements per page however many rows it shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from jiliang import listing
from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.tables import institutions, instruments, owners
from jiliang.verification import service as workflow
from tests.support import world
from tests.support.lists import add_staff, counted, links, shown, walk
from tests.support.work_pages import clients, post_form


@pytest.fixture
def as_(platform):  # type: ignore[no-untyped-def]
    yield from clients(platform)


@pytest.fixture
def three_a_page(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(listing, "PAGE_ROWS", 3)


def test_staff_pages_walk_the_institution_by_key_and_never_show_another(platform, as_, three_a_page) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    mine = add_staff(platform, lab.institution_id, [f"xh-{n}" for n in range(5)])
    add_staff(platform, world.institution_id(platform, "D310105"), ["pt-stranger"])
    manager = as_(lab.manager)

    first = manager.get("/lab/staff").text
    assert set(links(first)) == {"next", "last"}
    pages = walk(manager, "/lab/staff", "data-user")
    everyone = [p.username for p in (lab.verifier, lab.checker, lab.approver, lab.manager)]
    assert pages == [everyone[:3], [everyone[3], "xh-0", "xh-1"], ["xh-2", "xh-3", "xh-4"]]

    # a person added while the manager reads page 1 joins the end; page 2 stays as it was
    second_url = links(first)["next"]
    add_staff(platform, lab.institution_id, ["xh-late"])
    second = manager.get(second_url).text
    assert shown(second, "data-user") == pages[1]
    assert set(links(second)) == {"first", "prev", "next", "last"}
    assert shown(manager.get(links(second)["prev"]).text, "data-user") == pages[0]

    last = manager.get(links(second)["last"]).text
    assert shown(last, "data-user") == ["xh-3", "xh-4", "xh-late"]
    assert set(links(last)) == {"first", "prev"}
    assert shown(manager.get(links(last)["prev"]).text, "data-user") == ["xh-0", "xh-1", "xh-2"]
    assert len(mine) == 5


def test_staff_search_finds_by_name_or_username_within_the_institution(platform, as_, three_a_page) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    ids = add_staff(platform, lab.institution_id, ["wang-wei", "wang-fang", "li-na", "wang-lei", "wang-jie"])
    add_staff(platform, world.institution_id(platform, "D310105"), ["wang-stranger"])
    manager = as_(lab.manager)

    found = walk(manager, "/lab/staff?q=WANG", "data-user")
    assert found == [["wang-wei", "wang-fang", "wang-lei"], ["wang-jie"]]  # any case; never the stranger
    assert shown(manager.get("/lab/staff?q=人员li").text, "data-user") == ["li-na"]  # by name
    miss = manager.get("/lab/staff?q=stranger")
    assert miss.status_code == 200 and shown(miss.text, "data-user") == [] and "stranger" in miss.text
    assert 'id="grant"' not in miss.text  # no one listed: no one to grant to
    # typed wildcards are plain characters
    assert shown(manager.get("/lab/staff?q=%25").text, "data-user") == []
    assert shown(manager.get("/lab/staff?q=w_ng").text, "data-user") == []
    assert manager.get("/lab/staff?after=-1").status_code == 422
    # a refused grant shows the page it was sent from, its pager leading to the list's own address
    data = {"user_id": "1", "item_code": "nawi", "certificate_no": "", "q": "WANG"}  # from its first page
    refused = post_form(manager, "/lab/staff?q=WANG", "/lab/staff/qualifications", data)
    assert refused.status_code == 422 and shown(refused.text, "data-user") == found[0]
    assert links(refused.text) == links(manager.get("/lab/staff?q=WANG").text)  # next and last, from /lab/staff
    second = links(manager.get("/lab/staff?q=WANG").text)["next"]  # a grant on page 2 comes back to page 2
    start, end = (shanghai_today() + timedelta(days=d) for d in (0, 365))
    grant = {"user_id": str(ids[4]), "item_code": "nawi", "certificate_no": "Q-JIE", "q": "WANG"}
    grant |= {"after": second.rsplit("after=", 1)[1], "valid_from": start.isoformat(), "valid_until": end.isoformat()}
    granted = post_form(manager, second, "/lab/staff/qualifications", grant)
    assert granted.status_code == 303 and granted.headers["location"] == second
    # the language switch comes back to the same search and page
    second = manager.get("/lab/staff?q=wang&after=1").text
    assert 'href="/lang/en?next=%2Flab%2Fstaff%3Fq%3Dwang%26after%3D1"' in second


def test_a_staff_page_takes_the_same_statements_for_three_people_or_a_full_page(platform, as_) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    small = as_(lab.manager)
    with counted(platform) as few:
        assert len(shown(small.get("/lab/staff").text, "data-user")) == 4
    add_staff(platform, lab.institution_id, [f"p{n}" for n in range(40)])
    with counted(platform) as full:
        assert len(shown(small.get("/lab/staff").text, "data-user")) == listing.PAGE_ROWS
    assert len(full) == len(few) <= 8, full  # 6 on PostgreSQL, 8 on SQLite (its BEGIN and PRAGMA)


def _certified(platform, n: int):  # type: ignore[no-untyped-def]
    """An institution that issued n certificates to an owner (oldest first) and one to another owner."""
    lab = world.make_lab(platform, "D310104", ["nawi"])
    owner, other = world.make_owner(platform), world.make_owner(platform)
    tasks = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(n)])
    numbers = [world.verify(platform, lab, t) for t in tasks]
    [foreign] = workflow.apply(platform.uow(), other, [world.scale(platform, other)])
    return lab, owner, numbers, world.verify(platform, lab, foreign)


def test_certificate_pages_go_newest_first_by_key_and_search_by_number_instrument_or_serial(
    platform, as_, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    lab, owner, numbers, foreign = _certified(platform, 3)
    owner_client, approver = as_(owner), as_(lab.approver)
    newest = numbers[::-1]

    monkeypatch.setattr(listing, "PAGE_ROWS", 2)
    assert walk(owner_client, "/owner/certificates", "data-certificate") == [newest[:2], newest[2:]]
    assert walk(approver, "/work/certificates", "data-number") == [[foreign, newest[0]], newest[1:]]
    last = owner_client.get(links(owner_client.get("/owner/certificates").text)["last"]).text
    assert shown(last, "data-certificate") == newest[1:] and set(links(last)) == {"first", "prev"}
    # a certificate issued meanwhile goes to the top: the older page stays as it was
    second = links(owner_client.get("/owner/certificates").text)["next"]
    [late] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    latest = world.verify(platform, lab, late)
    assert shown(owner_client.get(second).text, "data-certificate") == newest[2:]
    assert shown(owner_client.get("/owner/certificates").text, "data-certificate") == [latest, newest[0]]

    monkeypatch.setattr(listing, "PAGE_ROWS", 25)

    def found(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
        return shown(client.get(url).text, "data-certificate" if url.startswith("/owner") else "data-number")

    assert found(owner_client, f"/owner/certificates?q={numbers[1]}") == [numbers[1]]
    assert found(owner_client, "/owner/certificates?q=电子计价秤") == [latest, *newest]  # the instrument
    assert found(owner_client, f"/owner/certificates?q={foreign}") == []  # another owner's
    miss = owner_client.get("/owner/certificates?q=no-such")
    assert shown(miss.text, "data-certificate") == [] and "no-such" in miss.text
    assert found(approver, f"/work/certificates?q={foreign}") == [foreign]
    assert found(as_(world.make_lab(platform, "D310105", ["nawi"]).approver), f"/work/certificates?q={foreign}") == []


def test_certificate_pages_take_the_same_statements_for_one_row_or_many(platform, as_, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lab, owner, numbers, _ = _certified(platform, 3)
    for client, url, attribute in (
        (as_(owner), "/owner/certificates", "data-certificate"),
        (as_(lab.approver), "/work/certificates", "data-number"),
    ):
        monkeypatch.setattr(listing, "PAGE_ROWS", 1)
        with counted(platform) as one:
            assert len(shown(client.get(url).text, attribute)) == 1
        monkeypatch.setattr(listing, "PAGE_ROWS", 25)
        with counted(platform) as many:
            assert len(shown(client.get(url).text, attribute)) >= 3
        assert len(one) == len(many) <= 6, (url, many)  # 3 on PostgreSQL, 5 on SQLite


def test_registrations_page_by_key_and_search_by_name_or_credit_code_within_the_districts(
    platform, as_, three_a_page
) -> None:  # type: ignore[no-untyped-def]
    manager = as_(world.make_lab(platform, "D310104", ["nawi"]).manager)  # approves Xuhui's
    waiting = [world.make_owner(platform, "310104", approve=False) for _ in range(4)]
    elsewhere = world.make_owner(platform, "310105", approve=False)
    ids = [str(o.owner_id) for o in waiting]

    assert walk(manager, "/lab/owners", "data-owner") == [ids[:3], ids[3:]]
    with platform.engine.connect() as c:
        codes = dict(c.execute(select(owners.c.id, owners.c.credit_code)).all())
        names = dict(c.execute(select(owners.c.id, owners.c.name)).all())
    assert shown(manager.get(f"/lab/owners?q={codes[waiting[2].owner_id]}").text, "data-owner") == [ids[2]]
    assert shown(manager.get(f"/lab/owners?q={names[waiting[1].owner_id]}").text, "data-owner") == [ids[1]]
    assert shown(manager.get(f"/lab/owners?q={codes[elsewhere.owner_id]}").text, "data-owner") == []


def test_task_queue_pages_every_tab_by_key_and_searches_by_number_instrument_or_owner(
    platform, as_, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    owner = world.make_owner(platform, "310104")
    scales = [world.scale(platform, owner) for _ in range(5)]
    tasks = [str(t) for t in workflow.apply(platform.uow(), owner, scales)]
    world.verify(platform, lab, int(tasks[0]))  # issued: in "all", not in "to record"
    world.make_lab(platform, "D310105", ["nawi"])
    stranger = world.make_owner(platform, "310105")
    elsewhere = world.scale(platform, stranger)
    workflow.apply(platform.uow(), stranger, [elsewhere])
    verifier = as_(lab.verifier)

    monkeypatch.setattr(listing, "PAGE_ROWS", 2)
    assert walk(verifier, "/work/tasks?state=all", "data-task") == [tasks[:2], tasks[2:4], tasks[4:]]
    assert walk(verifier, "/work/tasks", "data-task") == [tasks[1:3], tasks[3:]]  # the verifier's tab
    page = verifier.get("/work/tasks?state=all").text
    assert shown(verifier.get(links(page)["last"]).text, "data-task") == tasks[3:]
    assert 'data-count="5"' in page  # the "all" tab counts every task

    monkeypatch.setattr(listing, "PAGE_ROWS", 25)
    with platform.engine.connect() as c:
        serial = c.execute(select(instruments.c.serial_no).where(instruments.c.id == scales[2])).scalar_one()
        owner_name = c.execute(select(owners.c.name).where(owners.c.id == owner.owner_id)).scalar_one()
        foreign = c.execute(select(instruments.c.serial_no).where(instruments.c.id == elsewhere)).scalar_one()
    found = {
        q: shown(verifier.get("/work/tasks", params={"state": "all", "q": q}).text, "data-task")
        for q in (serial, owner_name, f"#{tasks[3]}", tasks[4], foreign, "no-such")
    }
    assert found[serial] == [tasks[2]] and found[owner_name] == tasks
    assert found[f"#{tasks[3]}"] == [tasks[3]] and tasks[4] in found[tasks[4]]
    assert found[foreign] == [] and found["no-such"] == []  # another institution's task never


def test_owner_instruments_page_by_key_and_search_by_name_serial_model_or_type(platform, as_, three_a_page) -> None:  # type: ignore[no-untyped-def]
    owner, other = world.make_owner(platform), world.make_owner(platform)
    scales = [str(world.scale(platform, owner)) for _ in range(4)]
    meter = str(world.water_meter(platform, owner))
    dispenser = str(world.fuel_dispenser(platform, owner))
    theirs = world.scale(platform, other, name="他家的秤", serial_no="THEIRS-1")
    client = as_(owner)

    mine = [*scales, meter, dispenser]
    assert walk(client, "/owner/instruments", "data-instrument") == [mine[:3], mine[3:]]
    assert walk(client, "/owner/instruments?status=never_verified", "data-instrument") == [mine[:3], mine[3:]]
    with platform.engine.connect() as c:
        serial = c.execute(select(instruments.c.serial_no).where(instruments.c.id == int(scales[1]))).scalar_one()

    def found(q: str, status: str = "") -> list[str]:
        return shown(client.get("/owner/instruments", params={"q": q, "status": status}).text, "data-instrument")

    assert found(serial) == [scales[1]]
    assert found("水表") == [meter]  # by name and by type (饮用冷水水表 DN<=25)
    assert found("tm-a") == scales[:3]  # by model, any case (a page of three)
    assert found("燃油加油机", "never_verified") == [dispenser]
    assert found("THEIRS") == [] and found("他家") == []  # another owner's, never
    page = client.get("/owner/instruments", params={"q": "水表"}).text
    assert '<span class="count">1</span>' in page  # the counts are of what the search finds
    assert str(theirs) not in shown(page, "data-instrument")


def test_apply_page_lists_a_page_of_those_needing_verification_and_searches_them(platform, as_, three_a_page) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(platform)
    scales = [str(world.scale(platform, owner)) for _ in range(4)]
    meter = str(world.water_meter(platform, owner))
    client = as_(owner)

    pages = walk(client, "/owner/apply", "data-instrument")
    assert pages == [scales[:3], [scales[3], meter]]
    assert shown(client.get("/owner/apply?q=水表").text, "data-instrument") == [meter]
    # the apply link on an instrument's page lists from that instrument on, just it ticked
    page = client.get(f"/owner/apply?instrument={scales[2]}").text
    assert shown(page, "data-instrument") == [scales[2], scales[3], meter]
    assert re.findall(r'name="instrument_id" value="(\d+)"[^>]*checked', page) == [scales[2]]


def test_standards_page_by_key_searched_and_warned_over_all_of_them(platform, as_, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "D310104", ["nawi"])
    today = shanghai_today()

    def add(name: str, number: str, lab: world.Lab = lab, days: int = 400) -> str:
        until = today + timedelta(days=days)
        return str(registry.add_standard(platform.uow(), lab.manager, lab.institution_id, name, number, until, []))

    mine = [str(lab.standard_id), add("砝码组 F1", "[2024]沪量标301号"), add("加油机检定装置", "[2024]沪量标302号")]
    mine.append(add("水表检定装置", "[2024]沪量标303号", days=20))  # due within 60 days: warned on any page
    other = world.make_lab(platform, "D310105", ["nawi"])
    add("长宁砝码", "[2024]沪量标999号", other)
    manager = as_(lab.manager)

    monkeypatch.setattr(listing, "PAGE_ROWS", 2)
    assert walk(manager, "/lab/standards", "data-standard") == [mine[:2], mine[2:]]
    first = manager.get("/lab/standards").text
    assert 'id="expiry-summary"' in first and mine[3] not in shown(first, "data-standard")
    assert shown(manager.get("/lab/standards?q=砝码").text, "data-standard") == [mine[1]]
    assert shown(manager.get("/lab/standards?q=沪量标303").text, "data-standard") == [mine[3]]
    assert shown(manager.get("/lab/standards?q=沪量标999").text, "data-standard") == []  # another institution's
    # a refused calibration is shown again on the page that starts with its standard
    data = {"standard_id": mine[3], "calibrated_by": "", "certificate_no": "", "calibrated_on": "", "due": ""}
    refused = post_form(manager, "/lab/standards", "/lab/standards/calibrations", data)
    assert refused.status_code == 422 and shown(refused.text, "data-standard")[0] == mine[3]
    assert links(refused.text) and all(href.startswith("/lab/standards") for href in links(refused.text).values())

    monkeypatch.setattr(listing, "PAGE_ROWS", 1)
    with counted(platform) as one:
        manager.get("/lab/standards")
    monkeypatch.setattr(listing, "PAGE_ROWS", 25)
    with counted(platform) as many:
        assert len(shown(manager.get("/lab/standards").text, "data-standard")) == 4
    assert len(one) == len(many), many


def test_an_administrators_institution_list_pages_and_searches_by_name_or_code(platform, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from jiliang.api import create_app
    from tests.conftest import ADMIN_PASSWORD
    from tests.support.work_pages import log_in

    with platform.engine.connect() as c:
        every = [str(code) for code in c.execute(select(institutions.c.code).order_by(institutions.c.id)).scalars()]
    monkeypatch.setattr(listing, "PAGE_ROWS", 5)
    with TestClient(create_app(platform)) as admin:
        log_in(admin, "admin", ADMIN_PASSWORD)
        pages = walk(admin, "/lab/institutions", "data-institution")
        assert len(pages) > 1 and [code for page in pages for code in page] == every
        assert shown(admin.get("/lab/institutions?q=徐汇").text, "data-institution") == ["D310104"]
        assert shown(admin.get("/lab/institutions?q=d310104").text, "data-institution") == ["D310104"]
        assert shown(admin.get("/lab/institutions?q=no-such").text, "data-institution") == []
