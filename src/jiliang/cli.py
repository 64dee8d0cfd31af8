"""The `jiliang` command line: init, demo data, serve, certificate tools (list/show/export/verify), the
ledger (checkpoints, proofs, audit) and the witness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from .certificates.dcc_cli import import_dcc_command
from .certificates.x509_cli import x509_app
from .ledger.cli import audit_command, ledger_app, witness_app
from .measurement.cli import uncertainty_app
from .registry.institution_cli import institution_app
from .reminders.cli import jobs_app
from .report_cli import report_command
from .settings import Settings

app = typer.Typer(help="jiliang 计量 — 上海法制计量平台 / legal-metrology platform", no_args_is_help=True)
cert_app = typer.Typer(help="电子证书 / electronic certificates", no_args_is_help=True)
app.add_typer(cert_app, name="cert")
cert_app.command("import-dcc")(import_dcc_command)
app.add_typer(x509_app, name="pdf-cert")
app.add_typer(institution_app, name="institution")
app.add_typer(ledger_app, name="ledger")
app.add_typer(witness_app, name="witness")
app.add_typer(uncertainty_app, name="uncertainty")
app.add_typer(jobs_app, name="jobs")
app.command("audit")(audit_command)
app.command("report")(report_command)
console = Console()
err = Console(stderr=True)
DEMO_CHECKPOINT_INTERVAL = 10  # seconds


def demo_settings(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """`serve --demo`: checkpoints every few seconds (unless JILIANG_CHECKPOINT_INTERVAL says otherwise),
    so a certificate approved a moment ago shows its verified ledger proof on the QR page at once."""
    if "JILIANG_CHECKPOINT_INTERVAL" in environ:
        return settings
    return replace(settings, checkpoint_interval=DEMO_CHECKPOINT_INTERVAL)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]错误 / error:[/red] {message}")
    raise typer.Exit(code)


ADMIN_PASSWORD_FILE = "admin-password.txt"  # in the data dir, mode 0600: the first admin's password


def _keep_admin_password(data_dir: Path, password: str) -> Path:
    """The new admin account's password, readable by the server's own user only (like the keys)."""
    path = data_dir / ADMIN_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # also when the file was there before
        out.write(password + "\n")
    return path


def _tell_admin_password(data_dir: Path, password: str) -> None:
    """Where the password of the admin account made just now is: never into a log. A password chosen in
    JILIANG_ADMIN_PASSWORD is the operator's already; a generated one goes to a file only the server's
    user can read, and is shown on an interactive terminal too."""
    if os.environ.get("JILIANG_ADMIN_PASSWORD"):
        console.print(
            "已创建管理员 admin，密码为 JILIANG_ADMIN_PASSWORD 所设 / admin created with JILIANG_ADMIN_PASSWORD"
        )
        return
    path = _keep_admin_password(data_dir, password)
    if console.is_terminal:
        console.print(f"[bold]管理员 / admin:[/bold] admin / {password}  (请妥善保存 / keep it safe)", highlight=False)
    console.print(
        f"管理员 admin 的初始密码已写入 {path}（仅本用户可读）；登录并修改密码后请删除该文件 / the admin's "
        f"first password is in {path} (mode 0600): log in, change it, then delete the file",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _init(quiet: bool = False) -> Any:
    from .bootstrap import init_platform

    platform, report = init_platform(Settings.from_env())
    if not quiet:
        console.print(f"数据库 / database: {platform.engine.url.render_as_string(hide_password=True)}")
        console.print(f"数据目录 / data dir: {platform.settings.data_dir}")
        if report.seeded:
            console.print("已载入参考数据（区、强检目录、机构）/ reference data loaded")
        if report.keys_created:
            console.print(f"已生成 {report.keys_created} 个机构签名密钥 / institution keys created")
    if report.admin_password:  # even when quiet: the password must not be lost
        _tell_admin_password(platform.settings.data_dir, report.admin_password)
    return platform


@app.command()
def init() -> None:
    """创建或升级数据库并生成密钥 / create or upgrade the database (Alembic) and keys."""
    _init()


def _load_demo(platform: Any, instruments: int, seed: int) -> Any:
    from .demo import generate_demo

    with Progress(
        TextColumn("演示数据 / demo data"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("demo", total=instruments)
        report = generate_demo(
            platform, instruments, seed, lambda done, total: bar.update(task, completed=done, total=total)
        )
    return report


def _print_logins(report: Any) -> None:
    """The demo logins: a table on a terminal; into a pipe or a log, whole lines separated by tabs (a
    table would be cut to 80 columns there)."""
    header = ("username", "password", "role", "说明 / description")
    rows = [(x.username, x.password, x.role, f"{x.description_zh} / {x.description_en}") for x in report.logins]
    if console.is_terminal:
        table = Table(*header, title="演示账号 / demo logins")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    typer.echo("演示账号 / demo logins")
    for row in (header, *rows):
        typer.echo("\t".join(row))


@app.command("demo-data")
def demo_data(
    instruments: Annotated[int, typer.Option(min=1, help="器具数量 / number of instruments")] = 1000,
    seed: Annotated[int, typer.Option(help="随机种子 / random seed")] = 0,
) -> None:
    """生成上海演示数据 / realistic synthetic Shanghai data with several years of history."""
    platform = _init(quiet=True)
    report = _load_demo(platform, instruments, seed)
    console.print(report.summary())
    _print_logins(report)


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="首次启动时载入演示数据 / load demo data on first start")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
    demo_instruments: Annotated[int, typer.Option(help="演示器具数量 / demo instruments")] = 1000,
) -> None:
    """启动平台 / run the platform (API at /api, OpenAPI at /docs)."""
    import uvicorn

    from .api import create_app
    from .registry.tables import users

    platform = _init()
    if demo:
        with platform.engine.connect() as conn:
            loaded = conn.execute(select(users.c.id).where(users.c.username == "demo-owner")).first() is not None
        report = None if loaded else _load_demo(platform, demo_instruments, 0)
        if report:
            console.print(report.summary())
            _print_logins(report)
        else:
            console.print("演示数据已存在；演示账号密码 / demo data present; demo logins use password: jiliang-demo")
        platform.settings = demo_settings(platform.settings, os.environ)
    console.print(f"http://{host}:{port}/  (API: http://{host}:{port}/docs)")
    from .ledger.schedule import with_checkpoint_schedule

    uvicorn.run(
        with_checkpoint_schedule(create_app(platform, demo=demo), platform), host=host, port=port, log_level="warning"
    )


def _sqlite_file(database_url: str) -> Path | None:
    """The file an SQLite URL names (relative to the working directory, as SQLAlchemy opens it); None for
    another database or an in-memory one."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _platform() -> Any:
    from .platform import Platform

    settings = Settings.from_env()
    file = _sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        _fail(f"数据库 {file} 不存在，请先运行 jiliang init / no database at {file}: run `jiliang init` first")
    return Platform(settings)


def _system_actor(conn: Any) -> Any:
    """The CLI runs on the server with the database's own rights: it acts as the administrator."""
    from .auth import load_actor
    from .registry.tables import users

    return load_actor(conn, conn.execute(select(users.c.id).where(users.c.username == "admin")).scalar_one())


@cert_app.command("list")
def cert_list(
    institution: Annotated[str | None, typer.Option(help="机构代码 / institution code")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: int = 50,
) -> None:
    """列出证书 / list certificates."""
    from .certificates.queries import list_certificates
    from .certificates.routes import certificate_summary

    with _platform().engine.connect() as conn:
        rows = [certificate_summary(c) for c in list_certificates(conn, _system_actor(conn), institution, limit)]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table()
    for col in ("number", "kind", "current_status", "instrument", "serial_no", "valid_until", "conclusion"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            *(
                str(r[c] or "")
                for c in ("number", "kind", "current_status", "instrument", "serial_no", "valid_until", "conclusion")
            )
        )
    console.print(table)


def _document(number: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from .certificates.queries import get_certificate, signature_valid
    from .certificates.routes import certificate_summary
    from .certificates.service import certificate_document
    from .errors import NotFound

    with _platform().engine.connect() as conn:
        try:
            cert = get_certificate(conn, _system_actor(conn), number)
        except NotFound as exc:
            _fail(exc.message)
        summary = certificate_summary(cert) | {"signature_valid": signature_valid(conn, cert)}
        return certificate_document(cert), summary


@cert_app.command("show")
def cert_show(number: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """显示证书 / show one certificate."""
    doc, summary = _document(number)
    if as_json:
        print(json.dumps(summary | {"payload": doc["payload"]}, ensure_ascii=False, indent=2, default=str))
        return
    for k, v in summary.items():
        console.print(f"{k}: {v}")


@cert_app.command("export")
def cert_export(
    number: str,
    output: Annotated[Path, typer.Option("-o", "--output")],
    fmt: Annotated[str, typer.Option("--format")] = "json",
) -> None:
    """导出证书：签名的证书文件（json，含账本证明）、可打印的 PDF 或 DCC XML / export the signed certificate
    file (json, with its ledger proof), the printable PDF or the PTB DCC XML."""
    from .ledger.bundle import ledger_bundle
    from .ledger.checkpoints import issue_checkpoint

    if fmt not in ("json", "pdf", "dcc"):
        _fail(f"不支持的格式 {fmt}（json、pdf 或 dcc）/ unsupported format {fmt}: json, pdf or dcc")
    doc, _ = _document(number)
    platform = _platform()
    if fmt in ("pdf", "dcc"):
        from .certificates.printed import certificate_dcc, certificate_pdf
        from .certificates.tables import certificates
        from .errors import JiliangError

        with platform.engine.connect() as conn:
            cert = conn.execute(select(certificates).where(certificates.c.number == number)).one()
            try:
                made = certificate_pdf(conn, platform, cert) if fmt == "pdf" else certificate_dcc(platform, cert)
            except JiliangError as exc:
                _fail(exc.message)
        output.write_bytes(made)
        console.print(f"{number} → {output}")
        return
    with platform.engine.connect() as conn:
        bundle = ledger_bundle(conn, "certificate", number)
    if bundle is not None and "pending" in bundle:  # not yet in a checkpoint: sign one now
        issue_checkpoint(platform)
        with platform.engine.connect() as conn:
            bundle = ledger_bundle(conn, "certificate", number)
    doc["ledger"] = bundle
    output.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"{number} → {output}")


@cert_app.command("render")
def cert_render(
    institution: Annotated[str, typer.Option(help="机构代码 / institution code")],
    year: Annotated[int, typer.Option(help="签发年份（上海时间）/ year of issue (Asia/Shanghai)")],
    out: Annotated[Path, typer.Option(help="输出目录 / output folder")],
    workers: Annotated[int, typer.Option(min=1, help="渲染进程数 / rendering processes")] = 1,
) -> None:
    """把机构一年签发的证书全部印成 PDF，中断后可续 / print every certificate an institution issued in a
    year as <number>.pdf into a folder; a rerun checks what is there and renders only what is missing or
    damaged (manifest.jsonl)."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    from .certificates.render import REASONS, render_year
    from .errors import JiliangError

    class PerSecond(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{task.speed or 0:.1f}/s")

    platform = _platform()
    with Progress(
        TextColumn(f"{institution} {year}"),
        BarColumn(),
        MofNCompleteColumn(),
        PerSecond(),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("render", total=None)
        try:
            report = render_year(
                platform,
                institution,
                year,
                out,
                workers,
                lambda done, total: bar.update(task, completed=done, total=total),
            )
        except JiliangError as exc:
            bar.stop()
            _fail(exc.message)
            return
    if not report.total:
        console.print(f"{institution} 在 {year} 年没有签发证书 / no certificates issued by {institution} in {year}")
        return
    why = "; ".join(f"{REASONS[k]} {n}" for k, n in sorted(report.redone.items()))
    console.print(
        f"共 {report.total} / total {report.total}: 新渲染 / rendered {report.rendered}, "
        f"已存在并核对 / present and checked {report.checked}, 重做 / redone {report.redone_total}"
        + (f" ({why})" if why else "")
        + (f", 清除临时文件 / temp files removed {report.temps_removed}" if report.temps_removed else "")
        + f" → {out}"
    )


@app.command("backup")
def backup_command(out: Annotated[Path, typer.Argument(help="备份文件 / the backup file to write (.tar.gz)")]) -> None:
    """备份数据库 / a consistent snapshot of the database with the ledger's size and root."""
    from .backup import backup

    platform = _platform()
    manifest = backup(platform.engine, out)
    console.print(f"已备份 / backed up: {out} — ledger {manifest.tree_size} leaves, root {manifest.root[:16]}…")
    console.print(
        "密钥目录与检查点副本请另行备份 / back up the key folder and the checkpoint log separately: "
        f"{platform.settings.data_dir / 'keys'}, {platform.settings.checkpoint_log}"
    )


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="备份文件 / a file written by jiliang backup")],
) -> None:
    """恢复到空数据库并以账本证明 / restore into an empty database and prove it with the ledger."""
    from .backup import ledger_root, restore, root_at
    from .ledger.auditor import audit
    from .platform import Platform

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    platform = Platform(settings)
    try:
        manifest = restore(platform.engine, archive)
    except (ValueError, OSError, subprocess.CalledProcessError) as exc:
        _fail(f"{archive}: {exc}")
    size, _ = ledger_root(platform.engine)
    if size < manifest.tree_size or root_at(platform.engine, manifest.tree_size) != manifest.root:
        _fail("恢复的账本与备份不符 / the restored ledger is not the one backed up", 1)
    report = audit(platform)
    for finding in report.findings:
        err.print(str(finding))
    if not report.clean:
        _fail("恢复后的审计发现问题 / the audit of the restored database found problems", 1)
    console.print(
        f"已恢复并核验 / restored and proven: ledger root at {manifest.tree_size} leaves = {manifest.root[:16]}…, "
        f"audit clean ({report.records} records)"
    )


@app.command("audit-archive")
def audit_archive_command(
    out: Annotated[Path, typer.Argument(help="归档文件 / the JSON-lines file to write")],
) -> None:
    """归档超过保存期的审计日志 / move audit events older than JILIANG_AUDIT_RETENTION_DAYS to a file."""
    from .audit_archive import archive_events
    from .errors import JiliangError

    platform = _platform()
    with platform.engine.connect() as conn:
        actor = _system_actor(conn)
    try:
        report = archive_events(platform, out, actor.user_id)
    except JiliangError as exc:
        _fail(exc.message)
    if report.events == 0:
        console.print("没有超过保存期的审计日志 / no audit event is older than the retention period")
        return
    console.print(
        f"已归档 / archived: {report.events} events up to id {report.up_to_id} → {out} (sha256 {report.sha256})"
    )


@app.command("keys")
def keys_export(output: Annotated[Path | None, typer.Option("-o", "--output")] = None) -> None:
    """导出公开的签名公钥集合 / export the published key set (to give to verifiers)."""
    from .certificates.keys import published_keyset

    with _platform().engine.connect() as conn:
        text = json.dumps(published_keyset(conn).to_json(), ensure_ascii=False, indent=2)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        print(text)


@cert_app.command("verify")
def cert_verify(
    file: Path,
    keys: Annotated[Path | None, typer.Option("--keys", help="信任的公钥集合文件 / a key set file you trust")] = None,
    keys_url: Annotated[
        str | None, typer.Option("--keys-url", help="平台公布的公钥 / e.g. https://host/public/keys")
    ] = None,
    witness_key: Annotated[
        Path | None, typer.Option(help="要求该见证方的副签 / require this witness's cosignature (witness.pub)")
    ] = None,
) -> None:
    """离线核验证书文件；公钥来自平台公布的集合或您信任的文件，从不取自证书本身。
    Check a certificate file offline against keys you trust, never keys inside the file."""
    from .certificates.document import parse_document, verify_document
    from .certificates.signing import KeySet

    try:
        document = parse_document(file.read_bytes())
    except (OSError, ValueError) as exc:
        _fail(f"无法读取证书文件 {file}：{exc} / cannot read the certificate file")
    try:
        if keys is not None:
            keyset = KeySet.from_json(json.loads(keys.read_text(encoding="utf-8")))
        elif keys_url is not None:
            with urllib.request.urlopen(keys_url, timeout=10) as resp:  # noqa: S310 - the user names the URL
                keyset = KeySet.from_json(json.load(resp))
        else:
            from .certificates.keys import published_keyset

            with _platform().engine.connect() as conn:
                keyset = published_keyset(conn)
    except (OSError, ValueError) as exc:
        _fail(f"无法读取公钥集合：{exc} / cannot read the key set")
    check = verify_document(document, keyset)
    problems = list(check.problems)
    leaf = None
    if isinstance(document.get("ledger"), dict):
        problems_ledger, leaf = _verify_ledger(document, keyset, witness_key)
        problems += problems_ledger
    else:
        problems.append("the file carries no ledger proof (export it again with a current jiliang)")
    if not problems:
        fields = (leaf or {}).get("fields") or {}
        console.print(
            f"[green]有效 / valid[/green]: {document['payload'].get('number')} 由 {check.owner} 签名 (key {check.kid})"
        )
        console.print(
            f"账本 / ledger: leaf {document['ledger']['index']} "
            f"in checkpoint {document['ledger']['checkpoint_number']} "
            f"(tree of {(leaf or {}).get('size')}); status then: {fields.get('status')}"
        )
        return
    err.print("[red]无效 / INVALID[/red]")
    for problem in problems:
        err.print(f" - {problem}")
    raise typer.Exit(1)


def _verify_ledger(document: dict[str, Any], keyset: Any, witness_key: Path | None) -> tuple[list[str], Any]:
    from .certificates.canonical import canonical_json, sha256_hex
    from .ledger.bundle import verify_bundle
    from .ledger.witness import witness_verifier

    signature = document.get("signature") or {}
    try:
        expect = {
            "number": document["payload"].get("number"),
            "payload_sha256": sha256_hex(canonical_json(dict(document["payload"]))),
            "signature": signature.get("value"),
            "kid": signature.get("kid"),
        }
    except (TypeError, ValueError, AttributeError, KeyError):
        return ["the certificate content cannot be matched with its ledger leaf"], None
    witnesses = [witness_verifier(witness_key.read_text(encoding="utf-8"))] if witness_key else []
    return verify_bundle(document["ledger"], keyset, witnesses, expect)


def main() -> None:  # pragma: no cover
    sys.exit(app())
