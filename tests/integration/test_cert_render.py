"""`jiliang cert render`: a year of an institution's certificates printed into a folder, one PDF each,
on a world built at fixed moments (the year's edges in Asia/Shanghai, a revoked and a superseded
certificate, another institution); an interrupted run resumes by checking what is there."""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from jiliang.auth import Actor
from jiliang.certificates.render import MANIFEST, read_manifest
from jiliang.certificates.service import amend_certificate, revoke_certificate
from jiliang.certificates.tables import certificates
from jiliang.platform import SHANGHAI
from jiliang.registry.tables import institutions
from jiliang.types import clock_at
from jiliang.verification import service as workflow
from tests.integration.test_certificate_pdf import poppler  # noqa: F401  (fixture)
from tests.integration.test_cli import cli  # noqa: F401  (fixture)
from tests.support import world

WORLD_DAY = datetime(2026, 1, 10, 10, 0, tzinfo=SHANGHAI)  # labs made, most certificates issued


def _shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


@dataclass
class Year:
    numbers: list[str]  # D310104's certificates issued in 2026 (Shanghai)
    revoked: str
    superseded: str
    last_year: str  # D310104, 2025-12-31 23:30 Shanghai
    elsewhere: str  # D310101, 2026
    approver: Actor


@pytest.fixture
def year(platform) -> Year:
    with clock_at(WORLD_DAY):
        owners = {"D310104": world.make_owner(platform, "310104"), "D310101": world.make_owner(platform, "310101")}
        labs = {code: world.make_lab(platform, code, ["nawi"]) for code in owners}  # standards calibrated 2025-12-11

    def issue(code: str, at: datetime) -> str:
        with clock_at(at):
            owner = owners[code]
            [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
            return world.verify(platform, labs[code], task)

    last_year = issue("D310104", _shanghai(2025, 12, 31, 23, 30))  # 15:30 UTC
    first = issue("D310104", _shanghai(2026, 1, 1, 0, 30))  # 16:30 UTC on 31 December: already 2026 here
    numbers = [first] + [issue("D310104", WORLD_DAY) for _ in range(4)]
    elsewhere = issue("D310101", WORLD_DAY)
    approver = labs["D310104"].approver
    with clock_at(WORLD_DAY):
        revoke_certificate(platform.uow(), world.confirm(platform, approver), numbers[1], "溯源失效")
        amended = amend_certificate(
            platform.uow(), world.confirm(platform, approver), numbers[2], {"owner.name": "更正后的单位"}, "名称有误"
        )
    return Year(numbers + [amended], numbers[1], numbers[2], last_year, elsewhere, approver)


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _said(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(result.output.split())


def _render(cli, out: Path, *extra: str):  # type: ignore[no-untyped-def]  # noqa: F811
    return cli("cert", "render", "--institution", "D310104", "--year", "2026", "--out", str(out), *extra)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_a_year_renders_every_certificate_of_the_institution_and_no_other(
    cli,  # noqa: F811
    platform,
    year,
    poppler,  # noqa: F811
    tmp_path,
) -> None:
    out = tmp_path / "out"
    r = _render(cli, out, "--workers", "2")
    assert r.exit_code == 0, r.output
    with platform.engine.connect() as c:
        d310104 = c.execute(select(institutions.c.id).where(institutions.c.code == "D310104")).scalar_one()
        in_db = set(
            c.execute(
                select(certificates.c.number).where(
                    certificates.c.institution_id == d310104, certificates.c.year == 2026
                )
            ).scalars()
        )
    assert in_db == set(year.numbers)
    assert {p.name for p in out.glob("*.pdf")} == {f"{n}.pdf" for n in in_db}
    assert not (out / f"{year.last_year}.pdf").exists() and not (out / f"{year.elsewhere}.pdf").exists()
    manifest = read_manifest(out / MANIFEST)
    for number in in_db:
        pdf = (out / f"{number}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert manifest[number].sha256 == hashlib.sha256(pdf).hexdigest() and manifest[number].bytes == len(pdf)
        assert number in _text(out / f"{number}.pdf")
    assert manifest[year.revoked].status == "revoked" and "本证书已撤销" in _text(out / f"{year.revoked}.pdf")
    assert manifest[year.superseded].status == "superseded"
    assert "本证书已被更正" in _text(out / f"{year.superseded}.pdf")
    assert "rendered 6" in _said(r) and "checked 0" in _said(r) and "redone 0" in _said(r)


def test_an_interrupted_run_resumes_redoing_only_what_is_damaged(
    cli,  # noqa: F811
    platform,
    year,
    poppler,  # noqa: F811
    tmp_path,
) -> None:
    out = tmp_path / "out"
    assert _render(cli, out).exit_code == 0
    untouched, deleted, truncated, altered, unrecorded = (year.numbers[i] for i in (0, 1, 2, 3, 4))
    still = [n for n in year.numbers if n not in (deleted, truncated, altered, unrecorded)]
    stamps = {n: _stamp(out / f"{n}.pdf") for n in still}
    (out / f"{deleted}.pdf").unlink()
    body = (out / f"{truncated}.pdf").read_bytes()
    (out / f"{truncated}.pdf").write_bytes(body[: len(body) // 2])
    body = bytearray((out / f"{altered}.pdf").read_bytes())
    body[len(body) // 2] ^= 0x01  # one bit; same size, still ends with %%EOF
    (out / f"{altered}.pdf").write_bytes(bytes(body))
    # the run was cut off while writing the last manifest line (of `unrecorded`), and during a temp file
    lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if json.loads(line)["number"] != unrecorded]
    torn = next(line for line in lines if json.loads(line)["number"] == unrecorded)[:30]
    (out / MANIFEST).write_text("".join(kept) + torn, encoding="utf-8")
    (out / f"{untouched}.pdf.tmp").write_bytes(b"%PDF-1.4 half")
    r = _render(cli, out)
    assert r.exit_code == 0, r.output
    said = _said(r)
    assert "rendered 0" in said and "checked 2" in said and "redone 4" in said, said
    assert "temp files removed 1" in said
    for reason in ("file missing 1", "truncated 1", "altered 1", "not in the manifest 1"):
        assert reason in said, reason
    assert {n: _stamp(out / f"{n}.pdf") for n in still} == stamps  # checked, not rewritten
    assert not list(out.glob("*.tmp"))
    manifest = read_manifest(out / MANIFEST)
    for number in year.numbers:
        pdf = (out / f"{number}.pdf").read_bytes()
        assert manifest[number].sha256 == hashlib.sha256(pdf).hexdigest()
    assert deleted in _text(out / f"{deleted}.pdf") and truncated in _text(out / f"{truncated}.pdf")

    # revoked since: its file says "valid", so it is printed again; the rest is checked
    revoke_certificate(platform.uow(), world.confirm(platform, year.approver), untouched, "示值超差")
    r = _render(cli, out)
    said = _said(r)
    assert "checked 5" in said and "redone 1" in said and "status changed 1" in said, said
    assert read_manifest(out / MANIFEST)[untouched].status == "revoked"
    assert "本证书已撤销" in _text(out / f"{untouched}.pdf")


def test_an_unknown_institution_an_empty_year_and_a_busy_folder_are_said_plainly(
    cli,  # noqa: F811
    year,
    tmp_path,
) -> None:
    r = cli("cert", "render", "--institution", "NOPE", "--year", "2026", "--out", str(tmp_path / "a"))
    assert r.exit_code == 2 and "no institution with code NOPE" in " ".join(r.stderr.split())
    r = cli("cert", "render", "--institution", "D310104", "--year", "2024", "--out", str(tmp_path / "b"))
    assert r.exit_code == 0 and "no certificates issued by D310104 in 2024" in _said(r)
    assert not (tmp_path / "b").exists()
    busy = tmp_path / "c"
    busy.mkdir()
    with (busy / ".render.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        r = _render(cli, busy)
    assert r.exit_code == 2 and "another render is writing" in " ".join(r.stderr.split())
    assert not list(busy.glob("*.pdf"))
