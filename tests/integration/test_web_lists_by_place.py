"""Three lists paged by key whose key is not a plain id, over real HTTP on the real database: the
regulator's not-covered list (ordered by a computed order: its cursor is the last row's place in it),
an administrator's catalogue types (by type id, each under its item) and the MPE rules (held in memory,
by their place in the procedure files). Each walked page by page against rows the test sets up or
counts itself, searched, unmoved by a row added meanwhile, and a malformed place refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from jiliang import listing
from jiliang.api import create_app
from jiliang.platform import Platform, shanghai_today
from jiliang.registry.tables import catalogue_types, instruments, rule_confirmations
from jiliang.web import supervision
from tests.conftest import ADMIN_PASSWORD
from tests.support import world
from tests.support.lists import links, shown, walk
from tests.support.supervision_pages import client_as, regulator
from tests.support.work_pages import form_token, log_in


@pytest.fixture
def admin(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield log_in(c, "admin", ADMIN_PASSWORD)


def _flat(pages: list[list[str]]) -> list[str]:
    return [row for page in pages for row in page]


def _pages_of(rows: list[str], size: int) -> list[list[str]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


# ------------------------------------------------------------------ the not-covered list


def test_the_overdue_list_pages_by_place_and_a_row_added_meanwhile_moves_no_page(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = world.make_owner(platform, "310104")
    dispensers = [str(world.fuel_dispenser(platform, owner)) for _ in range(5)]  # never verified: by registration
    monkeypatch.setattr(supervision, "PAGE_SIZE", 2)
    with client_as(platform, regulator(platform, "SAMR-310104")) as reg:
        pages = walk(reg, "/supervision/overdue", "data-instrument")
        assert pages == [dispensers[:2], dispensers[2:4], dispensers[4:]]

        # an instrument falls overdue while page 1 is read: it goes to the top, page 2 stays as it was
        first = reg.get("/supervision/overdue").text
        late = world.fuel_dispenser(platform, owner)
        today = shanghai_today()
        with platform.engine.begin() as c:
            c.execute(
                update(instruments)
                .where(instruments.c.id == late)
                .values(last_verified_on=today - timedelta(days=400), valid_until=today - timedelta(days=35))
            )
        second = reg.get(links(first)["next"]).text
        assert shown(second, "data-instrument") == dispensers[2:4] and "第 4–5 条，共 6 条" in second
        assert shown(reg.get(links(second)["prev"]).text, "data-instrument") == dispensers[:2]
        assert walk(reg, "/supervision/overdue", "data-instrument")[0] == [str(late), dispensers[0]]
        last = reg.get(links(first)["last"]).text
        assert shown(last, "data-instrument") == dispensers[3:]

        # the search narrows the same pages; the pager keeps it
        serials = dict(reg_serials(platform))
        serial = serials[int(dispensers[4])]
        ours = [str(late), *dispensers]
        found = walk(reg, f"/supervision/overdue?q={serial}", "data-instrument")
        assert _flat(found) == [i for i in ours if serial in serials[int(i)]] and dispensers[4] in _flat(found)
        owner_pages = walk(reg, "/supervision/overdue?q=%E5%8A%A0%E6%B2%B9%E6%9C%BA", "data-instrument")  # 加油机
        assert _flat(owner_pages) == [str(late), *dispensers] and len(owner_pages) == 3
        assert all("q=" in href for href in links(reg.get("/supervision/overdue?q=加油机").text).values())

        for place in ("after=1", "before=i0", "after=i0.d20240230.t0.i1", "after=i2.d20240101.t0.x1"):
            r = reg.get(f"/supervision/overdue?{place}")
            assert r.status_code == 422 and "翻页位置无效" in r.text, place
        reg.cookies.set("jiliang_lang", "en")
        r = reg.get("/supervision/overdue?after=nonsense")
        assert r.status_code == 422 and "this place in the list is not valid" in r.text and "翻页" not in r.text


def reg_serials(platform: Platform) -> list[tuple[int, str]]:
    with platform.engine.connect() as c:
        return [(r.id, r.serial_no) for r in c.execute(select(instruments.c.id, instruments.c.serial_no))]


# ------------------------------------------------------------------ the catalogue


def _type_ids(platform: Platform, *where) -> list[str]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        q = select(catalogue_types.c.id).where(*where).order_by(catalogue_types.c.id)
        return [str(i) for i in c.execute(q).scalars()]


def _add_type(admin: TestClient, item: str, zh: str, en: str):  # type: ignore[no-untyped-def]
    data = {"item_code": item, "name_zh": zh, "name_en": en, "mode": "periodic", "period_months": "12"}
    data |= {"source": "沪市监计量〔2024〕1 号", "csrf_token": form_token(admin, "/admin/catalogue/types/new")}
    return admin.post("/admin/catalogue/types", data=data, follow_redirects=False)


def test_the_catalogue_pages_by_type_id_under_each_items_name_and_is_searched(
    platform: Platform, admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = _type_ids(platform)
    monkeypatch.setattr(listing, "PAGE_ROWS", 5)
    pages = walk(admin, "/admin/catalogue", "data-type")
    assert _flat(pages) == every and all(len(p) == 5 for p in pages[:-1]) and len(pages) == -(-len(every) // 5)
    first = admin.get("/admin/catalogue").text
    assert 'id="items-without-types"' in first and 'data-bare-item="awi"' in first  # an item without types
    second = admin.get(links(first)["next"]).text
    assert 'id="items-without-types"' not in second
    # each type sits under its item's name
    body = second.split('id="catalogue"', 1)[1]
    groups = re.findall(r'data-item="(\w+)"', body)
    with platform.engine.connect() as c:
        item_of = {str(r.id): r.item_code for r in c.execute(select(catalogue_types.c.id, catalogue_types.c.item_code))}
    assert groups == list(dict.fromkeys(item_of[t] for t in pages[1]))

    # a type added while page 1 is read joins the end: page 2 stays as it was
    r = _add_type(admin, "nawi", "案秤", "Counter scale")
    [added] = _type_ids(platform, catalogue_types.c.name_zh == "案秤")
    assert r.status_code == 303 and r.headers["location"] == f"/admin/catalogue?after={int(added) - 1}#type-{added}"
    shown_after = admin.get(r.headers["location"]).text
    assert shown(shown_after, "data-type")[0] == added
    assert shown(admin.get(links(first)["next"]).text, "data-type") == pages[1]
    assert shown(admin.get(links(first)["last"]).text, "data-type")[-1] == added

    # searched by the type's name, its item's name in either language, or its regulation
    monkeypatch.setattr(listing, "PAGE_ROWS", 25)
    water = _type_ids(platform, catalogue_types.c.item_code == "water_meter")
    assert shown(admin.get("/admin/catalogue?q=水表").text, "data-type") == water
    assert shown(admin.get("/admin/catalogue?q=WATER+METER").text, "data-type") == water
    assert shown(admin.get("/admin/catalogue?q=counter+scale").text, "data-type") == [added]
    with platform.engine.connect() as c:
        regulation = c.execute(
            select(catalogue_types.c.regulation).where(catalogue_types.c.id == int(water[0]))
        ).scalar_one()
    number = regulation.split("-")[0]  # e.g. "JJG 162"
    assert set(shown(admin.get("/admin/catalogue", params={"q": number}).text, "data-type")) == set(
        _type_ids(platform, catalogue_types.c.regulation.contains(number))
    )
    miss = admin.get("/admin/catalogue?q=no-such")
    assert miss.status_code == 200 and shown(miss.text, "data-type") == [] and "no-such" in miss.text
    assert admin.get("/admin/catalogue?after=x").status_code == 422
    assert admin.get("/admin/catalogue?before=-1").status_code == 422

    # a correction shows the page starting with the corrected type
    page = f"/admin/catalogue/types/{every[-1]}"
    data = {"mode": "periodic", "period_months": "6", "source": "JJG 443-2015", "csrf_token": form_token(admin, page)}
    r = admin.post(page, data=data, follow_redirects=False)
    assert r.headers["location"] == f"/admin/catalogue?after={int(every[-1]) - 1}#type-{every[-1]}"
    assert shown(admin.get(r.headers["location"]).text, "data-type")[0] == every[-1]


def test_a_new_type_needs_its_english_name_on_the_page_and_over_the_api(
    platform: Platform, admin: TestClient, client: TestClient
) -> None:
    def count() -> int:
        with platform.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(catalogue_types)).scalar_one())

    before = count()
    r = _add_type(admin, "nawi", "案秤", " ")
    assert r.status_code == 422 and "请填写型式的中文名称和英文名称" in r.text and count() == before
    assert 'value="案秤"' in r.text  # the form comes back as typed
    admin.cookies.set("jiliang_lang", "en")
    r = _add_type(admin, "nawi", "案秤", "")
    assert r.status_code == 422 and "give the type's name in Chinese and in English" in unescape(r.text)
    assert "请填写" not in r.text and count() == before

    from tests.conftest import login

    headers = login(client, "admin", ADMIN_PASSWORD)
    body = {"item_code": "nawi", "name_zh": "案秤", "source": "沪市监计量〔2024〕1 号"}
    for missing in ({}, {"name_en": ""}, {"name_en": "  "}):
        r = client.post("/api/catalogue/types", headers=headers, json=body | missing)
        assert r.status_code == 422 and "英文名称" in r.text and "in English" in r.text, r.text
    assert count() == before
    r = client.post("/api/catalogue/types", headers=headers, json=body | {"name_en": "Counter scale"})
    assert r.status_code == 201 and count() == before + 1


# ------------------------------------------------------------------ the MPE rules


def _rules(platform: Platform) -> tuple[list[str], list[str], dict[str, tuple[str, str]]]:
    """The rules' places in file order (from 1), waiting and confirmed, and each one's (procedure, rule)."""
    with platform.engine.connect() as c:
        confirmed = {(r.procedure_code, r.rule_id) for r in c.execute(select(rule_confirmations))}
    waiting, done, ids = [], [], {}
    n = 0
    for code, proc in platform.procedures.items():
        for edition in proc.editions:
            for rule in edition.rules:
                n += 1
                ids[str(n)] = (code, rule.id)
                (done if rule.confirmed or (code, rule.id) in confirmed else waiting).append(str(n))
    return waiting, done, ids


def _section(html: str, name: str) -> str:
    return re.search(rf'<section class="card" id="{name}">.*?</section>', html, re.S).group(0)


def _walk_rules(admin: TestClient, url: str, name: str) -> list[list[str]]:
    pages = []
    while url:
        r = admin.get(url)
        assert r.status_code == 200, r.text
        section = _section(r.text, name)
        pages.append(shown(section, "data-rule"))
        url = links(section).get("next", "")
    return pages


def test_the_rules_page_both_lists_by_their_place_in_the_files_and_a_confirmation_moves_no_other(
    platform: Platform, admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting, done, ids = _rules(platform)
    assert len(waiting) + len(done) == 69 and len(waiting) >= 7 and len(done) > 8
    monkeypatch.setattr(listing, "PAGE_ROWS", 3)
    pages = _walk_rules(admin, "/admin/rules", "waiting")
    assert _flat(pages) == waiting and all(len(p) == 3 for p in pages[:-1]) and len(pages) >= 3
    confirmed_pages = _walk_rules(admin, "/admin/rules", "confirmed")
    assert _flat(confirmed_pages) == done and all(len(p) == 3 for p in confirmed_pages[:-1])
    # the two lists page apart: the confirmed list's next page keeps the waiting list where it was
    first = admin.get("/admin/rules").text
    on = links(_section(first, "waiting"))["next"]
    both = admin.get(on).text
    there = links(_section(both, "confirmed"))["next"]
    assert "after=" in there and "confirmed_after=" in there
    page = admin.get(there).text
    assert shown(_section(page, "waiting"), "data-rule") == pages[1]
    assert shown(_section(page, "confirmed"), "data-rule") == confirmed_pages[1]
    assert "<details open>" in page

    # confirming a rule on the waiting list's page 2 comes back to page 2: the rule has left it, the
    # others are where they were, and page 1 and the rest are as they were
    target = pages[1][0]
    code, rule_id = ids[target]
    action = f"/admin/rules/{code}/{rule_id}/confirm"
    data = {"csrf_token": form_token(admin, on), "after": on.rsplit("after=", 1)[1]}
    r = admin.post(action, data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == on
    again = admin.get(on).text
    assert shown(_section(again, "waiting"), "data-rule") == pages[1][1:] + pages[2][:1]
    assert (
        shown(_section(admin.get(links(_section(again, "waiting"))["prev"]).text, "waiting"), "data-rule") == pages[0]
    )
    assert _walk_rules(admin, "/admin/rules", "waiting") == [
        pages[0],
        pages[1][1:] + pages[2][:1],
        *_pages_of(pages[2][1:] + _flat(pages[3:]), 3),
    ]
    assert target in _flat(_walk_rules(admin, "/admin/rules", "confirmed"))

    # searched by instrument (either language), regulation or source
    monkeypatch.setattr(listing, "PAGE_ROWS", 100)

    def found(q: str) -> list[str]:
        html = admin.get("/admin/rules", params={"q": q}).text
        return sorted(
            shown(_section(html, "waiting"), "data-rule") + shown(_section(html, "confirmed"), "data-rule"), key=int
        )

    nawi = [n for n, (c, _) in ids.items() if c == "nawi"]
    water = [n for n, (c, _) in ids.items() if c == "water_meter"]
    assert water and found("饮用冷水水表") == water and found("COLD POTABLE water") == water
    scales = found("JJG 539")  # the digital scale's regulation, which the price-computing scale's first edition shares
    assert set(nawi) < set(scales) and {ids[n][0] for n in scales} == {"nawi", "price_scale"}
    code, rule_id = ids[done[-1]]
    [source] = [r.source for e in platform.procedures[code].editions for r in e.rules if r.id == rule_id]
    assert done[-1] in found(source)
    assert found("no-such-rule") == [] and "no-such-rule" in admin.get("/admin/rules?q=no-such-rule").text
    for bad in ("after=x", "before=-1", "confirmed_after=x", "confirmed_before=99999999999"):
        assert admin.get(f"/admin/rules?{bad}").status_code == 422, bad
