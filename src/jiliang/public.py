"""The only endpoints without login: what the public sees when scanning a QR code, the published
keys, and owner self-registration. All are rate-limited per client address."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from .certificates.keys import published_keyset
from .certificates.pki import root_certificate_pem, root_crl_der
from .certificates.queries import public_facts, public_status
from .db import single_read
from .deps import ConnDep, PlatformDep, check_rate, rate_limited
from .errors import NotFound
from .platform import shanghai_today
from .registry.label import label_facts, label_status
from .registry.service import OwnerRegistration, register_owner

__all__ = ["router"]

# Rate limiting is called inline on the QR checks (the hot path) and as a dependency elsewhere.
router = APIRouter(prefix="/public", tags=["public 公开查询"])
Limited = [Depends(rate_limited)]


class CertificateStatus(BaseModel):
    number: str
    status: str = Field(description="valid | expired | revoked | superseded | unknown")


class CertificateFacts(BaseModel):
    number: str
    kind: str
    instrument_name: str | None
    instrument_type: str | None
    serial_no: str | None
    institution: str | None
    verification_date: str | None
    valid_until: str | None
    conclusion: str | None
    status: str
    signature_valid: bool
    advisory: bool = Field(description="结论依据未确认的限值（参考性）/ the verdict rests on unconfirmed limits")
    advisory_note: str | None = Field(description="Accept-Language: en 时为英文 / in English with Accept-Language: en")
    tests: list[dict[str, str | None]] = Field(description="规程规定的各检定项目及结论 / each test of the regulation")
    rules: list[dict[str, Any]] = Field(description="各限值的来源与可信度 / where each limit comes from")


# The QR checks are the platform's hottest path: they run on the event loop with one indexed read
# (no thread hop, no explicit transaction) and answer with a plain JSON body.


def _json(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


_FACTS: dict[int | str, dict[str, Any]] = {200: {"model": CertificateFacts | CertificateStatus}}
TokenQuery = Annotated[str | None, Query(max_length=64)]


@router.get(
    "/certificates/{number}",
    responses=_FACTS,
    response_class=JSONResponse,
    summary="扫码核验证书 / check a certificate from its QR code",
)
async def certificate(
    number: Annotated[str, Path(max_length=40)], request: Request, token: TokenQuery = None
) -> Response:
    """With the QR code's token: the printed facts and the signature check. Number alone: only the status.
    A browser (certificates printed before the QR code led to the page) is sent to the page."""
    platform = check_rate(request)
    if "text/html" in request.headers.get("accept", ""):
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/public/verify/{quote(number, safe='')}{query}", status_code=307)
    with single_read(platform.engine) as conn:
        if token:
            english = request.headers.get("accept-language", "").lower().startswith("en")
            return _json(public_facts(conn, number, token, shanghai_today(), english))
        return _json(public_status(conn, number, shanghai_today()))


@router.get("/instruments/{instrument_id}", summary="扫码查看器具标签 / instrument label")
async def instrument_label(instrument_id: int, request: Request, token: TokenQuery = None) -> Response:
    platform = check_rate(request)
    with single_read(platform.engine) as conn:
        if token:
            return _json(label_facts(conn, instrument_id, token, shanghai_today()))
        return _json(label_status(conn, instrument_id, shanghai_today()))


@router.get("/keys", dependencies=Limited, summary="机构签名公钥 / published signing keys (rotated keys stay listed)")
def keys(conn: ConnDep) -> dict[str, Any]:
    return published_keyset(conn).to_json()


@router.get(
    "/keys/root.crt",
    dependencies=Limited,
    summary="PDF 签名根证书 / the platform root CA that PDF signatures chain to (trust it in your PDF reader)",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
def root_certificate(conn: ConnDep) -> Response:
    pem = root_certificate_pem(conn)
    if pem is None:
        raise NotFound("平台尚无根证书 / the platform has no root certificate yet")
    headers = {"Content-Disposition": 'attachment; filename="jiliang-root.crt"'}
    return Response(pem, media_type="application/x-pem-file", headers=headers)


@router.get(
    "/keys/root.crl",
    dependencies=Limited,
    summary="根证书吊销列表 / the root's certificate revocation list (DER)",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}},
)
def root_crl(conn: ConnDep, platform: PlatformDep) -> Response:
    der = root_crl_der(conn, platform.settings.data_dir)
    if der is None:
        raise NotFound("平台尚无根证书 / the platform has no root certificate yet")
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "max-age=300"})


class OwnerSignup(BaseModel):
    credit_code: str = Field(description="统一社会信用代码 (GB 32100)")
    name: str
    district_code: str
    address: str = ""
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=8)
    contact_name: str = ""


@router.post(
    "/owners",
    dependencies=Limited,
    status_code=201,
    summary="使用单位自助注册（待审批）/ owner self-registration (awaits approval)",
)
def owner_signup(body: OwnerSignup, platform: PlatformDep) -> dict[str, Any]:
    owner_id = register_owner(platform.uow(), OwnerRegistration(**body.model_dump()))
    return {"owner_id": owner_id, "status": "pending"}
