"""HTTP routes of the institutions: an administrator adds one (registry/institution_create.py); its
settings for its printed certificates, the 计量授权证书 number and the 检定专用章 image
(registry/institution_settings.py), by an administrator for any institution, a lab manager for their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from pydantic import BaseModel, Field

from ..db import reader
from ..deps import ActorDep, ConnDep, PlatformDep
from . import institution_settings as settings
from .authorisations import authorised_items, set_authorisations
from .institution_create import CODE_MAX, NAME_MAX, create_institution

__all__ = ["router"]

router = APIRouter(prefix="/api/institutions", tags=["institutions 机构"])


class SealFacts(BaseModel):
    sha256: str = Field(description="所存图片的 SHA-256（账本记录的即此摘要）/ of the image as kept, as ledgered")
    size_bytes: int
    width: int
    height: int
    uploaded_at: datetime | None = None
    uploaded_by: str | None = None


class InstitutionSettings(BaseModel):
    code: str
    name_zh: str
    name_en: str
    authorisation_no: str | None = Field(description="计量授权证书编号；未登记为 null / null until recorded")
    seal: SealFacts | None = Field(description="检定专用章；未上传为 null / null until uploaded")


class AuthorisationNumber(BaseModel):
    authorisation_no: str | None = Field(
        max_length=settings.AUTHORISATION_NO_MAX,
        description="计量授权证书编号；空或 null 清除 / empty or null clears it",
    )


class NewInstitutionBody(BaseModel):
    code: str = Field(max_length=64, description="机构代码：大写字母、数字、连字符，≤ 16 / e.g. D310120, SIMT")
    name_zh: str = Field(max_length=512, description=f"中文名称，≤ {NAME_MAX} 字 / the Chinese name")
    name_en: str = Field(max_length=512, description=f"英文名称，≤ {NAME_MAX} / the English name")
    district_code: str | None = Field(
        default=None, max_length=16, description="所在区代码（如 310104）；市级机构为 null / null for a city-wide one"
    )
    cross_district: bool = Field(default=False, description="跨区承担检定 / takes tasks from every district")


class CreatedInstitution(BaseModel):
    code: str = Field(max_length=CODE_MAX)
    name_zh: str
    name_en: str
    district_code: str | None
    cross_district: bool
    signing_kid: str = Field(description="签署电子证书的密钥 / the key that signs its certificates")
    x509_serial: str = Field(description="签署 PDF 的平台证书序列号 / its PDF signing certificate under the root")


@router.post(
    "",
    status_code=201,
    summary="新增检定机构（管理员）/ add a metrology institution (administrator)",
)
def post_institution(body: NewInstitutionBody, actor: ActorDep, platform: PlatformDep) -> CreatedInstitution:
    made = create_institution(
        platform.uow(), actor, body.code, body.name_zh, body.name_en, body.district_code, body.cross_district
    )
    return CreatedInstitution(
        code=made.code,
        name_zh=made.name_zh,
        name_en=made.name_en,
        district_code=made.district_code,
        cross_district=made.cross_district,
        signing_kid=made.signing_kid,
        x509_serial=made.x509_serial,
    )


@router.get("/{institution_code}", summary="机构的授权证书编号与印章 / the institution's authorisation number and seal")
def get_settings(institution_code: str, actor: ActorDep, conn: ConnDep) -> InstitutionSettings:
    return InstitutionSettings.model_validate(settings.institution_settings(conn, actor, institution_code))


@router.put(
    "/{institution_code}/authorisation-number",
    summary="登记计量授权证书编号（管理员或本机构实验室主任）/ record the authorisation number",
)
def put_authorisation_no(
    institution_code: str, body: AuthorisationNumber, actor: ActorDep, platform: PlatformDep
) -> InstitutionSettings:
    settings.set_authorisation_no(platform.uow(), actor, institution_code, body.authorisation_no)
    with reader(platform.engine) as conn:  # read after the change (the request's own connection read before it)
        return InstitutionSettings.model_validate(settings.institution_settings(conn, actor, institution_code))


@router.put(
    "/{institution_code}/seal",
    summary="上传或更换检定专用章（透明背景 PNG，≤ 512 KB）/ upload or replace the seal (PNG, transparent)",
)
def put_seal(
    institution_code: str,
    file: Annotated[UploadFile, File(description="透明背景的 PNG，≤ 512 KB / a PNG with a transparent background")],
    actor: ActorDep,
    platform: PlatformDep,
) -> SealFacts:
    data = file.file.read()  # bounded by the request guard (JILIANG_MAX_BODY_BYTES)
    image = settings.upload_seal(platform.uow(), actor, institution_code, data)
    return SealFacts(sha256=image.sha256, size_bytes=len(image.png), width=image.width, height=image.height)


@router.get(
    "/{institution_code}/seal",
    summary="检定专用章图片 / the seal image as kept",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "PNG"}},
)
def get_seal(institution_code: str, actor: ActorDep, conn: ConnDep) -> Response:
    png = settings.seal_png(conn, actor, institution_code)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.delete("/{institution_code}/seal", status_code=204, summary="删除检定专用章 / remove the seal")
def delete_seal(institution_code: str, actor: ActorDep, platform: PlatformDep) -> Response:
    settings.remove_seal(platform.uow(), actor, institution_code)
    return Response(status_code=204)


class Authorisations(BaseModel):
    code: str
    item_codes: list[str] = Field(description="获授权检定的目录项目 / the catalogue items it may verify (授权项目)")


class AuthorisationsBody(BaseModel):
    item_codes: list[str] = Field(max_length=200, description="全部授权项目（取代原有）/ every item: replaces the list")


@router.get("/{institution_code}/authorisations", summary="机构的授权项目 / the items the institution may verify")
def get_authorisations(institution_code: str, actor: ActorDep, conn: ConnDep) -> Authorisations:
    return Authorisations(code=institution_code, item_codes=list(authorised_items(conn, actor, institution_code).items))


@router.put(
    "/{institution_code}/authorisations", summary="设定授权项目（管理员）/ set the authorised items (administrator)"
)
def put_authorisations(
    institution_code: str, body: AuthorisationsBody, actor: ActorDep, platform: PlatformDep
) -> Authorisations:
    set_authorisations(platform.uow(), actor, institution_code, body.item_codes)
    return Authorisations(code=institution_code, item_codes=sorted(set(body.item_codes)))
