"""Test fixtures: a real database (SQLite by default, PostgreSQL with JILIANG_TEST_DATABASE=postgresql),
a freshly initialised platform per test (copied from a template), and the real HTTP app.

Services that a machine may lack (PostgreSQL, chromium) skip with a visible notice; set
JILIANG_REQUIRE_SERVICES=1 (CI does) to turn such a skip into a failure.

Under pytest-xdist (`-n N`, as scripts/run-tests runs the suite) each worker is its own process with its
own session: its own template database and data dir under its own temporary folder, its own browser.
Three things keep a test's own cost down, none of which changes what a test checks:

- each procedure file is parsed once per process (a platform otherwise parses all of them again:
  about a second a test on a 2-core machine); a file whose bytes changed is parsed again;
- passwords are hashed with argon2id at its lowest cost (the tests check who may log in, not how
  long guessing takes; tests/unit/test_password_cost.py checks the shipped cost);
- a PostgreSQL test database commits without waiting for the disk (synchronous_commit=off: nothing
  survives a crash of a test anyway), the next test's copy of the template is made while a test
  runs, and a used one is dropped in the background (DROP DATABASE waits for a checkpoint).
"""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text

from jiliang import auth
from jiliang.bootstrap import init_platform
from jiliang.measurement import procedure as procedure_files
from jiliang.platform import Platform
from jiliang.settings import Settings

PG_ADMIN_URL = os.environ.get("JILIANG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKEND = os.environ.get("JILIANG_TEST_DATABASE", "sqlite")
REQUIRE = os.environ.get("JILIANG_REQUIRE_SERVICES") == "1"
ADMIN_PASSWORD = "admin-pass-123"
DROPS_AT_ONCE = 4  # PostgreSQL test databases dropped together (connections a process may add for it)

SHIPPED_ARGON2 = auth._ARGON2  # what the platform hashes with; checked by tests/unit/test_password_cost.py
auth._ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _parse_each_procedure_file_once() -> None:
    """Every Platform loads the procedures: keep each file's parsed, checked Procedure (frozen) by its
    path and bytes, so a test's platform takes them from here instead of parsing all the YAML again.
    A file that fails is not kept: it fails again, naming what is wrong, at every load."""
    parse = procedure_files.load_procedure_file
    parsed: dict[tuple[str, bytes], procedure_files.Procedure] = {}

    def load_procedure_file(path: Path | str) -> procedure_files.Procedure:
        path = Path(path)
        try:
            key = (str(path.resolve()), hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            return parse(path)
        if key not in parsed:
            parsed[key] = parse(path)
        return parsed[key]

    procedure_files.load_procedure_file = load_procedure_file


_parse_each_procedure_file_once()


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


def create_test_database(admin: Engine, name: str, template: str | None = None) -> None:
    """CREATE DATABASE (from `template`), committing without waiting for the disk."""
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        c.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))


class TemplateCopies:
    """One process's PostgreSQL test databases, copies of its template: the next test's copy is made
    on a thread while this test runs, and a used one is dropped on another (DROP DATABASE waits for a
    checkpoint, which several drops waiting at once share)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.failures: list[str] = []
        self._ready: queue.Queue[str | Exception] = queue.Queue(maxsize=1)
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._maker: threading.Thread | None = None
        self._dropper = threading.Thread(target=self._drop_each, name="drop-test-databases", daemon=True)
        self._dropper.start()

    def take(self) -> str:
        """A fresh copy of the template, for the caller to hand back with `drop`."""
        if self._maker is None:
            self._maker = threading.Thread(target=self._make_ahead, name="make-test-databases", daemon=True)
            self._maker.start()
        made = self._ready.get(timeout=300)
        if isinstance(made, Exception):
            raise made
        return made

    def drop(self, name: str) -> None:
        self._drops.put(name)

    def close(self) -> None:
        """Stop making copies, drop the unused ones and wait for every drop."""
        self._stop.set()
        if self._maker is not None:
            self._maker.join()
        while not self._ready.empty():
            spare = self._ready.get()
            if isinstance(spare, str):
                self.drop(spare)
        self._drops.put(None)
        self._dropper.join()

    def _make_ahead(self) -> None:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        while not self._stop.is_set():
            made: str | Exception = f"jl_test_{uuid.uuid4().hex[:10]}"
            try:
                create_test_database(engine, str(made), self.template)
            except Exception as exc:  # noqa: BLE001 - raised in the test that takes it
                made = exc
            while True:
                try:
                    self._ready.put(made, timeout=0.1)
                    break
                except queue.Full:
                    if self._stop.is_set():
                        if isinstance(made, str):
                            self.drop(made)
                        break
        engine.dispose()

    def _drop_each(self) -> None:
        """Drop what is handed back, those waiting together at once: each DROP DATABASE waits for a
        checkpoint, and drops that ask at the same time share one."""
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=DROPS_AT_ONCE)

        def drop(name: str) -> None:
            try:
                with engine.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # noqa: BLE001 - reported at the end of the session
                self.failures.append(f"{name}: {exc}")

        with ThreadPoolExecutor(DROPS_AT_ONCE, thread_name_prefix="drop-test-database") as pool:
            done = False
            while not done:
                names = [self._drops.get()]
                while not self._drops.empty():
                    names.append(self._drops.get())
                done = None in names
                list(pool.map(drop, [n for n in names if n is not None]))
        engine.dispose()


_COPIES: dict[str, TemplateCopies] = {}  # by template name


def copy_of_template(template: str) -> str:
    """The name of a new PostgreSQL database copied from the session's `template`."""
    return _COPIES[template].take()


def drop_copy(template: str, name: str) -> None:
    """Drop a database made by `copy_of_template` (in the background; waited for at the session's end)."""
    _COPIES[template].drop(name)


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
    create_test_database(admin, name)
    platform, _ = init_platform(Settings(data_dir, pg_url(name), None, 0, 60))
    platform.engine.dispose()
    databases = _COPIES[name] = TemplateCopies(name)
    yield name, data_dir
    del _COPIES[name]
    databases.close()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    assert not databases.failures, f"test databases not dropped: {databases.failures}"


@pytest.fixture
def settings(template: tuple[str, Path], tmp_path: Path) -> Iterator[Settings]:
    source, template_dir = template
    data_dir = tmp_path / "data"
    shutil.copytree(template_dir, data_dir)
    if BACKEND == "sqlite":
        yield Settings(data_dir, f"sqlite:///{data_dir / 'jiliang.db'}", None, 0, 60)
        return
    name = copy_of_template(source)
    yield Settings(data_dir, pg_url(name), None, 0, 60)
    drop_copy(source, name)


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
