"""HTTP routes of certificates: list, show, download the signed document, amend, revoke, rotate keys."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..auth import confirm_password
from ..deps import ActorDep, ConnDep, PlatformDep
from ..listing import Credentials, Cursor, Offset, read_page
from ..platform import shanghai_today
from . import keys, queries, service
from .printed import certificate_dcc, certificate_pdf

__all__ = ["router", "certificate_summary"]

router = APIRouter(prefix="/api", tags=["certificates 证书"])


def certificate_summary(cert: Any) -> dict[str, Any]:
    return queries.certificate_summary(cert, shanghai_today())


@router.get("/certificates", response_model=list[dict[str, Any]])
def get_certificates(
    request: Request,
    credentials: Credentials,
    institution: str | None = None,
    limit: Annotated[int, Query(ge=1, le=2**31 - 1)] = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Response:
    limit = min(limit, 1000)
    today = shanghai_today()
    return read_page(
        request,
        credentials,
        lambda conn, actor: queries.certificates_page(conn, actor, today, institution, limit, offset, cursor),
        limit,
        today,
    )


@router.get("/certificates/{number}")
def get_certificate(number: str, actor: ActorDep, conn: ConnDep) -> dict[str, Any]:
    cert = queries.get_certificate(conn, actor, number)
    return certificate_summary(cert) | {
        "payload": json.loads(cert.payload),
        "signature_valid": queries.signature_valid(conn, cert),
        "revocation_reason": cert.revocation_reason,
    }


@router.get(
    "/certificates/{number}/document",
    summary="下载证书：签名的电子证书（json）、可打印的 PDF 或 DCC XML / the signed file, the printable PDF or DCC XML",
    responses={200: {"content": {"application/json": {}, "application/pdf": {}, "application/xml": {}}}},
)
def get_document(
    number: str,
    actor: ActorDep,
    conn: ConnDep,
    platform: PlatformDep,
    fmt: Annotated[
        Literal["json", "pdf", "dcc"],
        Query(alias="format", description="json: the signed file; pdf: printable; dcc: PTB DCC 3.3.0 XML"),
    ] = "json",
) -> Response:
    cert = queries.get_certificate(conn, actor, number)
    if fmt == "pdf":
        pdf = certificate_pdf(conn, platform, cert)
        disposition = f'attachment; filename="{number}.pdf"'
        return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})
    if fmt == "dcc":
        disposition = f'attachment; filename="{number}.dcc.xml"'
        return Response(
            certificate_dcc(platform, cert), media_type="application/xml", headers={"Content-Disposition": disposition}
        )
    return Response(orjson.dumps(service.certificate_document(cert)), media_type="application/json")


class AmendBody(BaseModel):
    password: str
    corrections: dict[str, str] = Field(description=f"可更正字段 / amendable: {', '.join(service.AMENDABLE)}")
    reason: str


@router.post("/certificates/{number}/amend", status_code=201, summary="更正（新编号，原证书作废）/ amend")
def amend(number: str, body: AmendBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> dict:
    conf = confirm_password(conn, actor, body.password, platform)
    new = service.amend_certificate(platform.uow(), conf, number, body.corrections, body.reason)
    return {"number": new, "supersedes": number}


class RevokeBody(BaseModel):
    password: str
    reason: str


@router.post("/certificates/{number}/revoke", summary="撤销证书 / revoke")
def revoke(number: str, body: RevokeBody, actor: ActorDep, platform: PlatformDep, conn: ConnDep) -> dict:
    conf = confirm_password(conn, actor, body.password, platform)
    service.revoke_certificate(platform.uow(), conf, number, body.reason)
    return {"number": number, "status": "revoked"}


class RotateBody(BaseModel):
    algorithm: str = Field("Ed25519", description="Ed25519 或国密 SM2-SM3 / Ed25519 or SM2-SM3")


@router.post("/institutions/{code}/keys/rotate", summary="更换机构签名密钥（管理员）/ rotate a signing key")
def rotate(code: str, body: RotateBody, actor: ActorDep, platform: PlatformDep) -> dict[str, str]:
    return {"institution": code, "kid": keys.rotate_key(platform.uow(), actor, code, body.algorithm)}
