"""Certificate use cases: issue (from an approved record), amend, revoke; export the signed document."""

from __future__ import annotations

import base64
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from ..audit import record_event
from ..auth import Actor, Confirmation
from ..bulk import among, insert_with_ids
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound, RuleViolation
from ..ledger.append import track
from ..registry.tables import catalogue_items, catalogue_types, institutions, instruments, owners, standards, users
from ..reminders.planning import notify_revoked, replan
from ..supervision.counts import restating
from ..types import utcnow
from ..verification.tables import record_standards, signoffs
from .canonical import canonical_json
from .document import DOCUMENT_FORMAT
from .numbering import format_number, issuing_year, next_numbers
from .signing import load_signer
from .tables import certificates

__all__ = [
    "verify_path",
    "issue_for_records",
    "amend_certificate",
    "revoke_certificate",
    "certificate_document",
    "status_on",
    "AMENDABLE",
    "CONCLUSIONS",
]

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
AMENDABLE = (
    "owner.name",
    "owner.address",
    "instrument.manufacturer",
    "instrument.model",
    "instrument.serial_no",
    "instrument.name",
    "remarks",
)


# what a certificate prints of the instrument (reading only these keeps the batch query lean)
_PRINTED_INSTRUMENT = ("id", "owner_id", "name", "manufacturer", "model", "serial_no", "software_version", "parameters")


def verify_path(number: str, token: str) -> str:
    """The page a certificate's QR code leads to: the certificate checked in the visitor's browser."""
    return f"/public/verify/{number}?token={token}"


def _institutions(uow: UnitOfWork, ids: set[int]) -> dict[int, Any]:
    return {r.id: r for r in uow.conn.execute(select(institutions).where(institutions.c.id.in_(ids)))}


def _payloads(
    conn: Connection, recs: Sequence[Any], contents: dict[int, dict], hashes: dict[int, str], insts: dict[int, Any]
) -> dict[int, dict[str, Any]]:
    """The certificate content of each record, read with one query per table for the whole batch."""
    instrument_rows = {
        r.id: r
        for r in conn.execute(
            select(
                *(instruments.c[k] for k in _PRINTED_INSTRUMENT),
                owners.c.name.label("owner_name"),
                owners.c.credit_code,
                owners.c.address,
                catalogue_items.c.name_zh.label("item_name"),
                catalogue_types.c.name_zh.label("type_name"),
            )
            .join(owners, owners.c.id == instruments.c.owner_id)
            .outerjoin(catalogue_items, catalogue_items.c.code == instruments.c.item_code)
            .outerjoin(catalogue_types, catalogue_types.c.id == instruments.c.type_id)
            .where(among(conn, instruments.c.id, list({r.instrument_id for r in recs})))
        )
    }
    ids = [r.id for r in recs]
    names: dict[int, dict[str, str]] = defaultdict(dict)
    for rid, step, name in conn.execute(
        select(signoffs.c.record_id, signoffs.c.step, users.c.display_name)
        .join(users, users.c.id == signoffs.c.user_id)
        .where(among(conn, signoffs.c.record_id, ids))
    ):
        names[rid][step] = name
    stds: dict[int, list[dict[str, str]]] = defaultdict(list)
    for s in conn.execute(
        select(
            record_standards.c.record_id,
            standards.c.name,
            standards.c.examination_certificate_no,
            standards.c.calibration_certificate_no,
        )
        .join(standards, standards.c.id == record_standards.c.standard_id)
        .where(among(conn, record_standards.c.record_id, ids))
        .order_by(standards.c.id)
    ):
        stds[s.record_id].append(
            {
                "name": s.name,
                "examination_certificate": s.examination_certificate_no,
                "calibration_certificate": s.calibration_certificate_no,
            }
        )
    out = {}
    for rec in recs:
        i, inst = instrument_rows[rec.instrument_id], insts[rec.institution_id]
        content = contents[rec.id]
        out[rec.id] = {
            "issuer": {"code": inst.code, "name": inst.name_zh},
            "instrument": {
                "name": i.name,
                "item": i.item_name,
                "type": i.type_name,
                "manufacturer": i.manufacturer,
                "model": i.model,
                "serial_no": i.serial_no,
                "software_version": i.software_version,
                "parameters": {str(k): str(v) for k, v in (i.parameters or {}).items()},
            },
            "owner": {"name": i.owner_name, "credit_code": i.credit_code, "address": i.address},
            "record": content["record"] | {"environment": content["environment"]},
            "points": content["points"],
            **({"tests": content["tests"]} if "tests" in content else {}),
            **({"correction_curve": content["correction_curve"]} if "correction_curve" in content else {}),
            "standards": stds[rec.id],
            "signatories": {
                "verifier": names[rec.id].get("verify"),
                "checker": names[rec.id].get("check"),
                "approver": names[rec.id].get("approve"),
            },
            "content_hash": hashes[rec.id],
            "remarks": "",
            "_owner_id": i.owner_id,
        }
    return out


@dataclass(frozen=True)
class _ToIssue:
    institution: Any
    payload: dict[str, Any]
    kind: str
    record: Any
    owner_id: int
    supersedes_id: int | None = None


def _issue(uow: UnitOfWork, actor: Actor, items: Sequence[_ToIssue]) -> list[str]:
    """Number, sign and store certificates; numbers are reserved per institution for the whole batch."""
    conn, now = uow.conn, utcnow()
    year = issuing_year(now)
    reserved: dict[int, Iterator[int]] = {}
    for inst_id, count in Counter(it.institution.id for it in items).items():
        reserved[inst_id] = iter(next_numbers(conn, inst_id, year, count))
    rows, numbers = [], []
    data_dir = uow.platform.settings.data_dir
    for it in items:
        rec, seq = it.record, next(reserved[it.institution.id])
        number = format_number(it.institution.code, year, seq)
        token = secrets.token_urlsafe(16)
        payload = it.payload | {
            "number": number,
            "kind": it.kind,
            "title": KIND_TITLES[it.kind],
            "issued_at": now.isoformat(),
            "conclusion": CONCLUSIONS[rec.verdict if rec.verdict in ("pass", "fail") else None],
            "advisory": bool(rec.advisory),
            "valid_until": str(rec.valid_until) if it.kind == "verification" and rec.valid_until else None,
            "replace_by": str(rec.replace_by) if it.kind == "verification" and rec.replace_by else None,
            # the QR code leads to the page that checks the certificate in the visitor's browser
            # (older signed certificates name the JSON answer /public/certificates/…, which stays)
            "verify_path": verify_path(number, token),
        }
        signer = load_signer(data_dir, it.institution.signing_kid)
        # stored as is: exactly the bytes the signature covers; the points, tests and correction curve
        # come from record_content (text under ASCII keys) and need no type scan
        built = [payload[k] for k in ("points", "tests", "correction_curve") if k in payload]
        signed = canonical_json(payload, checked=built if it.supersedes_id is None else ())
        rows.append(
            {
                "number": number,
                "institution_id": it.institution.id,
                "year": year,
                "seq": seq,
                "kind": it.kind,
                "record_id": rec.id,
                "instrument_id": rec.instrument_id,
                "owner_id": it.owner_id,
                "issued_at": now,
                "valid_until": rec.valid_until if it.kind == "verification" else None,
                "payload": signed.decode(),
                "signature_alg": signer.algorithm,
                "kid": signer.kid,
                "signature": base64.b64encode(signer.sign(signed)).decode(),
                "public_token": token,
                "status": "valid",
                "supersedes_id": it.supersedes_id,
                "revoked_at": None,
                "revocation_reason": None,
            }
        )
        numbers.append(number)
        record_event(
            uow,
            actor.user_id,
            "certificate.issued",
            "certificate",
            number,
            None,
            {"kind": it.kind, "record_id": rec.id, "kid": rows[-1]["kid"], "supersedes_id": it.supersedes_id},
            it.institution.id,
        )
    track(uow, "certificate", numbers, new=True, rows=insert_with_ids(conn, certificates, rows))
    return numbers


def issue_for_records(
    uow: UnitOfWork, actor: Actor, recs: Sequence[Any], contents: dict[int, dict], hashes: dict[int, str]
) -> list[str]:
    """Called by `approve_records` inside its transaction."""
    insts = _institutions(uow, {r.institution_id for r in recs})
    payloads = _payloads(uow.conn, recs, contents, hashes, insts)
    items = []
    for rec in recs:
        payload = payloads[rec.id]
        owner_id = payload.pop("_owner_id")
        kind = (
            "calibration"
            if rec.kind == "calibration"
            else ("verification" if rec.verdict == "pass" else "nonconformity")
        )
        items.append(_ToIssue(insts[rec.institution_id], payload, kind, rec, owner_id))
    return _issue(uow, actor, items)


def _own_certificate(conn: Connection, actor: Actor, number: str) -> Any:
    cert = conn.execute(select(certificates).where(certificates.c.number == number)).first()
    if cert is None or (cert.institution_id != actor.institution_id and not actor.has("admin")):
        raise NotFound(f"本机构没有证书 {number} / no certificate {number} at your institution")
    return cert


def amend_certificate(
    uow: UnitOfWork, confirmation: Confirmation, number: str, corrections: dict[str, str], reason: str
) -> str:
    """A corrected certificate with a new number that names the one it supersedes (ISO/IEC 17025 7.8.8)."""
    from ..verification.tables import verification_records

    actor = confirmation.actor
    actor.require("approver")
    if not reason.strip():
        raise InvalidInput("请说明更正原因 / give the reason for the amendment")
    bad = [k for k in corrections if k not in AMENDABLE]
    if bad or not corrections:
        raise InvalidInput(
            f"只能更正 {', '.join(AMENDABLE)} / only these fields can be amended: {', '.join(AMENDABLE)}"
        )
    with uow:
        conn = uow.conn
        old = _own_certificate(conn, actor, number)
        if old.status != "valid":
            raise RuleViolation(
                f"证书 {number} 状态为 {old.status}，不能更正 / certificate is {old.status}", rule="state"
            )
        payload = json.loads(old.payload)
        for path, value in corrections.items():
            section, key = path.split(".") if "." in path else (None, path)
            target = payload[section] if section else payload
            target[key] = str(value)
        payload |= {"supersedes": number, "amendment_reason": reason, "amended_by": actor.display_name}
        for k in ("number", "kind", "title", "issued_at", "conclusion", "valid_until", "replace_by", "verify_path"):
            payload.pop(k, None)
        rec = conn.execute(select(verification_records).where(verification_records.c.id == old.record_id)).one()
        inst = _institutions(uow, {old.institution_id})[old.institution_id]
        [new] = _issue(uow, actor, [_ToIssue(inst, payload, old.kind, rec, old.owner_id, old.id)])
        conn.execute(update(certificates).where(certificates.c.id == old.id).values(status="superseded"))
        track(uow, "certificate", [number])
        record_event(
            uow,
            actor.user_id,
            "certificate.superseded",
            "certificate",
            number,
            {"status": "valid"},
            {"status": "superseded", "by": new, "reason": reason},
            old.institution_id,
        )
        uow.commit()
        return new


def _is_latest_verification(conn: Connection, cert: Any) -> bool:
    """Whether no later verification certificate of the instrument replaced this one's standing."""
    later = conn.execute(
        select(certificates.c.id).where(
            certificates.c.instrument_id == cert.instrument_id,
            certificates.c.kind.in_(("verification", "nonconformity")),
            certificates.c.id > cert.id,
        )
    ).first()
    return later is None


def revoke_certificate(uow: UnitOfWork, confirmation: Confirmation, number: str, reason: str) -> None:
    actor = confirmation.actor
    actor.require("approver", "lab_manager")
    if not reason.strip():
        raise InvalidInput("请说明撤销原因 / give the reason for the revocation")
    with uow:
        conn = uow.conn
        cert = _own_certificate(conn, actor, number)
        if cert.status != "valid":
            raise RuleViolation(
                f"证书 {number} 状态为 {cert.status}，不能撤销 / certificate is {cert.status}", rule="state"
            )
        now = utcnow()
        conn.execute(
            update(certificates)
            .where(certificates.c.id == cert.id)
            .values(status="revoked", revoked_at=now, revocation_reason=reason)
        )
        track(uow, "certificate", [number])
        if cert.kind == "verification" and _is_latest_verification(conn, cert):
            # a revoked pass no longer covers the instrument, whatever kind of period it has (a
            # first-only instrument has no valid-until): its cached standing says so
            with restating(conn, instruments.c.id == cert.instrument_id):  # the coverage counts
                conn.execute(
                    update(instruments)
                    .where(instruments.c.id == cert.instrument_id)
                    .values(valid_until=None, last_conclusion="revoked")
                )
            replan(conn, instruments.c.id == cert.instrument_id)  # its reminders of that due date end
            notify_revoked(conn, cert.instrument_id)  # and its owner is told
        record_event(
            uow,
            actor.user_id,
            "certificate.revoked",
            "certificate",
            number,
            {"status": "valid"},
            {"status": "revoked", "reason": reason},
            cert.institution_id,
        )
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
