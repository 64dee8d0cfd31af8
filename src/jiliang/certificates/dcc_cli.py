"""`jiliang cert import-dcc`: a DCC file recorded as the calibration certificate of one of an
institution's measurement standards (registry.dcc_calibration)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from ..cli_support import fail

__all__ = ["import_dcc_command"]

console = Console()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"无法读取{what} {path} / cannot read {path}: {exc.strerror}")


def _say(text: str) -> None:
    """A line with the DCC's own text in it, printed as written (no Rich markup)."""
    console.print(text, markup=False, highlight=False)


def _where(lower: str | None, upper: str | None, unit: str | None) -> str:
    if lower is None and upper is None:
        return "未说明 / not stated"
    if lower == upper:
        return f"{lower} {unit or ''}".strip()
    return f"{lower or '…'} ~ {upper or '…'} {unit or ''}".strip()


def import_dcc_command(
    file: Annotated[Path, typer.Argument(help="DCC 文件（XML） / the DCC file (XML)")],
    standard: Annotated[int, typer.Option("--standard", help="计量标准编号 / the standard's id")],
    interval_months: Annotated[
        int | None,
        typer.Option(
            "--interval-months",
            help="本机构按 JJF 1139 确定的校准间隔（月） / your recalibration interval in months (JJF 1139)",
        ),
    ] = None,
    trust_root: Annotated[
        Path | None,
        typer.Option("--trust-root", help="可信根证书（PEM），用于核验签名人证书 / a trusted root CA (PEM)"),
    ] = None,
    institution: Annotated[
        str | None,
        typer.Option(help="机构代码：标准须属于该机构 / institution code: the standard must be this institution's"),
    ] = None,
) -> None:
    """把 DCC 记为本机构某计量标准的校准证书 / record a DCC as the calibration certificate of a standard."""
    from ..cli import _platform, _system_actor
    from ..errors import JiliangError
    from ..registry.dcc_calibration import import_dcc_calibration
    from ..registry.tables import institutions

    if interval_months is None:
        fail(
            "DCC 不给出有效期：请用 --interval-months 给出本机构按 JJF 1139 确定的校准间隔 / a DCC carries no "
            "due date: give your institution's recalibration interval (JJF 1139) with --interval-months N"
        )
    data = _read(file, " DCC 文件")
    root = None if trust_root is None else _read(trust_root, "根证书")
    platform = _platform()
    with platform.engine.connect() as conn:
        actor = _system_actor(conn)
        institution_id = None
        if institution is not None:
            institution_id = conn.execute(select(institutions.c.id).where(institutions.c.code == institution)).scalar()
            if institution_id is None:
                fail(f"没有机构 {institution} / no institution {institution}")
    try:
        done = import_dcc_calibration(
            platform.uow(), actor, standard, data, interval_months, root, institution_id=institution_id
        )
    except JiliangError as exc:
        fail(f"{file}: {exc.message}")
        return
    _say(f"计量标准 / standard {done.standard_id}《{done.standard_name}》")
    _say(f"校准机构 / calibrated by: {done.calibrated_by}")
    _say(f"证书编号 / certificate: {done.certificate_no}")
    _say(f"校准日期 / calibrated on: {done.calibrated_on}    有效期至 / due: {done.due}")
    _say(f"符合要求 / in tolerance: {'是 / yes' if done.in_tolerance else '否 / no'}")
    _say(f"签名 / signature: {done.signature.text()}")
    table = Table(title="证书给出的扩展不确定度 / expanded uncertainty stated")
    for col in ("量 / quantity", "点或范围 / point or range", "U", "k"):
        table.add_column(col)
    for r in done.ranges:
        table.add_row(
            Text(r.quantity),
            Text(_where(r.lower, r.upper, r.unit)),
            Text(f"{r.expanded_uncertainty} {r.uncertainty_unit}"),
            Text(r.coverage_factor),
        )
    console.print(table)
    _say(
        f"整份证书 / whole certificate: U = {done.expanded_uncertainty} {done.uncertainty_unit} "
        f"(k = {done.coverage_factor})"
        + (
            ""
            if done.current
            else "；早于已记录的校准，当前校准不变 / earlier than a recorded calibration: the current one stays"
        )
    )
    for note in done.notes:
        _say(f"注 / note: {note}")
