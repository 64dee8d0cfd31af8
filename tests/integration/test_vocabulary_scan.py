"""Every page a person of each role can reach, in Chinese and in English, names things: no page shows a
code of the catalogue, the procedures or the site (an item code, a point, test, rule or parameter id, a
status or role code), an English page shows no Chinese but what people typed themselves, and a Chinese
page shows none of the site's English texts.

The walk follows the navigation and every link on each page (at most two pages of one shape, e.g. two
task pages), plus the fragments HTMX loads (the type picker, the procedure's parameters, the live
evaluation of typed readings). One world, built once, is read by every walk (tests/support/vocabulary_world.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.certificates.pdf import render_pdf
from jiliang.certificates.printed import printed_certificate
from jiliang.certificates.tables import certificates
from jiliang.platform import Platform
from jiliang.registry.catalogue import load_catalogue
from tests.conftest import ADMIN_PASSWORD, missing_service
from tests.support import jjg539, vocabulary_world
from tests.support.page_scan import Finding, Run, forbidden_on, read_page, visible_text
from tests.support.supervision_pages import logged_in, module_platform
from tests.support.work_pages import form_token, row_columns

pytestmark = pytest.mark.xdist_group("vocabulary_scan")  # one worker builds the world once for both tests

LANGS = ("zh-CN", "en")
MAX_PAGES = 120  # per person and language
PER_SHAPE = 2  # pages of one shape (digits and certificate numbers aside) per person and language
PER_PATH = 6  # pages of one path's shape whatever their query (a list's tabs, a form per catalogue item)
_SHAPE = re.compile(r"[A-Z0-9]+-\d{4}-\d{6}|\d+")
_NOT_PAGES = ("/static/", "/api/", "/lang/", "/logout", "/public/keys", "/public/certificates/")
_FILES = ("/pdf", "/document", "/proof", ".png", ".crt", ".crl", ".xml")  # downloads, not pages


@pytest.fixture(scope="module")
def scanned(template: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Any]]:
    with module_platform(template, tmp_path_factory.mktemp("vocabulary")) as platform:
        yield platform, vocabulary_world.build(platform)


def _shape(url: str) -> str:
    return _SHAPE.sub("#", url)


def _walk(client: TestClient, start: list[str], skip: tuple[str, ...] = ()) -> Iterator[tuple[str, list[Run]]]:
    """(url, visible text) of every page reachable from `start`, breadth first, within the bounds, but
    those starting with `skip`."""
    queue, seen, shapes = list(start), set(start), Counter[str]()
    visited = 0
    while queue and visited < MAX_PAGES:
        url = queue.pop(0)
        shape, path = _shape(url), "path " + _shape(url.partition("?")[0])
        if shapes[shape] >= PER_SHAPE or shapes[path] >= PER_PATH:
            continue
        shapes[shape] += 1
        shapes[path] += 1
        r = client.get(url)
        if r.status_code >= 400 or "text/html" not in r.headers.get("content-type", ""):
            continue
        visited += 1
        runs, targets = read_page(r.text, str(r.url))
        yield url, runs
        for target in targets:
            path = target.partition("?")[0]
            if target not in seen and not target.startswith(_NOT_PAGES + skip) and not path.endswith(_FILES):
                seen.add(target)
                queue.append(target)


def _fragments(client: TestClient, role: str, platform: Platform, w: Any) -> Iterator[tuple[str, list[Run]]]:
    """What HTMX loads into a page: the owner's type picker and parameters, the verifier's live evaluation."""
    if role == "owner":
        catalogue = load_catalogue()
        for item in catalogue.items:
            if not catalogue.types_of(item.code):
                continue  # a hint only
            url = f"/owner/instruments/new/types?item_code={item.code}"
            yield url, visible_text(client.get(url).text)
        for code in platform.procedures:
            url = f"/owner/instruments/new/parameters?procedure_code={code}"
            yield url, visible_text(client.get(url).text)
    energy = {"point_id": ["energy"], "reference": ["10.000"], "indication": ["10.020"]}
    bath = {"point_id": ["t1"], "reference": ["20.000"], "indication": ["20.03"]}  # the bath's entries not typed
    typed = {
        "verifier": [("scale", row_columns(jjg539.complete()))],
        "city_verifier": [("ev", energy), ("thermometer", bath)],
    }
    for what, columns in typed.get(role, []):
        task = w.open_tasks[what]
        page = f"/work/tasks/{task}"
        html = client.get(page).text
        standards = re.findall(r'name="standard_ids" value="(\d+)"(?! disabled)', html)
        data = {"performed_on": "", "stage": "subsequent", "temperature": "20.5", "standard_ids": standards, **columns}
        r = client.post(f"/work/tasks/{task}/evaluate", data={**data, "csrf_token": form_token(client, page)})
        assert r.status_code == 200 and 'id="overall-verdict"' in r.text, r.text
        yield f"POST /work/tasks/{task}/evaluate", visible_text(r.text)


def _public(w: Any) -> list[str]:
    pages = ["/public/verify"]
    for number, token in w.tokens.items():
        pages += [f"/public/verify/{number}", f"/public/verify/{number}?token={token}"]
    return pages


def test_no_page_of_any_role_shows_a_code_or_the_other_languages_text(scanned: tuple[Platform, Any]) -> None:
    platform, w = scanned
    forbidden = forbidden_on(platform, w.typed)
    findings: list[Finding] = []
    pages = 0
    sessions = [*w.people.items(), ("public", None)]
    for lang in LANGS:
        for role, person in sessions:
            with TestClient(create_app(platform)) as client:
                client.cookies.set("jiliang_lang", lang)
                if person is None:
                    start = _public(w)
                else:
                    password = ADMIN_PASSWORD if role == "admin" else vocabulary_world.world.PASSWORD
                    logged_in(client, person.username, password)
                    start = ["/", "/account"]
                # the certificates' public pages are the public's walk
                skip = () if person is None else ("/public/verify",)
                for url, runs in [*_walk(client, start, skip), *_fragments(client, role, platform, w)]:
                    pages += 1
                    findings += forbidden.findings(f"{lang} {role} {url}", lang, runs)
    unique = sorted({str(f) for f in findings})
    assert pages > 100, f"the walk reached only {pages} pages"
    assert not unique, f"{len(unique)} findings on {pages} pages:\n" + "\n".join(unique)


def test_the_printed_certificate_names_its_environment_with_units(
    scanned: tuple[Platform, Any], tmp_path: Path
) -> None:
    """The PDF prints what was typed as bare numbers with the units of the procedure's quantities."""
    if not shutil.which("pdftotext"):
        missing_service("poppler-utils (pdftotext) not installed")
    platform, w = scanned
    with platform.engine.connect() as conn:
        cert = conn.execute(select(certificates).where(certificates.c.number == w.certificates["thermometer"])).one()
        pdf = render_pdf(printed_certificate(conn, platform, cert))
    (tmp_path / "c.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True, text=True, check=True)
    printed = "".join(text.stdout.split())  # the PDF's lines break anywhere
    assert "环境温度：20.5°C；相对湿度：55%RH；恒温槽温场均匀性（半宽）：0.01°C" in printed
    assert "bath_" not in printed
