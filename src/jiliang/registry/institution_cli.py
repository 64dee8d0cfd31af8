"""`jiliang institution`: add a metrology institution (registry/institution_create.py), and what an
institution's PDF certificates print besides the signed payload — its 计量授权证书 number and its
检定专用章 (registry/institution_settings.py), set on the server as the administrator: add, show,
number, seal, remove-seal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..cli_support import fail, platform_and_admin
from ..errors import JiliangError
from . import institution_settings as settings
from .institution_create import create_institution

institution_app = typer.Typer(
    help="新增检定机构；机构的计量授权证书编号与检定专用章 / add an institution; its authorisation number and seal",
    no_args_is_help=True,
)
console = Console()


@institution_app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="机构代码 / institution code: capital letters, digits, hyphens")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="中文名称 / the Chinese name")] = "",
    name_en: Annotated[str, typer.Option("--name-en", help="英文名称 / the English name")] = "",
    district: Annotated[
        str | None, typer.Option("--district", help="所在区代码，如 310104 / its district's code")
    ] = None,
    cross_district: Annotated[
        bool, typer.Option("--cross-district", help="跨区承担检定 / takes tasks from every district")
    ] = False,
) -> None:
    """新增检定机构（含签名密钥与 PDF 签名证书）/ add a metrology institution with its signing keys."""
    platform, admin = platform_and_admin()
    try:
        made = create_institution(platform.uow(), admin, code, name_zh, name_en, district, cross_district)
    except JiliangError as exc:
        fail(exc.message)
    console.print(f"{made.name_zh} / {made.name_en} ({made.code})")
    console.print(f"签名密钥 / signing key: {made.signing_kid}; PDF 证书 / X.509 serial: {made.x509_serial}")
    console.print(f"授权项目尚未设定 / no authorised items yet: /lab/institutions/{made.code}/authorisations")


@institution_app.command("show")
def show(code: Annotated[str, typer.Argument(help="机构代码 / institution code, e.g. D310104")]) -> None:
    """显示机构的授权证书编号与印章 / the institution's authorisation number and seal."""
    platform, admin = platform_and_admin()
    try:
        with platform.engine.connect() as conn:
            inst = settings.institution_settings(conn, admin, code)
    except JiliangError as exc:
        fail(exc.message)
    console.print(f"{inst['name_zh']} / {inst['name_en']} ({inst['code']})")
    console.print(f"计量授权证书编号 / authorisation number: {inst['authorisation_no'] or '未登记 / not recorded'}")
    seal = inst["seal"]
    if seal is None:
        console.print("检定专用章 / seal: 未上传 / none uploaded")
    else:
        console.print(
            f"检定专用章 / seal: {seal['width']} × {seal['height']} px, {seal['size_bytes']} bytes, "
            f"sha256 {seal['sha256']}, {seal['uploaded_at']:%Y-%m-%d %H:%M} UTC, {seal['uploaded_by']}"
        )


@institution_app.command("number")
def number(
    code: Annotated[str, typer.Argument(help="机构代码 / institution code")],
    authorisation_no: Annotated[str, typer.Argument(help='计量授权证书编号；"" 清除 / the number; "" clears it')],
) -> None:
    """登记计量授权证书编号 / record the institution's authorisation number."""
    platform, admin = platform_and_admin()
    try:
        kept = settings.set_authorisation_no(platform.uow(), admin, code, authorisation_no)
    except JiliangError as exc:
        fail(exc.message)
    console.print(f"{code}: {kept or '已清除 / cleared'}")


@institution_app.command("seal")
def seal(
    code: Annotated[str, typer.Argument(help="机构代码 / institution code")],
    png: Annotated[Path, typer.Argument(help="透明背景的 PNG，≤ 512 KB / a PNG with a transparent background")],
) -> None:
    """上传或更换检定专用章 / upload or replace the institution's seal."""
    platform, admin = platform_and_admin()
    try:
        data = png.read_bytes()
    except OSError as exc:
        fail(f"无法读取 {png}：{exc} / cannot read {png}")
    try:
        image = settings.upload_seal(platform.uow(), admin, code, data)
    except JiliangError as exc:
        fail(f"{png}: {exc.message}")
    console.print(f"{code}: {image.width} × {image.height} px, sha256 {image.sha256}")


@institution_app.command("remove-seal")
def remove_seal(code: Annotated[str, typer.Argument(help="机构代码 / institution code")]) -> None:
    """删除检定专用章（证书改印盖章处）/ remove the seal (certificates print the place to stamp it)."""
    platform, admin = platform_and_admin()
    try:
        settings.remove_seal(platform.uow(), admin, code)
    except JiliangError as exc:
        fail(exc.message)
    console.print(f"{code}: 已删除 / removed")
