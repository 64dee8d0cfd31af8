"""The instrument owner's pages over real HTTP on the real database: self-registration with the live
credit-code check, approval on /lab/owners, registering an instrument with the catalogue picker, the
list with its statuses, transfer / relocate / scrap, applying for verification and downloading a
certificate. Every world is built through the services; every answer is read from the pages."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import queries
from jiliang.registry import service as registry
from jiliang.registry.tables import owners
from jiliang.verification import queries as workflow_queries
from jiliang.verification import service as workflow
from tests.conftest import login
from tests.support import world
from tests.support.owner_pages import (
    DOC_CODE,
    DOC_CODE_WRONG,
    csrf,
    make_regulator,
    owner_username,
    page_login,
    verified_scale,
)
from tests.support.tenancy import MISSING, hidden_like_missing

NAWI_TYPE = "数字指示秤/电子计价秤"
MISSING_ID = MISSING["instrument_id"]


@pytest.fixture
def visitor(platform: Platform) -> Iterator[Callable[[], Any]]:
    """Opens another browser-like client (its own cookies) on the same app and database."""
    opened: list[TestClient] = []

    def open_one() -> TestClient:
        c = TestClient(create_app(platform))
        c.__enter__()
        opened.append(c)
        return c

    yield open_one
    for c in opened:
        c.__exit__(None, None, None)


def signup_form(**overrides: str) -> dict[str, str]:
    form = {
        "credit_code": DOC_CODE,
        "name": "上海示范菜市场经营管理有限公司",
        "district_code": "310104",
        "address": "徐汇区示范路 8 号",
        "contact_name": "王经理",
        "username": "market-wang",
        "password": "market-pass-1",
    }
    return form | overrides


def owner_row(platform: Platform, credit_code: str) -> Any:
    with platform.engine.connect() as c:
        return c.execute(select(owners).where(owners.c.credit_code == credit_code)).one()


def detail(platform: Platform, actor: Any, instrument_id: int) -> dict[str, Any]:
    with platform.engine.connect() as c:
        return queries.instrument_detail(c, actor, instrument_id, shanghai_today())


# ---------------------------------------------------------------- sign-up


def test_the_credit_code_check_names_the_expected_check_character_as_it_is_typed(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client, "/signup")
    page = client.get("/signup").text
    assert 'hx-post="/signup/credit-code"' in page and "delay:300ms" in page

    def check(code: str) -> str:
        r = client.post("/signup/credit-code", data={"credit_code": code, "csrf_token": token})
        assert r.status_code == 200
        return r.text

    wrong = check(DOC_CODE_WRONG)
    assert "应为 3" in wrong and 'data-check="bad"' in wrong  # the documented example ends in 3
    assert "应为 18 位，实际为 4 位" in check("9135")
    assert "第 3 位" in check("91I50100M000100Y43")  # I is not in the GB 32100 alphabet
    assert 'data-check="ok"' in check(DOC_CODE.lower())  # typed in lower case: normalised
    assert "data-check" not in check("")


def test_signup_creates_a_pending_owner_who_may_log_in_but_not_register_instruments(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    r = client.post("/signup", data=signup_form(csrf_token=csrf(client, "/signup")), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signup/pending"
    done = client.get("/signup/pending").text
    assert "待审批" in done and "上海示范菜市场经营管理有限公司" in done  # the flash names the organisation
    row = owner_row(platform, DOC_CODE)
    assert (row.status, row.district_code, row.name) == ("pending", "310104", "上海示范菜市场经营管理有限公司")

    check = client.post("/signup/credit-code", data={"credit_code": DOC_CODE, "csrf_token": csrf(client, "/signup")})
    assert "已注册" in check.text

    # the service lets a pending owner log in; the pages say the registration waits, and refuse instruments
    page_login(client, "market-wang", "market-pass-1")
    listing = client.get("/owner/instruments").text
    assert 'id="organisation-status" data-status="pending"' in listing
    form = {
        "csrf_token": csrf(client, "/owner/instruments/new"),
        "item_code": "nawi",
        "name": "电子计价秤",
        "serial_no": "P-1",
        "use": "trade",
        "district_code": "310104",
    }
    r = client.post("/owner/instruments/new", data=form)
    assert r.status_code == 409 and "使用单位注册尚未批准" in r.text


def test_signup_errors_re_render_the_form_with_the_message_and_the_values(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/signup", data=signup_form(credit_code=DOC_CODE_WRONG, csrf_token=csrf(client, "/signup")))
    assert r.status_code == 422 and "校验码错误：应为 3" in r.text
    assert 'value="上海示范菜市场经营管理有限公司"' in r.text and 'value="310104" selected' in r.text
    r = client.post("/signup", data=signup_form(csrf_token=csrf(client, "/signup")), follow_redirects=False)
    assert r.status_code == 303
    again = signup_form(username="someone-else", csrf_token=csrf(client, "/signup"))
    r = client.post("/signup", data=again)
    assert r.status_code == 409 and "已注册" in r.text
    r = client.post("/signup", data=signup_form(password="short", csrf_token=csrf(client, "/signup")))
    assert r.status_code == 422 and "密码至少 8 位" in r.text


# ---------------------------------------------------------------- approval


def test_the_district_regulator_approves_on_the_page_and_sees_only_its_district(client, visitor) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    client.post("/signup", data=signup_form(csrf_token=csrf(client, "/signup")))
    elsewhere = world.make_owner(platform, "310105", approve=False)
    make_regulator(platform, "310104")
    bureau = visitor()
    page_login(bureau, "reg310104")
    page = bureau.get("/lab/owners").text
    assert DOC_CODE in page and "上海示范菜市场经营管理有限公司" in page and "徐汇区" in page
    assert f'data-owner="{elsewhere.owner_id}"' not in page  # Changning is not this bureau's

    owner_id = owner_row(platform, DOC_CODE).id
    r = bureau.post(
        f"/lab/owners/{owner_id}/decision",
        data={"decision": "approve", "csrf_token": csrf(bureau, "/lab/owners")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/lab/owners"
    after = bureau.get("/lab/owners").text
    assert "已批准 上海示范菜市场经营管理有限公司" in after and DOC_CODE not in after.split("</header>")[1]
    assert owner_row(platform, DOC_CODE).status == "approved"

    # another district's owner is not there for this bureau: the same answer as a missing one
    r = bureau.post(
        f"/lab/owners/{elsewhere.owner_id}/decision",
        data={"decision": "approve", "csrf_token": csrf(bureau, "/lab/owners")},
    )
    assert r.status_code == 404 and "没有该使用单位" in r.text


def test_a_lab_manager_rejects_in_its_district_and_an_owner_may_not_open_the_page(client, visitor) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    applicant = world.make_owner(platform, "310104", approve=False)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    manager = visitor()
    page_login(manager, lab.manager.username)
    assert f'data-owner="{applicant.owner_id}"' in manager.get("/lab/owners").text
    r = manager.post(
        f"/lab/owners/{applicant.owner_id}/decision",
        data={"decision": "reject", "csrf_token": csrf(manager, "/lab/owners")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with platform.engine.connect() as c:
        assert c.execute(select(owners.c.status).where(owners.c.id == applicant.owner_id)).scalar_one() == "rejected"

    page_login(client, applicant.username)
    assert 'data-status="rejected"' in client.get("/owner/instruments").text
    r = client.get("/lab/owners")
    assert r.status_code == 403


# ---------------------------------------------------------------- registering an instrument


def test_the_type_picker_lists_the_items_types_procedures_and_their_parameters(client) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(client.app.state.platform)
    page_login(client, owner.username)
    form = client.get("/owner/instruments/new").text
    assert 'hx-get="/owner/instruments/new/types"' in form and '<option value="water_meter">水表</option>' in form

    fragment = client.get("/owner/instruments/new/types?item_code=water_meter").text
    picker = fragment.split('id="type-picker"')[1].split("</select>")[0]
    types = re.findall(r'<option value="(\d+)"[^>]*>([^<·]+)', picker)
    assert [html.unescape(name).strip() for _, name in types] == [
        "饮用冷水水表 DN<=25",
        "饮用冷水水表 25<DN<=50",
        "饮用冷水水表 DN>50 or Q3>16",
    ]
    assert "周期 24 个月" in fragment  # the large meter's period from the catalogue
    assert 'name="param_water_temperature"' in fragment and '<option value="above_30">' in fragment

    nawi = client.get("/owner/instruments/new/types?item_code=nawi").text
    assert NAWI_TYPE in nawi
    assert '<option value="nawi"' in nawi and '<option value="price_scale"' in nawi  # two procedures cover it
    params = client.get("/owner/instruments/new/parameters?procedure_code=fuel_dispenser").text
    assert 'name="param_resolution"' in params and "param_accuracy_class" not in params


def test_an_owner_registers_an_instrument_with_the_form(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform, "310104")
    page_login(client, owner.username)
    form = {
        "csrf_token": csrf(client, "/owner/instruments/new"),
        "item_code": "nawi",
        "type_id": str(world.type_id(platform, "nawi", NAWI_TYPE)),
        "procedure_code": "price_scale",
        "param_accuracy_class": "III",
        "param_e": "0.005",
        "param_resolution": "",
        "name": "3 号柜台电子计价秤",
        "manufacturer": "上海大华",
        "model": "TM-A",
        "serial_no": "DH-2026-0042",
        "use": "trade",
        "district_code": "310106",
        "zone": "",
        "location": "静安菜场 12 号摊位",
    }
    r = client.post("/owner/instruments/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    iid = int(r.headers["location"].rsplit("/", 1)[1])
    stored = detail(platform, owner, iid)
    assert (stored["serial_no"], stored["district_code"], stored["location"]) == (
        "DH-2026-0042",
        "310106",
        "静安菜场 12 号摊位",
    )
    assert stored["procedure_code"] == "price_scale" and stored["parameters"] == {"accuracy_class": "III", "e": "0.005"}
    page = client.get(r.headers["location"]).text
    assert f"器具 {iid} 已备案" in page and "DH-2026-0042" in page and "静安区" in page
    assert 'data-status="never_verified"' in page
    assert f'href="/public/label/{iid}?token={stored["label_token"]}"' in page  # the owner prints the label QR

    # a service refusal re-renders the form with the values and the picker's choice
    r = client.post("/owner/instruments/new", data=form | {"serial_no": "  "})
    assert r.status_code == 422 and "出厂编号不能为空" in r.text
    assert 'value="3 号柜台电子计价秤"' in r.text and '<option value="price_scale" selected>' in r.text


def test_an_instrument_outside_the_catalogue_is_offered_only_the_calibration_procedures(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform, "310104")
    page_login(client, owner.username)
    fragment = client.get("/owner/instruments/new/types?item_code=none").text
    offered = re.findall(r'<option value="([a-z_]+)"', fragment)
    assert offered == [c for c, p in sorted(platform.procedures.items()) if p.purpose == "calibration"]
    assert "thermometer_calibration" in offered and "nawi" not in offered
    nawi = client.get("/owner/instruments/new/types?item_code=nawi").text
    assert "thermometer_calibration" not in nawi  # a calibration method is not a verification procedure
    form = {
        "csrf_token": csrf(client, "/owner/instruments/new"),
        "item_code": "none",
        "type_id": "",
        "procedure_code": "thermometer_calibration",
        "param_resolution": "0.01",
        "name": "数字温度计",
        "manufacturer": "",
        "model": "",
        "serial_no": "TH-0007",
        "use": "safety",
        "district_code": "",
        "zone": "",
        "location": "冷库",
    }
    r = client.post("/owner/instruments/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    stored = detail(platform, owner, int(r.headers["location"].rsplit("/", 1)[1]))
    assert stored["item_code"] is None and stored["procedure_code"] == "thermometer_calibration"
    assert stored["parameters"] == {"resolution": "0.01"}


# ---------------------------------------------------------------- the list


def test_the_list_counts_each_status_and_filters_by_it(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    today = shanghai_today()
    expected = {
        "never_verified": [world.scale(platform, owner), world.scale(platform, owner)],
        "overdue": [verified_scale(platform, lab, owner, today - timedelta(days=1), on=today - timedelta(days=1))],
        "due_soon": [verified_scale(platform, lab, owner, today + timedelta(days=10))],
        "in_date": [verified_scale(platform, lab, owner, today + timedelta(days=200))],
        "unknown": [verified_scale(platform, lab, owner, None)],  # nawi: the catalogue gives no period
        "barred": [verified_scale(platform, lab, owner, None, readings=world.SCALE_FAIL)],
    }
    gone = world.scale(platform, owner)
    registry.scrap_instrument(platform.uow(), owner, gone)
    expected["scrapped"] = [gone]
    other = world.make_owner(platform, "310104")
    world.scale(platform, other)  # not ours: never listed

    page_login(client, owner.username)
    page = client.get("/owner/instruments").text
    rows = dict(re.findall(r'<tr data-instrument="(\d+)">.*?<span class="badge" data-status="(\w+)"', page, re.S))
    assert rows == {str(i): status for status, ids in expected.items() for i in ids}
    counts = dict(
        re.findall(r'data-status="(\w+)"><span class="badge"[^>]*>[^<]*</span> <span class="count">(\d+)', page)
    )
    assert counts == {status: str(len(ids)) for status, ids in expected.items()}
    assert re.search(r'全部 <span class="count">8</span>', page)  # 2 + 6 × 1; the other owner's is not counted

    overdue = client.get("/owner/instruments?status=overdue", headers={"HX-Request": "true"}).text
    assert "<html" not in overdue  # the HTMX filter gets just the list
    assert re.findall(r'<tr data-instrument="(\d+)"', overdue) == [str(expected["overdue"][0])]
    assert 'data-status="overdue" aria-current="true"' in overdue  # the chosen filter is marked


# ---------------------------------------------------------------- transfer, relocate, scrap


def test_transfer_relocate_and_scrap_through_the_instrument_page(client, visitor) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform, "310104")
    buyer = world.make_owner(platform, "310105")
    with platform.engine.connect() as c:
        buyer_code = c.execute(select(owners.c.credit_code).where(owners.c.id == buyer.owner_id)).scalar_one()
    moved, sold, broken = (world.scale(platform, owner) for _ in range(3))
    page_login(client, owner.username)

    token = csrf(client, f"/owner/instruments/{moved}")
    r = client.post(
        f"/owner/instruments/{moved}/relocate",
        data={"district_code": "310105", "location": "长宁店二楼", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (detail(platform, owner, moved)["district_code"], detail(platform, owner, moved)["location"]) == (
        "310105",
        "长宁店二楼",
    )
    page = client.get(f"/owner/instruments/{moved}").text
    assert "新的使用地点已保存" in page and "长宁店二楼" in page and "变更使用地点" in page

    r = client.post(
        f"/owner/instruments/{sold}/transfer", data={"new_owner_credit_code": DOC_CODE, "csrf_token": token}
    )
    assert r.status_code == 404 and f"没有统一社会信用代码为 {DOC_CODE} 的使用单位" in r.text
    assert f'value="{DOC_CODE}"' in r.text  # what was typed stays in the field
    r = client.post(
        f"/owner/instruments/{sold}/transfer",
        data={"new_owner_credit_code": buyer_code, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/owner/instruments"
    assert f'data-instrument="{sold}"' not in client.get("/owner/instruments").text
    assert detail(platform, buyer, sold)["owner_id"] == buyer.owner_id
    assert client.get(f"/owner/instruments/{sold}").status_code == 404  # no longer ours

    r = client.post(f"/owner/instruments/{broken}/scrap", data={"csrf_token": token})
    assert r.status_code == 422 and "请勾选确认" in r.text
    assert detail(platform, owner, broken)["status"] == "in_use"
    r = client.post(
        f"/owner/instruments/{broken}/scrap", data={"confirm": "yes", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(f"/owner/instruments/{broken}").text
    assert 'id="instrument-status">已报废' in page and 'id="scrap-form"' not in page


def test_another_owners_instrument_is_refused_by_url(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    mine = world.make_owner(platform, "310104")
    theirs = world.make_owner(platform, "310104")
    their_scale = world.scale(platform, theirs)
    page_login(client, mine.username)
    r = client.get(f"/owner/instruments/{their_scale}")
    assert "没有可查看的计量器具" in r.text and "SN" not in r.text.split("<main")[1]
    # the same answer as for an instrument that does not exist: no probing
    hidden_like_missing(r, client.get(f"/owner/instruments/{MISSING_ID}"), str(their_scale), MISSING_ID)
    token = csrf(client, "/owner/instruments")
    for action, data in (
        ("relocate", {"district_code": "310105", "location": "x"}),
        ("scrap", {"confirm": "yes"}),
        ("transfer", {"new_owner_credit_code": DOC_CODE}),
    ):
        r = client.post(f"/owner/instruments/{their_scale}/{action}", data=data | {"csrf_token": token})
        missing = client.post(f"/owner/instruments/{MISSING_ID}/{action}", data=data | {"csrf_token": token})
        hidden_like_missing(r, missing, str(their_scale), MISSING_ID)
    assert detail(platform, theirs, their_scale)["status"] == "in_use"
    assert detail(platform, theirs, their_scale)["district_code"] == "310104"


# ---------------------------------------------------------------- applying


def test_applying_creates_one_task_per_ticked_instrument(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    fresh = verified_scale(platform, lab, owner, shanghai_today() + timedelta(days=200))
    first, second = world.scale(platform, owner), world.scale(platform, owner)
    page_login(client, owner.username)

    page = client.get("/owner/apply").text
    ticked = set(re.findall(r'name="instrument_id" value="(\d+)"[^>]*checked', page))
    listed = re.findall(r'name="instrument_id" value="(\d+)"', page)
    assert ticked == {str(first), str(second)} == set(listed)  # never verified: listed (needing it), ticked
    every = client.get("/owner/apply?show=all").text  # in date: listed among all in use, not ticked
    assert re.findall(r'name="instrument_id" value="(\d+)"', every) == [str(fresh), str(first), str(second)]
    assert set(re.findall(r'name="instrument_id" value="(\d+)"[^>]*checked', every)) == {str(first), str(second)}
    from_its_page = client.get(f"/owner/apply?instrument={fresh}").text  # the instrument page's apply link
    assert re.findall(r'name="instrument_id" value="(\d+)"[^>]*checked', from_its_page) == [str(fresh)]

    form = {
        "instrument_id": [str(first), str(second)],
        "kind": "verification",
        "note": "上午方便",
        "csrf_token": csrf(client, "/owner/apply"),
    }
    r = client.post("/owner/apply", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/owner/apply?created=")
    done = client.get(r.headers["location"]).text
    assert "已生成任务 2 个" in done and done.count("徐汇区计量所") == 2
    with platform.engine.connect() as c:
        queue = {t["instrument_id"]: t for t in workflow_queries.task_queue(c, lab.verifier)}
    assert {first, second} <= set(queue) and queue[first]["state"] == "assigned"
    for iid in (first, second):
        assert f'data-task="{queue[iid]["id"]}"' in done

    # a task in progress: the page marks the instrument and it cannot be ticked; the service refuses a
    # second task all the same, and the page says why
    page = client.get("/owner/apply").text
    for iid in (first, second):
        row = page.split(f'<tr data-instrument="{iid}" data-task="{queue[iid]["id"]}" class="busy">', 1)[1]
        row = row.split("</tr>", 1)[0]
        assert f'value="{iid}"' in row and "disabled" in row and f"任务 {queue[iid]['id']} 进行中" in row
    r = client.post("/owner/apply", data=form | {"csrf_token": csrf(client, "/owner/apply")})
    assert r.status_code == 409 and "已有进行中的任务" in r.text and 'id="busy-hint"' in r.text


def test_applying_with_nothing_ticked_says_so(client) -> None:  # type: ignore[no-untyped-def]
    owner = world.make_owner(client.app.state.platform)
    world.scale(client.app.state.platform, owner)
    page_login(client, owner.username)
    r = client.post("/owner/apply", data={"kind": "verification", "csrf_token": csrf(client, "/owner/apply")})
    assert r.status_code == 422 and "请至少选择一台器具" in r.text


# ---------------------------------------------------------------- certificates


def test_the_certificate_list_the_pdf_and_the_signed_document_download(client, visitor) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    number = world.verify(platform, lab, task)
    page_login(client, owner.username)

    page = client.get("/owner/certificates").text
    assert f'data-certificate="{number}"' in page and 'data-status="valid"' in page and "合格" in page
    assert f'href="/owner/certificates/{number}/pdf"' in page and "在线核验" in page
    assert "信任本平台的根证书后" in page and 'href="/public/keys/root.crt"' in page  # how to trust the PDF
    r = client.get(f"/owner/certificates/{number}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.pdf"'
    assert r.content.startswith(b"%PDF-")
    r = client.get(f"/owner/certificates/{number}/document")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.json"'
    api = visitor()
    expected = api.get(f"/api/certificates/{number}/document", headers=login(api, owner.username, world.PASSWORD))
    assert r.content == expected.content
    document = json.loads(r.content)
    assert document["payload"]["number"] == number and document["signature"]["value"]
    assert f'href="{document["payload"]["verify_path"]}"' in page.replace("&amp;", "&")  # where its QR code leads

    stranger = visitor()
    page_login(stranger, world.make_owner(platform, "310104").username)
    assert stranger.get(f"/owner/certificates/{number}/document").status_code == 404
    assert stranger.get(f"/owner/certificates/{number}/pdf").status_code == 404
    assert number not in stranger.get("/owner/certificates").text


# ---------------------------------------------------------------- CSRF and languages


def test_posts_without_the_csrf_token_are_refused(client, visitor) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    csrf(client, "/signup")  # the visitor holds the pre-login cookie, the forged form lacks the field
    r = client.post("/signup", data=signup_form())
    assert r.status_code == 403 and "页面已过期" in r.text
    assert client.post("/signup/credit-code", data={"credit_code": DOC_CODE}).status_code == 403
    with platform.engine.connect() as c:
        assert c.execute(select(owners.c.id).where(owners.c.credit_code == DOC_CODE)).first() is None

    owner = world.make_owner(platform, "310104", approve=False)
    lab = world.make_lab(platform, "D310104", ["nawi"])
    manager = visitor()
    page_login(manager, lab.manager.username)
    r = manager.post(f"/lab/owners/{owner.owner_id}/decision", data={"decision": "approve", "csrf_token": "forged"})
    assert r.status_code == 403
    approved = world.make_owner(platform, "310104")
    iid = world.scale(platform, approved)
    page_login(client, approved.username)
    assert client.post(f"/owner/instruments/{iid}/scrap", data={"confirm": "yes"}).status_code == 403
    assert client.post("/owner/apply", data={"instrument_id": str(iid)}).status_code == 403
    assert detail(platform, approved, iid)["status"] == "in_use"
    with platform.engine.connect() as c:
        assert c.execute(select(owners.c.status).where(owners.c.id == owner.owner_id)).scalar_one() == "pending"


def test_pages_are_chinese_by_default_and_english_after_the_switch(client) -> None:  # type: ignore[no-untyped-def]
    platform: Platform = client.app.state.platform
    owner = world.make_owner(platform)
    world.scale(platform, owner)
    assert owner_username(platform, owner.owner_id) == owner.username
    page_login(client, owner.username)
    page = client.get("/owner/instruments").text
    assert '<html lang="zh-CN">' in page and "我的器具" in page and "备案器具" in page
    assert '<span class="badge" data-status="never_verified">Never verified' not in page
    client.get("/lang/en?next=/owner/instruments")
    page = client.get("/owner/instruments").text
    assert '<html lang="en">' in page and "My instruments" in page and "Register an instrument" in page
    assert '<span class="badge" data-status="never_verified">Never verified' in page and "备案器具" not in page
    r = client.post("/owner/apply", data={"kind": "verification", "csrf_token": csrf(client, "/owner/apply")})
    assert "choose at least one instrument" in r.text and "请至少选择" not in r.text
    signup = client.get("/signup").text
    assert "Unified social credit code" in signup and "统一社会信用代码" not in signup
