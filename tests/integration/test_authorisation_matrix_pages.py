"""The authorisation matrix of the web pages, which the OpenAPI document leaves out (the JSON API's is
test_authorisation_matrix.py). The page routes are read from the app itself. Each one with a path
parameter naming an object is called — GET, and POST with the CSRF token and a form that gets past every
page's own checks, the caller's password included — by every kind of user of another district
(tests/support/tenancy.py) with tenant A's ids, in each state a page's forms act on; so is each page that
takes an id in its query or form (CARRIED, listed by hand). One policy everywhere: the answer is never a
success, and it is exactly the page the same user gets for an id that does not exist (404, or the refusal
of the user's role whatever the id), so it never tells that the id exists. Every other page is behind
the login, except the public pages listed here, which stay reachable. A page route with a parameter or a
path this file has no rule for fails."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.auth import Actor
from jiliang.platform import shanghai_today
from jiliang.registry.tables import instruments, owners
from jiliang.verification import service as workflow
from tests.support import tenancy, world
from tests.support.dcc_files import UNSIGNED
from tests.support.tenancy import MISSING
from tests.support.work_pages import clients, form_token, row_columns

# routes outside the OpenAPI document that are not pages: the framework's documents, health, static files, the icon
NOT_PAGES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/health", "/static/{path}", "/favicon.ico"}
# pages anyone may open, on purpose: (method, path) → an anonymous request's URL, form and answer. The
# /public pages answer to a certificate's number or an instrument label's token, never with a tenant's data.
PUBLIC: dict[tuple[str, str], tuple[str, dict[str, str], int]] = {
    ("GET", "/"): ("/", {}, 303),  # to the login page
    ("GET", "/login"): ("/login", {}, 200),
    ("POST", "/login"): ("/login", {"username": "nobody", "password": "wrong-password"}, 401),
    ("POST", "/logout"): ("/logout", {}, 303),
    ("GET", "/lang/{code}"): ("/lang/en", {}, 303),
    ("GET", "/signup"): ("/signup", {}, 200),
    ("POST", "/signup"): ("/signup", {k: "" for k in ("credit_code", "name", "district_code", "username")}, 422),
    ("POST", "/signup/credit-code"): ("/signup/credit-code", {"credit_code": "91350100M000100Y43"}, 200),
    ("GET", "/signup/pending"): ("/signup/pending", {}, 200),
    ("GET", "/public/verify"): ("/public/verify", {}, 200),
    ("GET", "/public/verify/{number}"): ("/public/verify/{number}", {}, 200),
    ("GET", "/public/label/{instrument_id}"): ("/public/label/{instrument_id}?token={label_token}", {}, 200),
}
# what a path parameter of a page behind the login may name: one of tenant A's objects (`tenant` gives its
# values, each checked against the made-up tenancy.MISSING). A page whose parameter were global reference
# data, for administrators only, would be listed the same way: a real value then must answer no one else.
OBJECTS = (
    *("instrument_id", "task_id", "record_id", "number", "owner_id", "user_id", "standard_id", "token_id"),
    "institution_code",
    *("type_id", "procedure_code", "rule_id"),  # global reference data, an administrator's to correct
)
GLOBAL = {"type_id", "procedure_code", "rule_id"}  # no one but an administrator has a page naming these
# pages that take an object's id in the query (GET) or the form (POST) instead: field → what it names
CARRIED = {
    ("GET", "/owner/apply"): {"created": "task_id"},  # the tasks just applied for
    ("POST", "/owner/apply"): {"instrument_id": "instrument_id"},
    ("POST", "/lab/staff/qualifications"): {"user_id": "user_id"},
    ("POST", "/lab/standards/calibrations"): {"standard_id": "standard_id"},
}
# pages whose form carries a file: (method, path) → the files, ones the page's own checks accept (a valid
# DCC), so that only the access rule stands between another district's user and the change
UPLOADS = {("POST", "/lab/standards/{standard_id}/dcc"): {"dcc": ("dcc.xml", UNSIGNED.read_bytes(), "application/xml")}}
LOGIN = re.compile(r"/login\?next=")


@dataclass(frozen=True)
class Case:
    """A page request with its object ids left as `{parameter}` in the path, query or form fields."""

    method: str
    url: str
    fields: dict[str, str]

    @property
    def names(self) -> list[str]:
        return parameters(self.url) + [n for v in self.fields.values() for n in parameters(v)]

    def call(self, browser: TestClient, values: dict[str, str], form: dict[str, Any]) -> httpx.Response:
        url = self.url.format(**values)
        if self.method == "GET":
            return browser.get(url, follow_redirects=False)
        data = form | {k: v.format(**values) for k, v in self.fields.items()}
        files = UPLOADS.get((self.method, self.url))
        return browser.request(self.method, url, data=data, files=files, follow_redirects=False)


def page_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves outside its OpenAPI document. `app.routes` holds the
    included routers as wrappers (fastapi.routing._IncludedRouter); iter_route_contexts walks into them."""
    out = []
    for route in iter_route_contexts(app.routes):
        if getattr(route, "include_in_schema", False) or route.path_format in NOT_PAGES:
            continue
        out += [(method, route.path_format) for method in sorted(route.methods or ()) if method != "HEAD"]
    return out


def parameters(template: str) -> list[str]:
    return re.findall(r"{(\w+)}", template)


def cases(routes: list[tuple[str, str]]) -> list[Case]:
    """The requests that name an object: each page route with a path parameter, and those in CARRIED."""
    out = [Case(m, p, {}) for m, p in routes if parameters(p) and (m, p) not in PUBLIC]
    for (method, path), carried in CARRIED.items():
        fields = {field: f"{{{name}}}" for field, name in carried.items()}
        if method == "GET":
            out.append(Case(method, path + "?" + "&".join(f"{k}={v}" for k, v in fields.items()), {}))
        else:
            out.append(Case(method, path, fields))
    return out


@pytest.fixture
def as_(platform) -> Iterator[Callable[[Actor], TestClient]]:  # type: ignore[no-untyped-def]
    yield from clients(platform)


@pytest.fixture
def tenant(platform) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Tenant A (tenancy.tenant_a: a certificate issued), with in Xuhui too a task to record, a record to
    check, a record to approve and an owner's registration to decide."""
    lab, ids = tenancy.tenant_a(platform)
    owner = world.make_owner(platform, "310104")
    fresh, recorded, checked = workflow.apply(platform.uow(), owner, [world.scale(platform, owner) for _ in range(3)])
    to_check = world.record(platform, lab, recorded)
    to_approve = world.record(platform, lab, checked)
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), to_approve)
    pending = world.make_owner(platform, "310104", approve=False)
    with platform.engine.connect() as c:
        label = c.execute(select(instruments.c.label_token).where(instruments.c.id == int(ids["instrument_id"])))
        label_token = label.scalar_one()
    return {
        "lab": lab,
        "label_token": label_token,
        "values": {
            "instrument_id": [ids["instrument_id"]],
            "task_id": [str(fresh), ids["task_id"]],
            "record_id": [str(to_check), str(to_approve), ids["record_id"]],
            "number": [ids["number"]],
            "owner_id": [str(pending.owner_id), ids["owner_id"]],
            "user_id": [ids["user_id"]],
            "standard_id": [ids["standard_id"]],
            "token_id": [ids["token_id"]],
            "institution_code": [ids["institution_code"]],
            "type_id": [str(world.type_id(platform, "nawi", "数字指示秤/电子计价秤"))],
            "procedure_code": ["nawi"],
            "rule_id": ["tare_setting"],
        },
    }


def full_form(platform, tenant: dict[str, Any], others: dict[str, Actor]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One form for every page's POST that each page's own checks accept, so that only the access rule
    stands between another district's user and the change: the user's password to sign, a decision,
    the scrapping confirmed, an approved owner to transfer to, a district to move to, a reason, a
    corrected certificate field, JJG 539 readings taken with tenant A's standard, a qualification, a
    calibration, a DCC's recalibration interval, an account's roles and deactivation, an institution's
    authorised items and a catalogue period with its source."""
    with platform.engine.connect() as c:
        query = select(owners.c.credit_code).where(owners.c.id == others["owner"].owner_id)
        credit_code = c.execute(query).scalar_one()
    today = shanghai_today()
    return {
        "password": world.PASSWORD,
        "decision": "approve",  # a registration approved; a record's check accepted
        "confirm": "yes",
        "new_owner_credit_code": credit_code,
        "district_code": "310105",
        "location": "矩阵路 1 号",
        "reason": "矩阵 / matrix",
        "remarks": "更正 / corrected",  # an amendable field of a certificate
        "performed_on": today.isoformat(),
        "stage": "subsequent",
        "standard_ids": [str(tenant["lab"].standard_id)],
        "temperature": "20.5 °C",
        **row_columns(world.SCALE_PASS),
        "item_code": "nawi",
        "certificate_no": "MATRIX-1",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "calibrated_by": "上海市计量测试技术研究院",
        "calibrated_on": today.isoformat(),
        "due": (today + timedelta(days=365)).isoformat(),
        "in_tolerance": "yes",
        "interval_months": "12",  # a DCC imported onto a standard (UPLOADS)
        "roles": ["checker"],  # an account's roles, deactivation; an institution's items; a period with its source
        "active": "no",
        "item_codes": ["nawi"],
        "mode": "periodic",
        "period_months": "12",
        "source": "矩阵 / matrix",
    }


def answer(r: httpx.Response, replace: dict[str, str]) -> tuple[int, str, str]:
    """Status, redirect and page, each made-up value in them replaced by the real one."""
    location, text = r.headers.get("location", ""), r.text
    for made_up, real in replace.items():
        location, text = location.replace(made_up, real), text.replace(made_up, real)
    return r.status_code, location, text


def test_no_page_tells_another_districts_users_that_an_id_exists(platform, client, as_, tenant) -> None:
    routes = page_routes(client.app)
    assert sum(bool(parameters(p)) for _, p in routes) >= 20, routes  # read from the app, not a list here
    named = {n for method, path in routes if (method, path) not in PUBLIC for n in parameters(path)}
    unknown = sorted(named - set(OBJECTS))
    assert not unknown, (
        f"a page route names a parameter this matrix has no rule for: {unknown}. Add it to OBJECTS with tenant "
        "A's values (the `tenant` fixture) and a made-up one (tenancy.MISSING), or list the page in PUBLIC"
    )
    assert set(CARRIED) <= set(routes), f"CARRIED lists pages the app no longer has: {set(CARRIED) - set(routes)}"
    others = tenancy.other_district(platform)
    form = full_form(platform, tenant, others)
    leaks: list[str] = []
    seen: Counter[int] = Counter()
    hidden: Counter[str] = Counter()  # per page, how many of its answers hid the object (404)
    for role, actor in others.items():
        browser = as_(actor)
        signed = {**form, "csrf_token": form_token(browser, "/account")}
        for case in cases(routes):
            made_up = {n: MISSING[n] for n in case.names}
            b = case.call(browser, made_up, signed)
            for combination in itertools.product(*(tenant["values"][n] for n in case.names)):
                real = dict(zip(case.names, combination, strict=True))
                a = case.call(browser, real, signed)
                seen[a.status_code] += 1
                if not GLOBAL & set(case.names):
                    hidden[f"{case.method} {case.url}"] += a.status_code == 404
                if a.status_code < 400 or answer(a, {}) != answer(b, {made_up[n]: real[n] for n in case.names}):
                    url = case.url.format(**real)
                    leaks.append(f"{case.method} {url} {case.fields} as {role}: {a.status_code} vs {b.status_code}")
    assert not leaks, "another district's ids answered unlike made-up ones:\n" + "\n".join(leaks)
    # not vacuous: every answer comes from the rule that hides an object or refuses a role, none from a
    # form that the page refused before asking whose the object is; and on every page but the
    # administrators', the user of the page's own role (another district's) gets the object hidden, not a
    # refusal of the role
    assert set(seen) <= {403, 404}, seen
    assert not [page for page, n in hidden.items() if n == 0], hidden


def test_every_page_is_behind_the_login_but_the_public_ones(client, tenant) -> None:
    routes = page_routes(client.app)
    assert set(PUBLIC) <= set(routes), f"PUBLIC lists pages the app no longer has: {set(PUBLIC) - set(routes)}"
    token = {"csrf_token": form_token(client, "/login")}  # the double-submit cookie of a visitor's forms
    for (method, path), (url, data, status) in PUBLIC.items():
        values = {n: tenant["values"][n][-1] for n in OBJECTS} | {"label_token": tenant["label_token"]}
        r = Case(method, url, {}).call(client, values, data | token)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:300]}"
        assert not LOGIN.search(r.headers.get("location", "")), f"{method} {path} asks for a login"
    open_pages = []
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        values = {n: tenant["values"][n][0] for n in parameters(path) if n in OBJECTS}
        r = Case(method, path, {}).call(client, values | {n: "x" for n in parameters(path) if n not in OBJECTS}, token)
        if r.status_code not in (401, 404) and not (r.status_code == 303 and LOGIN.match(r.headers["location"])):
            open_pages.append(f"{method} {path}: {r.status_code} {r.headers.get('location', '')}")
    assert not open_pages, "pages that answer without a login (list a public one in PUBLIC):\n" + "\n".join(open_pages)
