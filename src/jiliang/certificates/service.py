"""Certificate use cases: issue (from an approved record), amend, revoke; export the signed document."""

from __future__ import annotations

import json
import secrets
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..audit import record_event
from ..auth import Actor, Confirmation
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound, RuleViolation
from ..registry.tables import catalogue_items, catalogue_types, institutions, instruments, owners, standards, users
from ..types import utcnow
from ..verification.tables import record_standards, signoffs
from .canonical import canonical_json
from .document import DOCUMENT_FORMAT, sign_payload
from .numbering import format_number, issuing_year, next_number
from .signing import load_signer
from .tables import certificates

__all__ = ["issue_for_record", "amend_certificate", "revoke_certificate", "certificate_document",
           "status_on", "AMENDABLE", "CONCLUSIONS"]

CONCLUSIONS = {
    "pass": "合格 / conforms",
    "fail": "不合格 / does not conform",
    None: "校准，不作符合性判定 / calibrated, no statement of conformity",
}
KIND_TITLES = {
    "verification": "检定证书 / verification certificate",
    "nonconformity": "检定结果通知书 / notice of non-conformity",
    "calibration": "校准证书 / calibration certificate",
}
# Fields an amendment may correct (ISO/IEC 17025 7.8.8): descriptive facts, never readings or verdicts.
AMENDABLE = ("owner.name", "owner.address", "instrument.manufacturer", "instrument.model",
             "instrument.serial_no", "instrument.name", "remarks")


def _institution(uow: UnitOfWork, institution_id: int) -> Any:
    cache: dict[int, Any] = uow.__dict__.setdefault("_institution_cache", {})
    if institution_id not in cache:
        cache[institution_id] = uow.conn.execute(
            select(institutions).where(institutions.c.id == institution_id)).one()
    return cache[institution_id]


def _payload(conn: Connection, inst_row: Any, rec: Any, content: dict[str, Any], content_hash: str) -> dict:
    i = conn.execute(
        select(instruments, owners.c.name.label("owner_name"), owners.c.credit_code, owners.c.address,
               catalogue_items.c.name_zh.label("item_name"), catalogue_types.c.name_zh.label("type_name"))
        .join(owners, owners.c.id == instruments.c.owner_id)
        .outerjoin(catalogue_items, catalogue_items.c.code == instruments.c.item_code)
        .outerjoin(catalogue_types, catalogue_types.c.id == instruments.c.type_id)
        .where(instruments.c.id == rec.instrument_id)
    ).one()
    names = dict(conn.execute(
        select(signoffs.c.step, users.c.display_name).join(users, users.c.id == signoffs.c.user_id)
        .where(signoffs.c.record_id == rec.id)).all())
    stds = conn.execute(
        select(standards.c.name, standards.c.examination_certificate_no, standards.c.calibration_certificate_no)
        .join(record_standards, record_standards.c.standard_id == standards.c.id)
        .where(record_standards.c.record_id == rec.id).order_by(standards.c.id)).all()
    return {
        "issuer": {"code": inst_row.code, "name": inst_row.name_zh},
        "instrument": {
            "name": i.name, "item": i.item_name, "type": i.type_name, "manufacturer": i.manufacturer,
            "model": i.model, "serial_no": i.serial_no, "software_version": i.software_version,
            "parameters": {str(k): str(v) for k, v in (i.parameters or {}).items()},
        },
        "owner": {"name": i.owner_name, "credit_code": i.credit_code, "address": i.address},
        "record": content["record"] | {"environment": content["environment"]},
        "points": content["points"],
        "standards": [{"name": s.name, "examination_certificate": s.examination_certificate_no,
                       "calibration_certificate": s.calibration_certificate_no} for s in stds],
        "signatories": {"verifier": names.get("verify"), "checker": names.get("check"),
                        "approver": names.get("approve")},
        "content_hash": content_hash,
        "remarks": "",
    }


def _store(uow: UnitOfWork, actor: Actor, inst_row: Any, payload: dict[str, Any], kind: str, rec: Any,
           owner_id: int, supersedes_id: int | None) -> str:
    conn = uow.conn
    now = utcnow()
    year = issuing_year(now)
    seq = next_number(conn, inst_row.id, year)
    number = format_number(inst_row.code, year, seq)
    token = secrets.token_urlsafe(16)
    payload = payload | {
        "number": number, "kind": kind, "title": KIND_TITLES[kind], "issued_at": now.isoformat(),
        "conclusion": CONCLUSIONS[rec.verdict if rec.verdict in ("pass", "fail") else None],
        "advisory": bool(rec.advisory),
        "valid_until": rec.valid_until and str(rec.valid_until) if kind == "verification" else None,
        "replace_by": rec.replace_by and str(rec.replace_by) if kind == "verification" else None,
        "verify_path": f"/public/certificates/{number}?token={token}",
    }
    signer = load_signer(uow.platform.settings.data_dir, inst_row.signing_kid)
    doc = sign_payload(payload, signer)
    row = {
        "number": number, "institution_id": inst_row.id, "year": year, "seq": seq, "kind": kind,
        "record_id": rec.id, "instrument_id": rec.instrument_id, "owner_id": owner_id, "issued_at": now,
        "valid_until": rec.valid_until if kind == "verification" else None,
        "payload": canonical_json(doc["payload"]).decode(), "signature_alg": doc["signature"]["alg"],
        "kid": doc["signature"]["kid"], "signature": doc["signature"]["value"], "public_token": token,
        "status": "valid", "supersedes_id": supersedes_id,
    }
    cid = conn.execute(insert(certificates).values(**row).returning(certificates.c.id)).scalar_one()
    record_event(uow, actor.user_id, "certificate.issued", "certificate", number, None,
                 {"id": cid, "kind": kind, "record_id": rec.id, "kid": row["kid"], "supersedes_id": supersedes_id},
                 inst_row.id)
    return number


def issue_for_record(uow: UnitOfWork, actor: Actor, rec: Any, content: dict[str, Any], content_hash: str) -> str:
    """Called by `approve_record` inside its transaction."""
    inst_row = _institution(uow, rec.institution_id)
    kind = "calibration" if rec.kind == "calibration" else ("verification" if rec.verdict == "pass" else "nonconformity")
    payload = _payload(uow.conn, inst_row, rec, content, content_hash)
    owner_id = uow.conn.execute(select(instruments.c.owner_id).where(instruments.c.id == rec.instrument_id)).scalar_one()
    return _store(uow, actor, inst_row, payload, kind, rec, owner_id, None)


def _own_certificate(conn: Connection, actor: Actor, number: str) -> Any:
    cert = conn.execute(select(certificates).where(certificates.c.number == number)).first()
    if cert is None or (cert.institution_id != actor.institution_id and not actor.has("admin")):
        raise NotFound(f"本机构没有证书 {number} / no certificate {number} at your institution")
    return cert


def amend_certificate(uow: UnitOfWork, confirmation: Confirmation, number: str, corrections: dict[str, str],
                      reason: str) -> str:
    """A corrected certificate with a new number that names the one it supersedes (ISO/IEC 17025 7.8.8)."""
    from ..verification.tables import verification_records

    actor = confirmation.actor
    actor.require("approver")
    if not reason.strip():
        raise InvalidInput("请说明更正原因 / give the reason for the amendment")
    bad = [k for k in corrections if k not in AMENDABLE]
    if bad or not corrections:
        raise InvalidInput(f"只能更正 {', '.join(AMENDABLE)} / only these fields can be amended: {', '.join(AMENDABLE)}")
    with uow:
        conn = uow.conn
        old = _own_certificate(conn, actor, number)
        if old.status != "valid":
            raise RuleViolation(f"证书 {number} 状态为 {old.status}，不能更正 / certificate is {old.status}",
                                rule="state")
        payload = json.loads(old.payload)
        for path, value in corrections.items():
            section, key = path.split(".") if "." in path else (None, path)
            target = payload[section] if section else payload
            target[key] = str(value)
        payload |= {"supersedes": number, "amendment_reason": reason}
        for k in ("number", "kind", "title", "issued_at", "conclusion", "valid_until", "replace_by", "verify_path"):
            payload.pop(k, None)
        rec = conn.execute(select(verification_records).where(verification_records.c.id == old.record_id)).one()
        new = _store(uow, actor, _institution(uow, old.institution_id), payload, old.kind, rec, old.owner_id, old.id)
        conn.execute(update(certificates).where(certificates.c.id == old.id).values(status="superseded"))
        record_event(uow, actor.user_id, "certificate.superseded", "certificate", number,
                     {"status": "valid"}, {"status": "superseded", "by": new, "reason": reason}, old.institution_id)
        uow.commit()
        return new


def revoke_certificate(uow: UnitOfWork, confirmation: Confirmation, number: str, reason: str) -> None:
    actor = confirmation.actor
    actor.require("approver", "lab_manager")
    if not reason.strip():
        raise InvalidInput("请说明撤销原因 / give the reason for the revocation")
    with uow:
        conn = uow.conn
        cert = _own_certificate(conn, actor, number)
        if cert.status != "valid":
            raise RuleViolation(f"证书 {number} 状态为 {cert.status}，不能撤销 / certificate is {cert.status}",
                                rule="state")
        now = utcnow()
        conn.execute(update(certificates).where(certificates.c.id == cert.id)
                     .values(status="revoked", revoked_at=now, revocation_reason=reason))
        if cert.kind == "verification":  # a revoked pass no longer covers the instrument
            conn.execute(update(instruments).where(instruments.c.id == cert.instrument_id,
                                                   instruments.c.valid_until == cert.valid_until)
                         .values(valid_until=None))
        record_event(uow, actor.user_id, "certificate.revoked", "certificate", number,
                     {"status": "valid"}, {"status": "revoked", "reason": reason}, cert.institution_id)
        uow.commit()


def certificate_document(cert: Any) -> dict[str, Any]:
    """The exported file: exactly the signed payload bytes, the signature, and the current status."""
    return {
        "format": DOCUMENT_FORMAT,
        "payload": json.loads(cert.payload),
        "signature": {"alg": cert.signature_alg, "kid": cert.kid, "value": cert.signature},
    }


def status_on(cert: Any, today: date) -> str:
    if cert.status in ("revoked", "superseded"):
        return str(cert.status)
    if cert.valid_until is not None and cert.valid_until < today:
        return "expired"
    return "valid"
