"""A year of one institution's certificates printed into a folder as `<number>.pdf`, resumable.

Each PDF is written to `<number>.pdf.tmp`, flushed and renamed into place, then recorded as one line
`{"number", "sha256", "bytes", "status"}` of the folder's `manifest.jsonl` (appended, flushed, fsynced).
A rerun checks every file already there against its line — the printed status still the certificate's
status today, the file ending in `%%EOF`, its size and SHA-256 the recorded ones — and renders again
only what is missing, unrecorded, truncated, altered or out of date; leftover temporary files go.
Certificates are read from the database in batches of ids, never a whole year at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.sql import ColumnElement

from ..errors import InvalidInput, NotFound, RuleViolation
from ..platform import SHANGHAI, Platform, shanghai_today
from ..registry.tables import institutions
from ..settings import Settings
from .printed import certificate_pdf
from .service import status_on
from .tables import certificates

__all__ = [
    "MANIFEST",
    "RenderReport",
    "Recorded",
    "check_file",
    "read_manifest",
    "render_year",
    "year_bounds",
]

MANIFEST = "manifest.jsonl"
TEMP_SUFFIX = ".pdf.tmp"
LOCK = ".render.lock"
BATCH = 500  # certificate ids read per query
SAFE_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a number is a file name: no path in it

# why a certificate is (re)rendered; "new" is a first rendering, every other reason a redo
NEW = "new"
REASONS = {
    "missing": "文件缺失 / file missing",
    "unrecorded": "清单无记录 / not in the manifest",
    "truncated": "文件不完整 / truncated",
    "altered": "文件被改动 / altered",
    "status": "证书状态已变 / status changed",
}


@dataclass(frozen=True, slots=True)
class Recorded:
    """One manifest line: what was written for a certificate."""

    sha256: str
    bytes: int
    status: str  # as printed: valid, expired, revoked, superseded


@dataclass(slots=True)
class RenderReport:
    total: int = 0
    rendered: int = 0  # rendered for the first time
    checked: int = 0  # already present and found sound
    redone: Counter[str] = field(default_factory=Counter)  # rendered again, by reason
    temps_removed: int = 0

    @property
    def redone_total(self) -> int:
        return sum(self.redone.values())


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January 00:00, next 1 January 00:00) in Asia/Shanghai, as UTC instants."""
    return (
        datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC),
        datetime(year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(UTC),
    )


def _of_year(institution_id: int, year: int) -> ColumnElement[bool]:
    start, end = year_bounds(year)
    return and_(
        certificates.c.institution_id == institution_id,
        certificates.c.issued_at >= start,
        certificates.c.issued_at < end,
    )


def _institution_id(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        found = conn.execute(select(institutions.c.id).where(institutions.c.code == code)).scalar()
    if found is None:
        raise NotFound(f"没有代码为 {code} 的机构 / no institution with code {code}")
    return int(found)


def _stream(engine: Engine, where: ColumnElement[bool], upto: int) -> Iterator[Any]:
    """id, number, status and valid-until of each certificate, by id, a batch per short read."""
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(certificates.c.id, certificates.c.number, certificates.c.status, certificates.c.valid_until)
                .where(where, certificates.c.id > last, certificates.c.id <= upto)
                .order_by(certificates.c.id)
                .limit(BATCH)
            ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def read_manifest(path: Path) -> dict[str, Recorded]:
    """The manifest's lines by number (the last line of a number wins); a torn or foreign line is skipped."""
    recorded: dict[str, Recorded] = {}
    if not path.exists():
        return recorded
    with path.open("rb") as f:
        for raw in f:
            try:
                line = json.loads(raw)
                recorded[str(line["number"])] = Recorded(str(line["sha256"]), int(line["bytes"]), str(line["status"]))
            except (ValueError, KeyError, TypeError):
                continue
    return recorded


def check_file(path: Path, recorded: Recorded | None, status: str) -> str | None:
    """None when the file is there and sound; otherwise why it must be rendered (`new` or a reason)."""
    if not path.exists():
        return NEW if recorded is None else "missing"
    if recorded is None:
        return "unrecorded"
    if recorded.status != status:
        return "status"
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 64))
        if not f.read().rstrip(b"\r\n \t\x00").endswith(b"%%EOF"):
            return "truncated"
        if size != recorded.bytes:
            return "altered"
        f.seek(0)
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return None if digest == recorded.sha256 else "altered"


def _write_atomically(out_dir: Path, number: str, pdf: bytes) -> None:
    temp, final = out_dir / f"{number}{TEMP_SUFFIX}", out_dir / f"{number}.pdf"
    with temp.open("wb") as f:
        f.write(pdf)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, final)


def _append(manifest: IO[str], number: str, recorded: Recorded) -> None:
    line = {"number": number, "sha256": recorded.sha256, "bytes": recorded.bytes, "status": recorded.status}
    manifest.write(json.dumps(line, ensure_ascii=False) + "\n")
    manifest.flush()
    os.fsync(manifest.fileno())


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """One run per folder: a second one would remove the first one's temporary files."""
    with (out_dir / LOCK).open("a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuleViolation(
                f"另一个渲染正在写入 {out_dir} / another render is writing to {out_dir}", rule="busy"
            ) from None
        yield


def _open_manifest(path: Path) -> IO[str]:
    """For appending; a line torn by an interruption is closed first, so the next line stands alone."""
    f = path.open("a", encoding="utf-8")
    if path.stat().st_size:
        with path.open("rb") as r:
            r.seek(-1, os.SEEK_END)
            if r.read(1) != b"\n":
                f.write("\n")
    return f


def _render(platform: Platform, cert_id: int) -> tuple[str, bytes, str]:
    """The certificate's PDF and the status it prints (its status today)."""
    with platform.engine.connect() as conn:
        cert = conn.execute(select(certificates).where(certificates.c.id == cert_id)).one()
        return cert.number, certificate_pdf(conn, platform, cert), status_on(cert, shanghai_today())


Progress = Callable[[int, int], None]  # (done, total)

_worker_platform: Platform | None = None  # in a worker process: its own engine


def _worker_start(settings: Settings) -> None:
    global _worker_platform
    _worker_platform = Platform(settings)


def _worker_render(cert_id: int) -> tuple[str, bytes, str]:
    assert _worker_platform is not None
    return _render(_worker_platform, cert_id)


class _Folder:
    """The output folder during a run: its manifest, what it recorded, and the tally."""

    def __init__(self, out_dir: Path, manifest: IO[str], report: RenderReport, progress: Progress | None) -> None:
        self.out_dir, self.manifest, self.report, self.progress = out_dir, manifest, report, progress
        self.recorded = read_manifest(out_dir / MANIFEST)
        self.done = 0

    def check(self, number: str, status: str) -> str | None:
        if not SAFE_NUMBER.match(number):
            raise RuleViolation(f"证书编号不能作文件名 / number unfit as a file name: {number!r}")
        why = check_file(self.out_dir / f"{number}.pdf", self.recorded.pop(number, None), status)
        if why is None:
            self.report.checked += 1
            self._tick()
        return why

    def store(self, made: tuple[str, bytes, str], why: str) -> None:
        number, pdf, status = made
        _write_atomically(self.out_dir, number, pdf)
        _append(self.manifest, number, Recorded(hashlib.sha256(pdf).hexdigest(), len(pdf), status))
        if why == NEW:
            self.report.rendered += 1
        else:
            self.report.redone[why] += 1
        self._tick()

    def _tick(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, self.report.total)


def _render_all(platform: Platform, rows: Iterator[Any], folder: _Folder, workers: int) -> None:
    today = shanghai_today()
    if workers == 1:
        for row in rows:
            why = folder.check(row.number, status_on(row, today))
            if why is not None:
                folder.store(_render(platform, row.id), why)
        return
    pending: dict[Future[tuple[str, bytes, str]], str] = {}  # renders under way, and why each
    with ProcessPoolExecutor(workers, get_context("spawn"), _worker_start, (platform.settings,)) as pool:
        try:
            for row in rows:
                why = folder.check(row.number, status_on(row, today))
                if why is None:
                    continue
                pending[pool.submit(_worker_render, row.id)] = why
                if len(pending) >= 4 * workers:  # a bounded window: memory stays flat
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        folder.store(future.result(), pending.pop(future))
            for future in as_completed(list(pending)):
                folder.store(future.result(), pending.pop(future))
        finally:
            pool.shutdown(cancel_futures=True)


def render_year(
    platform: Platform,
    institution_code: str,
    year: int,
    out_dir: Path,
    workers: int = 1,
    progress: Progress | None = None,
) -> RenderReport:
    """Render (or check) every certificate the institution issued in `year` (Asia/Shanghai) into
    `out_dir`, whatever its status; `workers` > 1 renders in that many processes."""
    if workers < 1:
        raise InvalidInput("--workers 至少为 1 / --workers must be at least 1")
    where = _of_year(_institution_id(platform.engine, institution_code), year)
    with platform.engine.connect() as conn:
        upto, total = conn.execute(select(func.max(certificates.c.id), func.count()).where(where)).one()
    report = RenderReport(total=int(total))
    if not total:
        return report
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        for temp in out_dir.glob(f"*{TEMP_SUFFIX}"):
            temp.unlink()
            report.temps_removed += 1
        with _open_manifest(out_dir / MANIFEST) as manifest:
            folder = _Folder(out_dir, manifest, report, progress)
            _render_all(platform, _stream(platform.engine, where, int(upto)), folder, workers)
    return report
