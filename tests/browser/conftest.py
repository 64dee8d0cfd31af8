"""Browser fixtures: the real app served by uvicorn on a free port (real HTTP, the test database)
and Debian's chromium driven by Playwright (never a browser that Playwright downloads itself).

Without the `playwright` package or /usr/bin/chromium the tests skip with a NOTICE, and fail in
CI (JILIANG_REQUIRE_SERVICES=1), where .ci/run installs chromium and fonts-wqy-zenhei.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from jiliang.api import create_app
from jiliang.platform import Platform
from tests.conftest import missing_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("chromium browser tests need the `playwright` package (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        missing_service(f"chromium not found at {CHROMIUM} (apt-get install chromium fonts-wqy-zenhei)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Platform], str]]:
    """Serves a platform's app on 127.0.0.1:<free port> in a background thread; returns its base URL."""
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(platform: Platform) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(platform), log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread, sock))
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the test server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread, sock in running:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_server(serve, platform: Platform) -> str:  # type: ignore[no-untyped-def]
    """The test platform's app over real HTTP; its base URL."""
    return str(serve(platform))


@pytest.fixture
def page(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A phone-sized page (a QR code is scanned with a phone); uncaught script errors fail the test."""
    context = browser.new_context(viewport={"width": 414, "height": 896}, device_scale_factor=2, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.script_errors = errors
    yield pg
    context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """A full-page screenshot for reviewers: test-artifacts/screenshots/<name>.png, written whole under
    another name and then renamed (the SQLite and PostgreSQL runs may take the same one at once)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    partial = path.with_name(f".{name}.{os.getpid()}.png")
    partial.write_bytes(page.screenshot(full_page=True))
    os.replace(partial, path)
    return path


@pytest.fixture
def desk(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A desktop-sized page (staff and regulators work at a desk); uncaught script errors are kept."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.script_errors = errors
    yield pg
    context.close()


def log_in(page, base_url: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login form, as a person would."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {username} failed: {page.url}"
