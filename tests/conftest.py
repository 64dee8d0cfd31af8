"""Test fixtures: a real database (SQLite by default, PostgreSQL with JILIANG_TEST_DATABASE=postgresql),
a freshly initialised platform per test (copied from a template), and the real HTTP app.

Services that a machine may lack (PostgreSQL, chromium) skip with a visible notice; set
JILIANG_REQUIRE_SERVICES=1 (CI does) to turn such a skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from jiliang.bootstrap import init_platform
from jiliang.platform import Platform
from jiliang.settings import Settings

PG_ADMIN_URL = os.environ.get("JILIANG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKEND = os.environ.get("JILIANG_TEST_DATABASE", "sqlite")
REQUIRE = os.environ.get("JILIANG_REQUIRE_SERVICES") == "1"
ADMIN_PASSWORD = "admin-pass-123"


def missing_service(reason: str) -> None:
    """Skip visibly on a user's machine; fail in CI, where nothing may be skipped silently."""
    if REQUIRE:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(f"NOTICE: {reason}")


def pg_admin_engine():  # type: ignore[no-untyped-def]
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        engine.dispose()
        missing_service(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__})")
    return engine


def pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


def pytest_report_header(config: pytest.Config) -> str:
    return f"jiliang test database: {BACKEND} (JILIANG_TEST_DATABASE); require services: {REQUIRE}"


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An initialised database and data dir that each test copies."""
    data_dir = tmp_path_factory.mktemp("template")
    os.environ["JILIANG_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    if BACKEND == "sqlite":
        url = f"sqlite:///{data_dir / 'jiliang.db'}"
        platform, _ = init_platform(Settings(data_dir, url, None, 0, 60))
        with platform.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        platform.engine.dispose()
        yield url, data_dir
        return
    admin = pg_admin_engine()
    name = f"jl_tmpl_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    platform, _ = init_platform(Settings(data_dir, pg_url(name), None, 0, 60))
    platform.engine.dispose()
    yield name, data_dir
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(template: tuple[str, Path], tmp_path: Path) -> Iterator[Settings]:
    source, template_dir = template
    data_dir = tmp_path / "data"
    shutil.copytree(template_dir, data_dir)
    if BACKEND == "sqlite":
        yield Settings(data_dir, f"sqlite:///{data_dir / 'jiliang.db'}", None, 0, 60)
        return
    admin = pg_admin_engine()
    name = f"jl_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    yield Settings(data_dir, pg_url(name), None, 0, 60)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    from jiliang.certificates.queries import forget_public_keys

    forget_public_keys()  # every test database copies the same keys; a test may have marked one compromised
    p = Platform(settings)
    yield p
    p.engine.dispose()


@pytest.fixture
def platform_with_procedures(settings: Settings, tmp_path: Path) -> Iterator[Platform]:
    extra = tmp_path / "procedures"
    extra.mkdir()
    p = Platform(replace(settings, procedures_dir=extra))
    yield p
    p.engine.dispose()


@pytest.fixture
def client(platform: Platform) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from jiliang.api import create_app

    with TestClient(create_app(platform)) as c:
        yield c


def login(client, username: str, password: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
