"""The lab's lists exported to Excel and CSV from their pages: the issued certificates, the task queue,
the standards and the staff — every row the page's filters and search find (read by key in chunks,
not only the page shown), headed in Chinese, with words and names where the data holds codes, and only
the institution's own (a second lab's rows never appear)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiliang.api import create_app
from jiliang.certificates.service import revoke_certificate
from jiliang.platform import Platform, shanghai_today
from jiliang.registry import service as registry
from jiliang.registry.tables import institutions, instruments, owners, standards, users
from jiliang.verification import service as workflow
from jiliang.web import downloads
from tests.conftest import ADMIN_PASSWORD
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
    registry.add_standard(
        platform.uow(),
        lab.manager,
        lab.institution_id,
        "砝码组 M1",
        "[2025]沪量标900号",
        TODAY + timedelta(days=400),
        ["nawi"],
    )
    sid = max(standard_rows(platform, lab)[n].id for n in standard_rows(platform, lab))
    registry.record_standard_calibration(
        platform.uow(),
        lab.manager,
        sid,
        "上海市计量测试技术研究院",
        "CAL-M1",
        TODAY - timedelta(days=10),
        TODAY + timedelta(days=300),
        True,
    )
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


# ------------------------------------------------------------------ standards and staff

STANDARD_HEADERS = [
    "计量标准",
    "适用项目",
    "计量标准考核证书",
    "考核证书有效期至",
    "考核证书状态",
    "校准机构",
    "校准证书编号",
    "校准有效期至",
    "校准状态",
    "测量不确定度",
]
STAFF_HEADERS = ["姓名", "用户名", "角色", "资格"]


def standard_rows(platform: Platform, lab: world.Lab) -> dict[str, tuple]:  # type: ignore[type-arg]
    with platform.engine.connect() as conn:
        found = conn.execute(select(standards).where(standards.c.institution_id == lab.institution_id))
        return {r.name: r for r in found}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_standards_export_holds_every_standard_of_the_institution(
    platform: Platform, labs: Labs, client: TestClient, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "CHUNK", 1)
    log_in(client, labs.lab.manager.username)
    r = client.get(f"/lab/standards/export.{fmt}")
    header, *rows = rows_of(r, fmt)
    assert header == STANDARD_HEADERS
    assert chinese_name(r) == f"计量标准_{TODAY}.{fmt}"
    mine = standard_rows(platform, labs.lab)
    assert sorted(str(row[0]) for row in rows) == sorted(mine) and len(mine) == 2
    assert not set(standard_rows(platform, labs.other)) & {row[0] for row in rows}
    day = (lambda d: datetime.combine(d, time())) if fmt == "xlsx" else (lambda d: d.isoformat())
    for row in rows:
        s = mine[str(row[0])]
        assert row[1] == "非自动衡器"
        assert row[2:5] == [s.examination_certificate_no, day(s.examination_valid_until), "有效"]
        assert row[5:9] == ["上海市计量测试技术研究院", s.calibration_certificate_no, day(s.calibration_due), "有效"]


def test_the_standards_export_follows_the_search(platform: Platform, labs: Labs, client: TestClient) -> None:
    log_in(client, labs.lab.manager.username)
    name = sorted(standard_rows(platform, labs.lab))[-1]
    page = client.get("/lab/standards").text
    assert 'href="/lab/standards/export.xlsx"' in page and 'href="/lab/standards/export.csv"' in page
    rows = rows_of(client.get("/lab/standards/export.csv", params={"q": name}), "csv")
    assert [row[0] for row in rows[1:]] == [name]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_staff_export_holds_every_person_with_roles_and_qualifications_in_words(
    platform: Platform, labs: Labs, client: TestClient, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "CHUNK", 2)
    log_in(client, labs.lab.manager.username)
    r = client.get(f"/lab/staff/export.{fmt}")
    header, *rows = rows_of(r, fmt)
    assert header == STAFF_HEADERS
    assert chinese_name(r) == f"人员资质_{TODAY}.{fmt}"
    with platform.engine.connect() as conn:
        people = conn.execute(
            select(users.c.username).where(users.c.institution_id == labs.lab.institution_id).order_by(users.c.id)
        ).scalars()
        assert [row[1] for row in rows] == list(people)  # in the page's order, all of them
    by_user = {row[1]: row for row in rows}
    assert labs.other.verifier.username not in by_user
    verifier = by_user[labs.lab.verifier.username]
    assert verifier[0] == labs.lab.verifier.display_name and verifier[2] == "检定员"
    assert str(verifier[3]).startswith("非自动衡器 Q-") and str(verifier[3]).endswith("（有效）")
    assert by_user[labs.lab.manager.username][3] in ("", None)  # a manager holds no qualification


def test_the_staff_export_follows_the_search_and_needs_an_institution(labs: Labs, client: TestClient) -> None:
    log_in(client, labs.lab.manager.username)
    assert 'href="/lab/staff/export.xlsx"' in client.get("/lab/staff").text
    rows = rows_of(client.get("/lab/staff/export.csv", params={"q": labs.lab.checker.username}), "csv")
    assert [row[1] for row in rows[1:]] == [labs.lab.checker.username]


def test_an_administrators_task_export_says_whose_each_task_is(
    platform: Platform, labs: Labs, client: TestClient
) -> None:
    with platform.engine.connect() as conn:
        name = conn.execute(select(institutions.c.name_zh).where(institutions.c.id == labs.lab.institution_id)).scalar()
    log_in(client, "admin", ADMIN_PASSWORD)
    header, *rows = rows_of(client.get("/work/tasks/export.xlsx?state=all"), "xlsx")
    assert header == [*TASK_HEADERS[:5], "签发机构", *TASK_HEADERS[5:]]
    whose = {int(str(row[0])): row[5] for row in rows}
    assert {whose[t] for t in (*labs.issued, labs.recorded, labs.assigned)} == {name}
    assert len({w for w in whose.values()}) == 2  # both labs' queues, each named
