"""Administration in the browser, over real HTTP on the real database, with each form's CSRF token:
accounts (made, roles, deactivated, reset — an administrator's for everyone, a lab manager's for their
own institution's staff, another institution's answering as a missing one), the user's own password,
catalogue periods with their source, MPE rule confirmation and an institution's authorised items. Each
step is the API's service: audited, ledgered, and the ledger's auditor finds nothing after it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.audit import audit_events
from jiliang.ledger.auditor import audit
from jiliang.registry.tables import users
from tests.conftest import ADMIN_PASSWORD
from tests.support import world
from tests.support.work_pages import CSRF, clients, form_token, log_in

NEW_PASSWORD = re.compile(r'id="new-password">([^<]+)<')


@pytest.fixture
def as_(platform):  # type: ignore[no-untyped-def]
    yield from clients(platform)


@pytest.fixture
def admin(platform) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(platform)) as c:
        yield log_in(c, "admin", ADMIN_PASSWORD)


def post(client: TestClient, page: str, action: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(action, data={**(data or {}), "csrf_token": form_token(client, page)}, follow_redirects=False)


def text(html: str) -> str:
    """What a person reads: the page without its tags (and their attributes)."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def flash(client: TestClient, r) -> str:  # type: ignore[no-untyped-def]
    assert r.status_code == 303, r.text
    return text(re.search(r'class="flash"[^>]*>(.*?)</p>', client.get(r.headers["location"]).text).group(1))


def actions(platform, record_type: str, record_id: object) -> list[str]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        q = select(audit_events.c.action).where(
            audit_events.c.record_type == record_type, audit_events.c.record_id == str(record_id)
        )
        return list(c.execute(q.order_by(audit_events.c.id)).scalars())


def user_id(platform, username: str) -> int:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return int(c.execute(select(users.c.id).where(users.c.username == username)).scalar_one())


def can_log_in(platform, username: str, password: str) -> bool:  # type: ignore[no-untyped-def]
    with TestClient(create_app(platform)) as c:
        r = c.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": form_token(c, "/login")},
            follow_redirects=False,
        )
        return r.status_code == 303


def test_an_administrator_makes_an_account_changes_its_roles_resets_and_deactivates_it(platform, admin) -> None:
    inst = world.institution_id(platform, "D310104")
    r = post(admin, "/admin/users/new", "/admin/users", {
        "username": "zhang-san", "display_name": "张三", "organisation": f"institution:{inst}", "roles": ["verifier"],
    })  # fmt: skip
    assert r.status_code == 200 and "账号已创建" in r.text
    first = NEW_PASSWORD.search(r.text).group(1)
    uid = user_id(platform, "zhang-san")
    assert can_log_in(platform, "zhang-san", first)
    listed = admin.get("/admin/users?q=ZHANG&role=verifier").text
    assert 'data-user="zhang-san"' in listed and "徐汇区计量所" in listed and 'data-user="admin"' not in listed

    page = f"/admin/users/{uid}"
    assert flash(admin, post(admin, page, f"{page}/roles", {"roles": ["verifier", "checker"]})) == "角色已保存。"
    assert "检定员、核验员" in text(admin.get(page).text)  # in the site's order of roles
    r = post(admin, page, f"{page}/roles", {"roles": ["regulator"]})
    assert r.status_code == 422 and "监管角色须属于监管部门" in text(r.text) and "regulator's account" not in r.text

    r = post(admin, page, f"{page}/password")
    new = NEW_PASSWORD.search(r.text).group(1)
    assert new != first and not can_log_in(platform, "zhang-san", first) and can_log_in(platform, "zhang-san", new)
    assert flash(admin, post(admin, page, f"{page}/active", {"active": "no"})) == "账号已停用。"
    assert not can_log_in(platform, "zhang-san", new) and "已停用" in text(admin.get("/admin/users?q=zhang").text)
    assert flash(admin, post(admin, page, f"{page}/active", {"active": "yes"})) == "账号已重新启用。"
    assert can_log_in(platform, "zhang-san", new)

    me = f"/admin/users/{user_id(platform, 'admin')}"
    admin.cookies.set("jiliang_lang", "en")
    r = post(admin, "/admin/users", f"{me}/active", {"active": "no"})  # no one locks themselves out
    assert r.status_code == 403 and "you cannot deactivate your own account" in r.text and "不能" not in text(r.text)
    r = post(admin, "/admin/users/new", "/admin/users", {"username": "zhang-san", "display_name": "x", "roles": []})
    assert r.status_code == 422 and "choose at least one valid role" in r.text
    assert actions(platform, "user", uid) == [
        "user.created",
        "user.roles_changed",
        "user.password_reset",
        "user.deactivated",
        "user.reactivated",
    ]
    assert audit(platform).findings == []


def test_a_lab_manager_manages_only_their_own_staff_and_another_institutions_answer_as_missing(platform, as_):
    lab = world.make_lab(platform, "D310104", ["nawi"])
    other = world.make_lab(platform, "D310105", ["nawi"])
    manager = as_(lab.manager)
    listed = manager.get("/admin/users").text
    assert f'data-user="{lab.verifier.username}"' in listed and other.verifier.username not in listed
    form = manager.get("/admin/users/new").text
    assert 'name="organisation"' not in form and 'value="admin"' not in form and 'value="regulator"' not in form
    r = post(manager, "/admin/users/new", "/admin/users", {
        "username": "xh-new", "display_name": "新人", "password": "first-pass-1", "roles": ["checker"],
    })  # fmt: skip
    assert flash(manager, r) == "账号已创建。"
    new = user_id(platform, "xh-new")
    with platform.engine.connect() as c:
        assert c.execute(select(users.c.institution_id).where(users.c.id == new)).scalar_one() == lab.institution_id

    page = f"/admin/users/{new}"
    r = post(manager, page, f"{page}/roles", {"roles": ["admin"]})
    assert r.status_code == 403 and "实验室主任只管理本机构检定人员的账号" in text(r.text)
    assert flash(manager, post(manager, page, f"{page}/roles", {"roles": ["checker", "approver"]})) == "角色已保存。"
    assert NEW_PASSWORD.search(post(manager, page, f"{page}/password").text)

    theirs, missing = other.verifier.user_id, 987654
    token = form_token(manager, "/admin/users")
    for path, data in (
        ("", None),
        ("/roles", {"roles": ["checker"]}),
        ("/active", {"active": "no"}),
        ("/password", {}),
    ):
        answers = []
        for uid in (theirs, missing):
            url = f"/admin/users/{uid}{path}"
            if data is None:
                got = manager.get(url)
            else:
                got = manager.post(url, data={**data, "csrf_token": token}, follow_redirects=False)
            answers.append((got.status_code, got.text.replace(f"%2Fadmin%2Fusers%2F{uid}", "")))
        assert answers[0] == answers[1] and answers[0][0] == 404, path
    verifier = as_(lab.verifier)
    r = verifier.get("/admin/users")  # the refusal names the roles, never their codes
    assert r.status_code == 403 and "需要实验室主任角色" in text(r.text) and "lab_manager" not in text(r.text)
    verifier.cookies.set("jiliang_lang", "en")
    assert "this needs the role of lab manager" in text(verifier.get("/admin/users").text)
    assert audit(platform).findings == []


def test_a_user_changes_their_own_password_on_my_account(platform, as_) -> None:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    me = as_(lab.verifier)
    change = {"current": "wrong-password", "new": "brand-new-pass", "repeated": "brand-new-pass"}
    r = post(me, "/account", "/account/password", change)
    assert r.status_code == 403 and "当前密码错误" in text(r.text)
    r = post(me, "/account", "/account/password", {**change, "current": world.PASSWORD, "repeated": "other"})
    assert r.status_code == 422 and "两次输入的新密码不一致" in text(r.text)
    r = post(me, "/account", "/account/password", {**change, "current": world.PASSWORD})
    assert flash(me, r) == "密码已修改。"
    assert can_log_in(platform, lab.verifier.username, "brand-new-pass")
    assert not can_log_in(platform, lab.verifier.username, world.PASSWORD)
    assert actions(platform, "user", lab.verifier.user_id)[-1] == "user.password_changed"
    assert audit(platform).findings == []


def test_an_administrator_enters_a_period_with_its_source_and_confirms_a_rule(platform, admin, as_) -> None:
    type_id = world.type_id(platform, "nawi", "数字指示秤/电子计价秤")
    page = f"/admin/catalogue/types/{type_id}"
    row = re.search(rf'<tr id="type-{type_id}".*?</tr>', admin.get("/admin/catalogue").text, re.S).group(0)
    assert "未知" in text(row) and "nawi" not in text(row)
    r = post(admin, page, page, {"mode": "periodic", "period_months": "12", "source": " "})
    assert r.status_code == 422 and "请注明数据来源" in text(r.text)
    source = "JJG 539-2016 第 7.4 条（正式文本）"
    r = post(admin, page, page, {"mode": "periodic", "period_months": "12", "source": source, "confidence": "high"})
    assert flash(admin, r) == "更正已保存（第 2 版）。"
    row = re.search(rf'<tr id="type-{type_id}".*?</tr>', admin.get("/admin/catalogue").text, re.S).group(0)
    assert "12 个月" in text(row) and f"<cite>{source}</cite>" in row
    assert actions(platform, "catalogue_type", type_id) == ["catalogue.type_corrected"]
    r = post(admin, "/admin/catalogue/types/new", "/admin/catalogue/types", {
        "item_code": "nawi", "name_zh": "案秤", "name_en": "Counter scale", "mode": "periodic",
        "period_months": "12", "source": "沪市监计量〔2024〕1 号",
    })  # fmt: skip
    assert flash(admin, r) == "已添加器具型式。"

    rules = admin.get("/admin/rules").text
    waiting = re.search(r'<section class="card" id="waiting">.*?</section>', rules, re.S).group(0)
    tare = re.search(r'<tr class="rule".*?/admin/rules/nawi/tare_setting/confirm.*?</tr>', waiting, re.S).group(0)
    assert "数字指示秤" in text(tare) and "JJG 539" in text(tare) and "<cite>" in tare  # the instrument, its source
    assert "tare_setting" not in text(rules) and "nawi" not in text(rules)  # names, never ids
    confirm = "/admin/rules/nawi/tare_setting/confirm"
    assert confirm in waiting
    assert flash(admin, post(admin, "/admin/rules", confirm)) == "规则已确认：按此规则的判定不再仅供参考。"
    rules = admin.get("/admin/rules?q=JJG+539").text  # the confirmed scale rules, on one page
    assert confirm not in rules and "系统管理员" in text(rules)  # who confirmed it
    admin.cookies.set("jiliang_lang", "en")  # the account init made belongs to no person: its role is named
    rules = text(admin.get("/admin/rules?q=JJG+539").text)
    assert "系统管理员" not in rules and rules.count("Administrator") >= 2  # in the header, beside the rule
    admin.cookies.set("jiliang_lang", "zh-CN")
    r = post(admin, "/admin/rules", confirm)
    assert r.status_code == 409 and "该规则已确认" in text(r.text)
    assert actions(platform, "mpe_rule", "nawi/tare_setting") == ["rule.confirmed"]

    lab = world.make_lab(platform, "D310104", ["nawi"])
    manager = as_(lab.manager)
    for url in ("/admin/catalogue", "/admin/rules", page):
        assert manager.get(url).status_code == 403
    assert audit(platform).findings == []


def test_an_administrator_sets_an_institutions_authorised_items_on_its_page(platform, admin, as_) -> None:
    page = "/lab/institutions/D310104/authorisations"
    before = admin.get(page).text
    checked = re.findall(r'name="item_codes" value="([a-z_]+)" checked', before)
    assert "nawi" in checked and "非自动衡器" in text(before)
    r = post(admin, page, page, {"item_codes": [c for c in checked if c != "nawi"] + ["gas_meter"]})
    assert flash(admin, r) == "授权项目已保存。"
    assert actions(platform, "institution", world.institution_id(platform, "D310104")) == [
        "institution.authorisations_set"
    ]

    lab = world.make_lab(platform, "D310104", ["nawi"])
    other = world.make_lab(platform, "D310105", ["nawi"])
    manager = as_(lab.manager)
    mine = manager.get(page).text
    assert 'name="item_codes"' not in mine and "燃气表" in text(mine) and "非自动衡器" not in text(mine)
    assert 'href="/lab/institutions/D310104/authorisations"' in manager.get("/lab/institutions/D310104").text
    token = CSRF.search(mine).group(1)
    r = manager.post(page, data={"item_codes": ["nawi"], "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
    theirs = as_(other.manager)
    a, b = theirs.get(page), theirs.get("/lab/institutions/D987654/authorisations")
    assert a.status_code == b.status_code == 404 and a.text == b.text.replace("D987654", "D310104")
    assert audit(platform).findings == []
