"""Command line for the ledger: checkpoints, proofs, key rotation and compromise, the auditor, and
the witness."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["ledger_app", "witness_app", "audit_command"]

ledger_app = typer.Typer(help="防篡改账本 / the tamper-evident ledger", no_args_is_help=True)
witness_app = typer.Typer(help="独立见证方 / an independent witness that cosigns checkpoints", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _platform() -> Any:
    from ..cli import _platform as platform

    return platform()


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]错误 / error:[/red] {message}")
    raise typer.Exit(code)


@ledger_app.command("checkpoint")
def checkpoint() -> None:
    """立即签发检查点 / sign a checkpoint of the current tree now (no-op if nothing was appended)."""
    from .checkpoints import issue_checkpoint

    issued = issue_checkpoint(_platform())
    if issued is None:
        _fail("账本为空 / the ledger is empty")
        return
    console.print(f"检查点 / checkpoint {issued.number}{'' if issued.new else ' (unchanged)'}: {issued.size} leaves")
    print(issued.note, end="")


@ledger_app.command("show")
def show(
    number: Annotated[int | None, typer.Argument(help="检查点号 / checkpoint number (default latest)")] = None,
) -> None:
    """显示检查点 / print a checkpoint's signed note."""
    from .checkpoints import get_checkpoint, latest_checkpoint

    with _platform().engine.connect() as conn:
        row = latest_checkpoint(conn) if number is None else get_checkpoint(conn, number)
    if row is None:
        _fail("没有该检查点 / no such checkpoint")
    print(row.note, end="")


@ledger_app.command("prove")
def prove(
    index: Annotated[int | None, typer.Option(help="叶子序号 / leaf index")] = None,
    certificate: Annotated[str | None, typer.Option(help="证书编号 / certificate number")] = None,
    checkpoint: Annotated[int | None, typer.Option(help="检查点号 / checkpoint (default latest)")] = None,
) -> None:
    """包含证明 / inclusion proof of a leaf (or a certificate's latest leaf) against a checkpoint, as JSON."""
    from sqlalchemy import select

    from .bundle import BUNDLE_FORMAT, ledger_bundle
    from .checkpoints import get_checkpoint, latest_checkpoint
    from .tables import ledger_leaves
    from .tiles import TileReader

    with _platform().engine.connect() as conn:
        if certificate is not None:
            bundle = ledger_bundle(conn, "certificate", certificate, checkpoint)
            if bundle is None:
                _fail(f"账本中没有证书 {certificate} / certificate {certificate} is not in the ledger")
            print(json.dumps(bundle, ensure_ascii=False, indent=2))
            return
        if index is None:
            _fail("请给出 --index 或 --certificate / give --index or --certificate")
            return
        cp = latest_checkpoint(conn) if checkpoint is None else get_checkpoint(conn, checkpoint)
        if cp is None or not 0 <= index < cp.size:
            _fail(f"叶子 {index} 不在该检查点内 / leaf {index} is not covered by that checkpoint")
        data = conn.execute(select(ledger_leaves.c.data).where(ledger_leaves.c.idx == index)).scalar_one()
        proof = TileReader(conn).inclusion(index, cp.size)
    bundle = {
        "format": BUNDLE_FORMAT,
        "index": index,
        "leaf": bytes(data).decode(),
        "checkpoint_number": cp.number,
        "checkpoint": cp.note,
        "inclusion_proof": [base64.b64encode(p).decode() for p in proof],
    }
    print(json.dumps(bundle, ensure_ascii=False, indent=2))


@ledger_app.command("consistency")
def consistency(first: int, second: int) -> None:
    """一致性证明 / consistency proof between two checkpoints, as JSON."""
    from .checkpoints import get_checkpoint
    from .tiles import TileReader

    with _platform().engine.connect() as conn:
        a, b = get_checkpoint(conn, first), get_checkpoint(conn, second)
        if a is None or b is None or a.size > b.size:
            _fail("需要两个检查点，前者不大于后者 / two checkpoints, the first not larger than the second")
        proof = TileReader(conn).consistency(a.size, b.size)
    out = {"first_size": a.size, "second_size": b.size, "proof": [base64.b64encode(p).decode() for p in proof]}
    print(json.dumps(out, indent=2))


def _admin(platform: Any) -> Any:
    from ..cli import _system_actor

    with platform.engine.connect() as conn:
        return _system_actor(conn)


@ledger_app.command("rotate-key")
def rotate_key(sm2: Annotated[bool, typer.Option(help="轮换 SM2 副签密钥 / the SM2 co-signing key")] = False) -> None:
    """轮换平台检查点密钥 / rotate the platform's checkpoint key (old public keys stay published)."""
    from .keys import rotate_platform_key

    platform = _platform()
    console.print(f"新密钥 / new key: {rotate_platform_key(platform.uow(), _admin(platform), sm2)}")


@ledger_app.command("compromise")
def compromise(
    kid: str,
    since: Annotated[
        str, typer.Option("--from", help="ISO 8601 时刻（含时区）/ from when, e.g. 2026-11-01T00:00:00+08:00")
    ],
) -> None:
    """标记密钥泄露 / mark a key compromised from a moment: what it signed after is flagged everywhere."""
    from .keys import mark_compromised

    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        _fail(f"--from {since!r} 不是 ISO 8601 时刻 / not an ISO 8601 date-time")
        return
    if moment.tzinfo is None:
        _fail("--from 需要时区 / --from needs a time zone (e.g. +08:00)")
    platform = _platform()
    replacement = mark_compromised(platform.uow(), _admin(platform), kid, moment)
    console.print(f"{kid}: compromised from {moment.isoformat()}")
    if replacement:
        console.print(f"已换用新密钥 / replaced by the new key {replacement}")


def audit_command(
    from_checkpoint: Annotated[int | None, typer.Option(help="从该检查点起 / trust up to this checkpoint")] = None,
    witness_log: Annotated[Path | None, typer.Option(help="见证方的 cosigned.log / the witness's cosigned.log")] = None,
    witness_key: Annotated[Path | None, typer.Option(help="见证方公钥文件 / the witness's witness.pub")] = None,
    tree_only: Annotated[bool, typer.Option(help="只核对树与检查点 / the tree and checkpoints only")] = False,
) -> None:
    """审计账本 / recompute the ledger and check every record, checkpoint and witness copy; exit 1 on any finding."""
    from .auditor import audit
    from .witness import witness_verifier

    platform = _platform()
    key_file = witness_key or platform.settings.witness_key
    witness = witness_verifier(Path(key_file).read_text(encoding="utf-8")) if key_file else None
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(f"审计 / audit: {stage}", total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        try:
            report = audit(platform, from_checkpoint, witness_log, witness, progress, records=not tree_only)
        except ValueError as exc:
            _fail(str(exc))
            return
    console.print(
        f"{report.leaves} 个叶子 / leaves, {report.records} 条记录 / records, "
        f"{report.checkpoints} 个检查点 / checkpoints"
    )
    if report.clean:
        console.print("[green]未发现问题 / no findings[/green]")
        return
    table = Table(title=f"发现 {len(report.findings)} 处问题 / findings")
    for col in ("what", "table", "id", "detail"):
        table.add_column(col)
    for f in report.findings:
        table.add_row(f.what, f.table, f.id, f.detail)
    console.print(table)
    raise typer.Exit(1)


@witness_app.command("init")
def witness_init(
    directory: Annotated[Path, typer.Option("--dir", help="见证方目录 / the witness's directory")],
    name: Annotated[str, typer.Option(help="见证方名称 / key name, e.g. samr.sh.gov.cn/witness")],
) -> None:
    """生成见证方密钥 / create a witness key; prints the public key file to give to the platform."""
    from .witness import init_witness

    try:
        print(init_witness(directory, name), end="")
    except (FileExistsError, ValueError) as exc:
        _fail(str(exc))


@witness_app.command("trust")
def witness_trust(
    directory: Annotated[Path, typer.Option("--dir")],
    origin: Annotated[str, typer.Option(help="平台账本名 / the log's origin (JILIANG_LEDGER_ORIGIN)")],
    key: Annotated[Path, typer.Option(help="平台检查点公钥 PEM / the platform checkpoint public key (PEM)")],
) -> None:
    """信任某平台账本的检查点密钥 / trust a platform's checkpoint key for an origin."""
    from .witness import Witness

    Witness(directory).trust_log(origin, key.read_text(encoding="utf-8"))
    console.print(f"{origin}: trusted")


@witness_app.command("serve")
def witness_serve(
    directory: Annotated[Path, typer.Option("--dir")],
    host: str = "127.0.0.1",
    port: int = 8700,
) -> None:
    """运行见证方 / run the witness (POST /add-checkpoint, c2sp.org/tlog-witness)."""
    from .witness import Witness, serve_witness

    server = serve_witness(Witness(directory), host, port)
    console.print(f"witness on http://{host}:{port}/add-checkpoint")
    server.serve_forever()
