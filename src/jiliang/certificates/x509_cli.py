"""`jiliang pdf-cert`: the X.509 certificates that sign PDF certificates — list, revoke, bring one from a
licensed CA, and check a downloaded PDF's signature as a PDF reader would."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from ..cli_support import fail, platform_and_admin
from ..errors import JiliangError
from .tables import x509_certificates

x509_app = typer.Typer(help="PDF 签名证书 / the X.509 certificates that sign PDF certificates", no_args_is_help=True)
console = Console()


@x509_app.command("list")
def list_certificates() -> None:
    """列出根证书与各机构的签名证书 / the root and every institution's signing certificates."""
    platform, _ = platform_and_admin()
    table = Table(title="PDF 签名证书 / PDF signing certificates")
    for column in ("序列号 / serial", "持有者 / subject", "类别 / role", "有效期至 / until", "状态 / state"):
        table.add_column(column)
    with platform.engine.connect() as conn:
        rows = conn.execute(select(x509_certificates).order_by(x509_certificates.c.created_at)).all()
    for r in rows:
        state = "吊销 / revoked" if r.revoked_at else "停用 / retired" if r.retired_at else "在用 / current"
        table.add_row(r.serial, r.subject, r.role, r.not_after.date().isoformat(), state)
    console.print(table)


@x509_app.command("revoke")
def revoke(
    serial: str,
    reason: Annotated[str, typer.Option(help="吊销原因 / why (key leaked, institution left…)")],
) -> None:
    """吊销机构签名证书并列入 CRL；在用的证书立即换发 / revoke a signing certificate (it goes on the
    root's CRL); a current one is replaced at once."""
    from .pki import revoke_pdf_certificate

    platform, admin = platform_and_admin()
    try:
        replacement = revoke_pdf_certificate(platform.uow(), admin, serial, reason)
    except JiliangError as exc:
        fail(exc.message)
    console.print(f"已吊销 / revoked {serial}" + (f"; 新证书 / replaced by {replacement}" if replacement else ""))


@x509_app.command("use-licensed")
def use_licensed(
    institution: Annotated[str, typer.Option(help="机构代码 / institution code")],
    cert: Annotated[Path, typer.Option(help="证书 PEM（其后可附中间证书）/ certificate PEM, intermediates after it")],
    key: Annotated[Path, typer.Option(help="私钥 PEM（未加密）/ its private key, PEM, unencrypted")],
) -> None:
    """机构改用依法设立的电子认证服务机构签发的证书 / sign the institution's PDFs with a certificate
    from a licensed CA (电子签名法) instead of the platform's."""
    from .pki import use_licensed_certificate

    platform, admin = platform_and_admin()
    try:
        serial = use_licensed_certificate(platform.uow(), admin, institution, cert.read_bytes(), key.read_bytes())
    except JiliangError as exc:
        fail(exc.message)
    console.print(f"{institution} 此后以证书 {serial} 签署 PDF / signs its PDFs with {serial} from now on")


@x509_app.command("verify")
def verify(
    pdf: Path,
    root: Annotated[
        list[Path] | None,
        typer.Option(help="信任的根证书（缺省：本平台的）/ roots you trust (default: this platform's)"),
    ] = None,
    crl: Annotated[list[Path] | None, typer.Option(help="吊销列表 DER / CRLs (default: this platform's)")] = None,
) -> None:
    """像 PDF 阅读器一样校验 PDF 证书的签名 / check a PDF certificate's signature as a PDF reader would."""
    from .pades import validate_pdf
    from .pki import root_certificate_pem, root_crl_der

    roots = [p.read_text() for p in root or []]
    crls = [p.read_bytes() for p in crl or []]
    if not roots:
        platform, _ = platform_and_admin()
        with platform.engine.connect() as conn:
            pem, der = root_certificate_pem(conn), root_crl_der(conn, platform.settings.data_dir)
        roots, crls = [pem] if pem else [], crls or ([der] if der else [])
    report = validate_pdf(pdf.read_bytes(), roots, crls)
    console.print(f"签署者 / signer: {report.signer or '—'}")
    console.print(f"签署时间 / signed at: {report.signed_at.isoformat() if report.signed_at else '—'}")
    console.print(f"时间戳 / time-stamp: {'有 / yes' if report.timestamped else '无 / none'}")
    if report.signed and report.intact and report.trusted and not report.revoked:
        console.print("[green]签名有效，文件未被改动 / signature valid, file unchanged[/green]")
        return
    problem = (
        "未签名 / unsigned"
        if not report.signed
        else "文件在签名后被改动 / the file changed after signing"
        if not report.intact
        else "签署证书已吊销 / the signer's certificate is revoked"
        if report.revoked
        else "签署证书不链接到信任的根 / the signer's certificate does not chain to a trusted root"
    )
    console.print(f"[red]{problem}[/red] ({report.summary})")
    raise typer.Exit(1)
