"""The supervision page tests' world and helpers: one small city built through the real services (owners
in Xuhui, Huangpu and Pudong with instruments in every standing, one certified seven months ago), the
regulators who look at it, a logged-in HTTP client, and the elements of a page read back by their
data attributes.

The world is only read by the pages, so a test module builds it once (`module_platform`) instead of
once per test: building it takes most of a test's time.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from jiliang.api import create_app
from jiliang.auth import Actor, load_actor
from jiliang.certificates.service import revoke_certificate
from jiliang.platform import SHANGHAI, Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.tables import owners, regulators
from jiliang.settings import Settings
from jiliang.types import clock_at
from jiliang.verification import service as workflow
from tests.conftest import BACKEND, pg_admin_engine, pg_url
from tests.support import world

XUHUI, HUANGPU, PUDONG, CHANGNING = "310104", "310101", "310115", "310105"
FUEL_PASS = [workflow.ReadingInput("volume", "20.00", "20.02")]  # +0.10 %, MPE ±0.30 % (JJG 443)
FUEL_FAIL = [workflow.ReadingInput("volume", "20.00", "20.20")]  # +1.0 %
WATER = [
    workflow.ReadingInput("Q1", "10.00", "10.30"),
    workflow.ReadingInput("Q2", "10.00", "10.10"),
    workflow.ReadingInput("Q3", "100.0", "101.0"),
]
LATE_DAYS = 215  # fd_late was registered, verified and certified this many days ago
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


@contextmanager
def module_platform(template: tuple[str, Path], tmp: Path) -> Iterator[Platform]:
    """A platform on its own copy of the test template database (as tests/conftest.py's `platform`,
    for a world a whole module reads)."""
    source, template_dir = template
    data_dir = tmp / "data"
    shutil.copytree(template_dir, data_dir)
    if BACKEND == "sqlite":
        platform = Platform(Settings(data_dir, f"sqlite:///{data_dir / 'jiliang.db'}", None, 0, 60))
        yield platform
        platform.engine.dispose()
        return
    admin = pg_admin_engine()
    name = f"jl_sup_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    platform = Platform(Settings(data_dir, pg_url(name), None, 0, 60))
    try:
        yield platform
    finally:
        platform.engine.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def regulator(platform: Platform, code: str) -> Actor:
    """A user of the regulator `code` (SAMR-SH: the city; SAMR-<district>: a district bureau)."""
    with platform.engine.connect() as c:
        rid = c.execute(select(regulators.c.id).where(regulators.c.code == code)).scalar_one()
    uid = registry.create_user(
        platform.uow(),
        world.admin(platform),
        f"reg-{code.lower()}",
        world.PASSWORD,
        f"监管 {code}",
        ["regulator"],
        regulator_id=rid,
    )
    with platform.engine.connect() as c:
        return load_actor(c, uid)


@dataclass
class City:
    today: date
    late_on: date  # the day fd_late was verified
    city_regulator: Actor
    xuhui_regulator: Actor
    verifier: Actor  # of the Xuhui institute
    ids: dict[str, int] = field(default_factory=dict)
    certificates: dict[str, str] = field(default_factory=dict)  # instrument key → certificate number
    owner_names: dict[str, str] = field(default_factory=dict)  # a (Xuhui), b (Huangpu), c (Pudong)


def _verified(
    platform: Platform, lab: world.Lab, owner: Actor, iid: int, readings: list[workflow.ReadingInput], **kw: Any
) -> str:
    [task] = workflow.apply(platform.uow(), owner, [iid])
    return world.verify(platform, lab, task, readings, **kw)


def build_city(platform: Platform) -> City:
    """Registration order matters (the overdue list sorts what has no due date by it):

    Xuhui owner:   fd_late  fuel dispenser verified LATE_DAYS ago (certificate then): overdue
                   fd_ok    fuel dispenser verified 3 days ago: covered
                   fd_new   fuel dispenser never verified
                   fd_fail  fuel dispenser failed today: barred
                   fd_rev   fuel dispenser verified 3 days ago, certificate revoked: no valid date
                   wm_ok    water meter, initial verification 10 days ago: covered until replace-by
                   wm_new   water meter never verified
                   sc_ok    price-computing scale verified today: period unknown
                   sc_new   price-computing scale never verified: period unknown
    Huangpu owner: fd_b1, fd_b2 verified today (covered), fd_b3 never verified
    Pudong owner:  fd_c1 verified today (covered)
    """
    today = shanghai_today()
    late_on = today - timedelta(days=LATE_DAYS)
    xlab = world.make_lab(platform, "D310104", ["fuel_dispenser", "water_meter", "nawi"])
    hlab = world.make_lab(platform, "D310101", ["fuel_dispenser"])
    plab = world.make_lab(platform, "D310115", ["fuel_dispenser"])
    since = late_on - timedelta(days=20)  # the Xuhui standard's calibration in force back then
    registry.record_standard_calibration(
        platform.uow(),
        xlab.manager,
        xlab.standard_id,
        "上海市计量测试技术研究院",
        "CAL-back",
        since,
        today + timedelta(days=100),
        True,
    )
    a, b, c = (world.make_owner(platform, d) for d in (XUHUI, HUANGPU, PUDONG))
    city = City(today, late_on, regulator(platform, "SAMR-SH"), regulator(platform, "SAMR-310104"), xlab.verifier)
    ids, certs = city.ids, city.certificates

    with clock_at(datetime.combine(late_on, time(10), SHANGHAI).astimezone(UTC)):
        ids["fd_late"] = world.fuel_dispenser(platform, a)
        certs["fd_late"] = _verified(platform, xlab, a, ids["fd_late"], FUEL_PASS, on=late_on)
    for key in ("fd_ok", "fd_new", "fd_fail", "fd_rev"):
        ids[key] = world.fuel_dispenser(platform, a)
    certs["fd_ok"] = _verified(platform, xlab, a, ids["fd_ok"], FUEL_PASS, on=today - timedelta(days=3))
    certs["fd_fail"] = _verified(platform, xlab, a, ids["fd_fail"], FUEL_FAIL)
    certs["fd_rev"] = _verified(platform, xlab, a, ids["fd_rev"], FUEL_PASS, on=today - timedelta(days=3))
    revoke_certificate(platform.uow(), world.confirm(platform, xlab.approver), certs["fd_rev"], "检定数据录入错误")
    ids["wm_ok"], ids["wm_new"] = world.water_meter(platform, a), world.water_meter(platform, a)
    certs["wm_ok"] = _verified(platform, xlab, a, ids["wm_ok"], WATER, stage="initial", on=today - timedelta(days=10))
    ids["sc_ok"], ids["sc_new"] = world.scale(platform, a), world.scale(platform, a)
    certs["sc_ok"] = _verified(platform, xlab, a, ids["sc_ok"], world.SCALE_PASS)

    for key in ("fd_b1", "fd_b2", "fd_b3"):
        ids[key] = world.fuel_dispenser(platform, b)
    for key in ("fd_b1", "fd_b2"):
        certs[key] = _verified(platform, hlab, b, ids[key], FUEL_PASS)
    ids["fd_c1"] = world.fuel_dispenser(platform, c)
    certs["fd_c1"] = _verified(platform, plab, c, ids["fd_c1"], FUEL_PASS)
    with platform.engine.connect() as conn:
        for key, owner in (("a", a), ("b", b), ("c", c)):
            city.owner_names[key] = conn.execute(
                select(owners.c.name).where(owners.c.id == owner.owner_id)
            ).scalar_one()
    return city


# ------------------------------------------------------------------ HTTP


def logged_in(client: TestClient, username: str, password: str = world.PASSWORD) -> TestClient:
    """Log in through the login form, with its CSRF token, as a person would."""
    token = CSRF.search(client.get("/login").text)
    assert token, "no login form"
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


@contextmanager
def client_as(platform: Platform, actor: Actor) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as client:
        yield logged_in(client, actor.username)


# ------------------------------------------------------------------ reading a page


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class _Collector(HTMLParser):
    """Every element carrying one of `keys` among its attributes, with its text (nested text included)."""

    VOID = frozenset({"br", "img", "input", "meta", "link", "hr"})

    def __init__(self, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.keys = keys
        self.found: list[Element] = []
        self.open: list[tuple[str, Element | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        element = Element(tag, values) if any(k in values for k in self.keys) else None
        if element is not None:
            self.found.append(element)
        if tag not in self.VOID:
            self.open.append((tag, element))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            name, _ = self.open.pop()
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element in self.open:
            if element is not None:
                element.text += data


def elements(html: str, *keys: str) -> list[Element]:
    """The page's elements having any of the attributes `keys` (e.g. "data-district"), in page order."""
    collector = _Collector(keys)
    collector.feed(html)
    return collector.found


def squash(text_: str) -> str:
    return " ".join(text_.split())


def coverage_cells(html: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(district, item) → (colour class, figure shown); '' for a total."""
    return {
        (e.attrs["data-district"], e.attrs["data-item"]): (
            next(c for c in e.attrs["class"].split() if c.startswith("cov-")),
            squash(e.text),
        )
        for e in elements(html, "data-covered")
    }


def overdue_rows(html: str) -> list[tuple[int, str]]:
    return [(int(e.attrs["data-instrument"]), e.attrs["data-status"]) for e in elements(html, "data-instrument")]


def by_id(html: str) -> dict[str, str]:
    """Each element with an id → its text, whitespace squashed."""
    return {e.attrs["id"]: squash(e.text) for e in elements(html, "id")}


def safe_for_csp(html: str) -> None:
    """No style attribute and no inline script: the page's Content-Security-Policy would block them."""
    assert 'style="' not in html and INLINE_SCRIPT.search(html) is None


def chart_of(html: str) -> dict[str, Any]:
    """The certificate chart's data, as supervision-charts.js reads it from the page."""
    [chart] = [e for e in elements(html, "data-series") if e.attrs.get("id") == "chart"]
    return json.loads(chart.attrs["data-series"])
