"""The lab's lists exported to Excel and CSV from their pages: the issued certificates, the task queue,
the standards and the staff — every row the page's filters and search find (read by key in chunks,
not only the page shown), headed in Chinese, with words and names where the data holds codes, and only
the institution's own (a second lab's rows never appear)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.certificates.service import revoke_certificate
from jiliang.platform import Platform, shanghai_today
from jiliang.registry.tables import instruments, owners
from jiliang.verification import service as workflow
from jiliang.web import downloads
from tests.support import world
from tests.support.supervision_pages import module_platform
from tests.support.work_pages import log_in

TODAY = shanghai_today()
CERTIFICATE_HEADERS = ["编号", "计量器具", "出厂编号", "使用单位", "类别", "结论", "出具时间", "有效期至", "状态"]


@dataclass
class Labs:
    lab: world.Lab
    other: world.Lab
    owner_name: str
    serials: list[str]  # the scales' serial numbers, in their tasks' order
    passed: str
    failed: str
    revoked: str
    foreign: str
    assigned: int  # a task still to record
    recorded: int  # a task recorded, to check
    issued: list[int]  # the tasks certificates came from


@pytest.fixture(scope="module")
def platform(template, tmp_path_factory) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    with module_platform(template, tmp_path_factory.mktemp("lab-exports")) as p:
        yield p


@pytest.fixture(scope="module")
def labs(platform: Platform) -> Labs:
    lab = world.make_lab(platform, "D310104", ["nawi"])
    owner = world.make_owner(platform)
    scales = [world.scale(platform, owner) for _ in range(5)]
    tasks = workflow.apply(platform.uow(), owner, scales)
    passed = world.verify(platform, lab, tasks[0])
    failed = world.verify(platform, lab, tasks[1], world.SCALE_FAIL)
    revoked = world.verify(platform, lab, tasks[2])
    revoke_certificate(platform.uow(), world.confirm(platform, lab.approver), revoked, "录入错误")
    world.record(platform, lab, tasks[3])
    other, foreign = world.issued_certificate(platform, "310101", "D310101")
    with platform.engine.connect() as conn:
        serial = dict(
            conn.execute(select(instruments.c.id, instruments.c.serial_no).where(instruments.c.id.in_(scales))).all()
        )
        owner_name = conn.execute(select(owners.c.name).where(owners.c.id == owner.owner_id)).scalar_one()
    serials = [serial[i] for i in scales]
    return Labs(lab, other, owner_name, serials, passed, failed, revoked, foreign, tasks[4], tasks[3], tasks[:3])


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c


def rows_of(response, fmt: str) -> list[list[object]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment;")
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert response.content.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would not read the Chinese"
    return [list(r) for r in csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))]


def chinese_name(response) -> str:  # type: ignore[no-untyped-def]
    return unquote(response.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])


# ------------------------------------------------------------------ issued certificates


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_certificates_export_holds_every_certificate_of_the_institution_in_words(
    platform: Platform, labs: Labs, client: TestClient, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "CHUNK", 2)  # three certificates read two a statement
    log_in(client, labs.lab.approver.username)
    r = client.get(f"/work/certificates/export.{fmt}")
    header, *rows = rows_of(r, fmt)
    assert header == CERTIFICATE_HEADERS
    assert chinese_name(r) == f"已出具证书_{TODAY}.{fmt}"
    assert [row[0] for row in rows] == [labs.revoked, labs.failed, labs.passed]  # newest first, as the page
    assert labs.foreign not in {row[0] for row in rows}
    by_number = {row[0]: row for row in rows}
    issued = datetime.combine(TODAY, time()) if fmt == "xlsx" else TODAY.isoformat()  # Excel reads dates back as times
    empty = None if fmt == "xlsx" else ""  # the scales have no period, so no valid-until
    name, owner, serial = "电子计价秤", labs.owner_name, labs.serials
    assert by_number[labs.passed][1:] == [name, serial[0], owner, "检定", "合格", issued, empty, "有效"]
    assert by_number[labs.failed][1:] == [name, serial[1], owner, "检定结果通知书", "不合格", issued, empty, "有效"]
    assert by_number[labs.revoked][1:] == [name, serial[2], owner, "检定", "合格", issued, empty, "已撤销"]


def test_the_certificates_export_follows_the_pages_status_and_search(labs: Labs, client: TestClient) -> None:
    log_in(client, labs.lab.approver.username)
    page = client.get("/work/certificates?status=valid&q=SN").text
    assert 'href="/work/certificates/export.xlsx?q=SN&amp;status=valid"' in page
    assert 'href="/work/certificates/export.csv?q=SN&amp;status=valid"' in page
    r = client.get("/work/certificates/export.csv?status=revoked")
    assert [row[0] for row in rows_of(r, "csv")[1:]] == [labs.revoked]
    assert chinese_name(r) == f"已出具证书_已撤销_{TODAY}.csv"
    serial = labs.serials[1]
    assert [row[0] for row in rows_of(client.get(f"/work/certificates/export.csv?q={serial}"), "csv")[1:]] == [
        labs.failed
    ]
    assert rows_of(client.get("/work/certificates/export.csv?q=nothing-like-this"), "csv") == [CERTIFICATE_HEADERS]


def test_another_lab_exports_its_own_certificates_only(labs: Labs, client: TestClient) -> None:
    log_in(client, labs.other.approver.username)
    rows = rows_of(client.get("/work/certificates/export.xlsx"), "xlsx")[1:]
    assert [row[0] for row in rows] == [labs.foreign]


def test_the_certificates_export_needs_a_login(client: TestClient) -> None:
    r = client.get("/work/certificates/export.csv", follow_redirects=False)
    assert r.status_code in (302, 303, 401) and "attachment" not in r.headers.get("content-disposition", "")


# ------------------------------------------------------------------ the task queue

TASK_HEADERS = ["任务", "计量器具", "强检目录项目", "出厂编号", "使用单位", "类别", "状态", "最近变更"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_task_queue_export_holds_every_task_of_the_tab_in_words(
    labs: Labs, client: TestClient, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "CHUNK", 2)  # five tasks read two a statement
    log_in(client, labs.lab.verifier.username)
    r = client.get(f"/work/tasks/export.{fmt}?state=all")
    header, *rows = rows_of(r, fmt)
    assert header == TASK_HEADERS
    assert chinese_name(r) == f"任务队列_{TODAY}.{fmt}"
    ids = [*labs.issued, labs.recorded, labs.assigned]
    assert [int(str(row[0])) for row in rows] == sorted(ids)  # oldest first, as the page; not the other lab's
    by_id = {int(str(row[0])): row for row in rows}
    states = {labs.assigned: "待录入", labs.recorded: "待核验"} | {t: "已出证" for t in labs.issued}
    for i, task in enumerate(ids):
        assert by_id[task][1:7] == ["电子计价秤", "非自动衡器", labs.serials[i], labs.owner_name, "检定", states[task]]
        changed = by_id[task][7]
        assert isinstance(changed, datetime) if fmt == "xlsx" else str(changed).startswith(TODAY.isoformat()[:4])


def test_the_task_queue_export_follows_the_pages_tab_and_search(labs: Labs, client: TestClient) -> None:
    log_in(client, labs.lab.verifier.username)
    page = client.get("/work/tasks").text  # a verifier starts on the tasks to record
    assert 'href="/work/tasks/export.xlsx?state=assigned"' in page
    r = client.get("/work/tasks/export.csv")  # the same default tab as the page
    assert [int(row[0]) for row in rows_of(r, "csv")[1:]] == [labs.assigned]
    assert chinese_name(r) == f"任务队列_待录入_{TODAY}.csv"
    assert [int(row[0]) for row in rows_of(client.get("/work/tasks/export.csv?state=recorded"), "csv")[1:]] == [
        labs.recorded
    ]
    found = client.get(f"/work/tasks/export.csv?state=all&q={labs.serials[1]}")
    assert [int(row[0]) for row in rows_of(found, "csv")[1:]] == [labs.issued[1]]
    page = client.get(f"/work/tasks?state=all&q={labs.serials[1]}").text
    assert f'href="/work/tasks/export.csv?q={labs.serials[1]}&amp;state=all"' in page


def test_another_lab_exports_its_own_tasks_only(labs: Labs, client: TestClient) -> None:
    log_in(client, labs.other.verifier.username)
    rows = rows_of(client.get("/work/tasks/export.xlsx?state=all"), "xlsx")[1:]
    assert len(rows) == 1 and rows[0][4] != labs.owner_name
    assert int(str(rows[0][0])) not in [*labs.issued, labs.recorded, labs.assigned]
