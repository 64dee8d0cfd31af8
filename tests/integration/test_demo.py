"""The demo generator builds a realistic Shanghai world through the real services, on the real database."""

from __future__ import annotations

import re
import shutil
import uuid
from collections import defaultdict
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from jiliang.auth import check_password, load_actor
from jiliang.certificates.queries import signature_valid
from jiliang.certificates.tables import certificates
from jiliang.demo import DEMO_PASSWORD, generate_demo
from jiliang.platform import Platform, shanghai_today
from jiliang.registry.tables import instruments, owners, users
from jiliang.verification.tables import tasks
from tests.conftest import BACKEND, pg_admin_engine, pg_url
from tests.support.supervision_pages import module_platform

N = 60


@pytest.fixture(scope="module")
def demo_world(template, tmp_path_factory):
    """One demo world for the module: its tests only read it (a world takes ten seconds or more to build)."""
    with module_platform(template, tmp_path_factory.mktemp("demo")) as platform:
        calls: list[tuple[int, int]] = []
        report = generate_demo(platform, N, seed=7, progress=lambda done, total: calls.append((done, total)))
        yield platform, report, calls


@pytest.fixture
def demo(demo_world):
    from jiliang.certificates.queries import forget_public_keys

    forget_public_keys()  # as the `platform` fixture: a test run before may have left another database's keys
    return demo_world


def test_demo_world_has_owners_history_failures_overdue_and_unverified_instruments(demo):
    platform, report, calls = demo
    today = shanghai_today()
    assert report.instruments == N and calls[-1] == (N, N)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    with platform.engine.connect() as c:
        owner_rows = c.execute(select(owners)).all()
        insts = c.execute(select(instruments)).all()
        certs = c.execute(select(certificates)).all()
        open_tasks = c.execute(select(tasks).where(tasks.c.state.in_(("assigned", "recorded", "checked")))).all()
    assert len(insts) == N
    approved = [o for o in owner_rows if o.status == "approved"]
    assert len({o.district_code for o in approved}) >= 5
    assert any(o.status == "pending" for o in owner_rows)
    assert {"verification", "nonconformity", "calibration"} <= {c.kind for c in certs}
    assert report.certificates == len(certs) and report.failures == sum(c.kind == "nonconformity" for c in certs)
    assert any(i.barred for i in insts)
    assert any(i.valid_until is not None and i.valid_until < today for i in insts)  # overdue
    never = [i for i in insts if i.last_verified_on is None]
    assert never and any(i.item_code in ("taximeter", "ev_charger") for i in never)
    # no period in the data for scales: their validity stays unknown, never invented
    assert all(i.valid_until is None for i in insts if i.item_code == "nawi")
    assert all(i.replace_by is not None for i in insts if i.item_code == "water_meter" and i.last_conclusion == "pass")
    assert {i.use for i in insts} >= {"trade", "medical", "safety"}
    assert any(i.status == "scrapped" for i in insts) or report.failures == 0
    assert open_tasks, "today's queue: tasks applied for and not yet issued"
    # history spans about three years, every certificate issued in the past
    issued_years = {c.year for c in certs}
    assert min(issued_years) <= today.year - 2 and max(issued_years) == today.year


def test_certificate_numbers_are_gap_free_and_every_signature_verifies(demo):
    platform, _, _ = demo
    with platform.engine.connect() as c:
        certs = c.execute(select(certificates)).all()
        seqs: dict[tuple[int, int], list[int]] = defaultdict(list)
        for cert in certs:
            seqs[(cert.institution_id, cert.year)].append(cert.seq)
            assert signature_valid(c, cert), cert.number
    for key, got in seqs.items():
        assert sorted(got) == list(range(1, len(got) + 1)), key
    # numbered in the order issued: a later number never carries an earlier issue time
    by_key: dict[tuple[int, int], list] = defaultdict(list)
    for cert in certs:
        by_key[(cert.institution_id, cert.year)].append(cert)
    for rows in by_key.values():
        rows.sort(key=lambda r: r.seq)
        assert [r.issued_at for r in rows] == sorted(r.issued_at for r in rows)


def test_demo_logins_work_with_the_shared_password(demo):
    platform, report, _ = demo
    names = {login.username for login in report.logins}
    assert names == {
        "demo-owner",
        "demo-verifier",
        "demo-checker",
        "demo-approver",
        "demo-manager",
        "simt-verifier1",
        "demo-regulator-xuhui",
        "demo-regulator-city",
    }
    with platform.engine.begin() as c:
        for entry in report.logins:
            assert entry.password == DEMO_PASSWORD
            row = c.execute(select(users).where(users.c.username == entry.username)).one()
            assert check_password(entry.password, row.password_hash)
            assert entry.role in load_actor(c, row.id).roles
        owner = c.execute(select(users).where(users.c.username == "demo-owner")).one()
        mine = c.execute(select(instruments).where(instruments.c.owner_id == owner.owner_id)).all()
    assert mine, "the demo owner has instruments"


def _fingerprint(platform: Platform) -> list[tuple]:
    with platform.engine.connect() as c:
        rows = c.execute(
            select(instruments, owners.c.credit_code, owners.c.name.label("owner_name"))
            .join(owners, owners.c.id == instruments.c.owner_id)
            .order_by(instruments.c.id)
        ).all()
        certs = c.execute(
            select(certificates.c.number, certificates.c.kind, certificates.c.instrument_id).order_by(certificates.c.id)
        ).all()
    return [
        (
            r.credit_code,
            r.owner_name,
            r.item_code,
            r.serial_no,
            r.parameters,
            r.district_code,
            r.status,
            r.barred,
            r.valid_until,
            r.last_verified_on,
        )
        for r in rows
    ] + [tuple(c) for c in certs]


@pytest.fixture
def second_platform(template, settings, tmp_path):
    """Another freshly initialised database, made like the `settings` fixture makes the first."""
    source, template_dir = template
    data_dir = tmp_path / "data2"
    shutil.copytree(template_dir, data_dir)
    if BACKEND == "sqlite":
        p = Platform(replace(settings, data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'jiliang.db'}"))
        yield p
        p.engine.dispose()
        return
    admin = pg_admin_engine()
    name = f"jl_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    p = Platform(replace(settings, data_dir=data_dir, database_url=pg_url(name)))
    yield p
    p.engine.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_same_seed_gives_the_same_instruments_and_a_second_run_is_refused(platform, second_platform):
    generate_demo(platform, 25, seed=3)
    generate_demo(second_platform, 25, seed=3)
    assert _fingerprint(platform) == _fingerprint(second_platform)
    from jiliang.errors import RuleViolation

    with pytest.raises(RuleViolation):
        generate_demo(platform, 5, seed=3)


def test_an_ev_charger_waits_at_the_city_institute_and_its_form_shows_u_live(demo):
    """The demo's EV charger task: the city institute's verifier (a demo login) sees each point's U and
    the JJF 1094 decision as readings are typed, from the standard meter's certificate U."""
    from fastapi.testclient import TestClient

    from jiliang.api import create_app
    from jiliang.demo import LOGINS
    from jiliang.registry.tables import institutions
    from tests.support.work_pages import form_token, log_in

    platform, _, _ = demo
    with platform.engine.connect() as c:
        task_id, code = c.execute(
            select(tasks.c.id, institutions.c.code)
            .join(instruments, instruments.c.id == tasks.c.instrument_id)
            .join(institutions, institutions.c.id == tasks.c.institution_id)
            .where(instruments.c.procedure_code == "ev_charger_ac", tasks.c.state == "assigned")
        ).one()
    assert code == "SIMT" and "simt-verifier1" in {login.username for login in LOGINS}
    with TestClient(create_app(platform)) as client:
        log_in(client, "simt-verifier1", DEMO_PASSWORD)
        page = client.get(f"/work/tasks/{task_id}").text
        [standard] = re.findall(r'<li data-standard="(\d+)">', page)  # the one usable standard: no "unusable"
        data = {
            "performed_on": shanghai_today().isoformat(),
            "stage": "initial",
            "standard_ids": [standard],
            "point_id": ["energy"],
            "reference": ["10.000"],
            "indication": ["10.05"],
        }
        token = form_token(client, f"/work/tasks/{task_id}")
        html = client.post(f"/work/tasks/{task_id}/evaluate", data=data, headers={"X-CSRF-Token": token}).text
    assert 'id="u-0"' in html and "data-u=" in html.split('id="u-0"')[1].split(">")[0]
    assert 'data-rule="jjf1094"' in html
