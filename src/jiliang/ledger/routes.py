"""Ledger endpoints. Public: checkpoints, inclusion and consistency proofs (hashes only, no record
data), and a certificate's proof for whoever holds its QR token. Admin: a checkpoint on demand."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from ..certificates.queries import public_certificate
from ..deps import ActorDep, ConnDep, PlatformDep, rate_limited
from ..errors import InvalidInput, NotFound
from .bundle import ledger_bundle
from .checkpoints import get_checkpoint, issue_checkpoint, latest_checkpoint
from .tables import checkpoints
from .tiles import TileReader

__all__ = ["public_router", "router"]

public_router = APIRouter(prefix="/public", tags=["ledger 防篡改账本"], dependencies=[Depends(rate_limited)])
router = APIRouter(prefix="/api/ledger", tags=["ledger 防篡改账本"])

_NOTE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "C2SP signed note (checkpoint)"}
}


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _checkpoint(conn: Any, number: int) -> Any:
    cp = get_checkpoint(conn, number)
    if cp is None:
        raise NotFound(f"没有第 {number} 号检查点 / no checkpoint {number}")
    return cp


@public_router.get(
    "/ledger/checkpoints/latest",
    response_class=PlainTextResponse,
    responses=_NOTE,
    summary="最新检查点 / latest checkpoint",
)
def latest(conn: ConnDep) -> str:
    cp = latest_checkpoint(conn)
    if cp is None:
        raise NotFound("账本尚无检查点 / no checkpoint yet")
    return str(cp.note)


@public_router.get(
    "/ledger/checkpoints/{number}", response_class=PlainTextResponse, responses=_NOTE, summary="检查点 / one checkpoint"
)
def checkpoint(number: int, conn: ConnDep) -> str:
    return str(_checkpoint(conn, number).note)


@public_router.get("/ledger/checkpoints", summary="检查点列表 / checkpoints, oldest first")
def checkpoint_list(
    conn: ConnDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(checkpoints).where(checkpoints.c.number > after).order_by(checkpoints.c.number).limit(limit)
    ).all()
    return [
        {
            "number": r.number,
            "size": r.size,
            "root_hash": base64.b64encode(r.root_hash).decode(),
            "issued_at": r.issued_at,
            "note": r.note,
        }
        for r in rows
    ]


@public_router.get("/ledger/proofs/inclusion", summary="包含证明 / inclusion proof of a leaf in a checkpoint's tree")
def inclusion(conn: ConnDep, index: Annotated[int, Query(ge=0, le=2**63 - 1)], checkpoint: int) -> dict[str, Any]:
    cp = _checkpoint(conn, checkpoint)
    if index >= cp.size:
        raise InvalidInput(
            f"叶子 {index} 不在第 {checkpoint} 号检查点内 / leaf {index} is beyond checkpoint {checkpoint} "
            f"(size {cp.size})"
        )
    proof = TileReader(conn).inclusion(index, cp.size)
    return {"index": index, "checkpoint": cp.number, "size": cp.size, "proof": _b64(proof)}


@public_router.get("/ledger/proofs/consistency", summary="一致性证明 / consistency proof between two checkpoints")
def consistency(conn: ConnDep, first: int, second: int) -> dict[str, Any]:
    a, b = _checkpoint(conn, first), _checkpoint(conn, second)
    if a.size > b.size:
        raise InvalidInput("第一个检查点必须不大于第二个 / the first checkpoint must not be larger than the second")
    proof = TileReader(conn).consistency(a.size, b.size)
    return {"first": a.number, "second": b.number, "first_size": a.size, "second_size": b.size, "proof": _b64(proof)}


@public_router.get(
    "/certificates/{number}/proof",
    summary="证书的签名与账本证明 / a certificate's signed bytes and ledger proof (QR token required)",
)
def certificate_proof(
    number: Annotated[str, Path(max_length=40)], conn: ConnDep, token: Annotated[str, Query(max_length=64)]
) -> dict[str, Any]:
    """Everything a browser needs to check the certificate itself: the exact signed bytes, the
    signature, the leaf recording it, its inclusion proof and the signed checkpoint."""
    cert = public_certificate(conn, number, token)
    return {
        "number": cert.number,
        "payload": cert.payload,
        "signature": {"alg": cert.signature_alg, "kid": cert.kid, "value": cert.signature},
        "ledger": ledger_bundle(conn, "certificate", cert.number),
    }


@router.post("/checkpoints", status_code=201, summary="立即签发检查点 / issue a checkpoint now (admin)")
def new_checkpoint(actor: ActorDep, platform: PlatformDep) -> dict[str, Any]:
    actor.require("admin")
    issued = issue_checkpoint(platform)
    if issued is None:
        raise InvalidInput("账本为空 / the ledger is empty")
    return {"number": issued.number, "size": issued.size, "new": issued.new, "note": issued.note}
