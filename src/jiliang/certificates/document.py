"""The exported electronic-certificate file (``jiliang-certificate/1``): signing it, and checking it offline
against the published key set only (key material inside the file is never trusted).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jiliang.certificates.canonical import canonical_json
from jiliang.certificates.signing import KeySet, Signer, verify_signature

__all__ = ["DOCUMENT_FORMAT", "DocumentCheck", "parse_document", "sign_payload", "verify_document"]

DOCUMENT_FORMAT = "jiliang-certificate/1"

_ALTERED = "signature does not match the certificate content (the file was altered or signed with another key)"


@dataclass(frozen=True)
class DocumentCheck:
    """Outcome of an offline check; ``owner`` is the key owner from the trusted key set, if found."""

    valid: bool
    problems: list[str] = field(default_factory=list)
    kid: str | None = None
    owner: str | None = None


def sign_payload(payload: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """Return the certificate document: the payload and a signature over its RFC 8785 canonical JSON.

    The payload is copied, so changing ``payload`` afterwards does not break the document.
    """
    if not isinstance(payload, dict):
        raise TypeError("a certificate payload must be a dict")
    data = canonical_json(payload)
    return {
        "format": DOCUMENT_FORMAT,
        "payload": json.loads(data),
        "signature": {
            "alg": signer.algorithm,
            "kid": signer.kid,
            "value": base64.b64encode(signer.sign(data)).decode("ascii"),
        },
    }


def _reject_float(text: str) -> Any:
    raise ValueError(f"the number {text} is written with a decimal point; measured values must be strings")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the field {key!r} appears twice")
        result[key] = value
    return result


def parse_document(text: str | bytes) -> dict[str, Any]:
    """Parse a certificate file strictly: ValueError on invalid JSON, duplicate fields or float numbers.

    Duplicate fields are refused because two readers could show different values for the same file.
    """
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_float=_reject_float)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(f"the certificate file is not valid JSON ({where})") from exc
    if not isinstance(document, dict):
        raise ValueError("the certificate file does not hold a JSON object")
    return document


def _issuer_problem(payload: Mapping[str, Any], owner: str) -> str | None:
    if "issuer" not in payload:
        return None
    issuer = payload["issuer"]
    code = issuer.get("code") if isinstance(issuer, Mapping) else None
    if not isinstance(code, str):
        return (
            "the certificate names an issuer without an institution code, "
            "so the signing key cannot be matched to the issuer"
        )
    if code != owner:
        return (
            f"the certificate says it was issued by institution {code!r}, "
            f"but it was signed with a key of institution {owner!r}"
        )
    return None


# "ledger": the inclusion bundle an export carries, checked by its own proofs (`cert verify`)
_DOCUMENT_FIELDS = frozenset({"format", "payload", "signature", "ledger"})
_SIGNATURE_FIELDS = frozenset({"alg", "kid", "value"})


def verify_document(document: Mapping[str, Any], keyset: KeySet) -> DocumentCheck:
    """Check a certificate document against the trusted ``keyset``; never raises for a bad document."""
    if not isinstance(document, Mapping):
        return DocumentCheck(False, ["the file is not a certificate document (expected a JSON object)"])
    problems: list[str] = []
    extra = sorted(str(k) for k in document if k not in _DOCUMENT_FIELDS)
    if extra:  # unsigned words beside the signed payload (a contradicting "conclusion") are not vouched for
        problems.append(f"the file carries fields outside the signed certificate: {', '.join(extra)}")
    if "ledger" in document and not isinstance(document["ledger"], Mapping):
        problems.append("the file's ledger proof is not a proof bundle (expected a JSON object)")
    signature_block = document.get("signature")
    if isinstance(signature_block, Mapping):
        extra = sorted(str(k) for k in signature_block if k not in _SIGNATURE_FIELDS)
        if extra:
            problems.append(f"the signature block carries unknown fields: {', '.join(extra)}")
    doc_format = document.get("format")
    if doc_format != DOCUMENT_FORMAT:
        problems.append(f"the file is not a known certificate format ({doc_format!r}, expected {DOCUMENT_FORMAT!r})")

    payload = document.get("payload")
    if not isinstance(payload, Mapping):
        problems.append("the file has no certificate content (payload)")
        payload = None

    signature = document.get("signature")
    if not isinstance(signature, Mapping):
        problems.append("the certificate is not signed (no signature block)")
        return DocumentCheck(False, problems)

    kid = signature.get("kid")
    if not isinstance(kid, str) or not kid:
        problems.append("the signature does not name its key (kid missing)")
        return DocumentCheck(False, problems)
    entry = keyset.get(kid)
    if entry is None:
        problems.append(
            f"the certificate was signed with key {kid!r}, which is not in the published key set "
            "(not a key of any recognised institution)"
        )
        return DocumentCheck(False, problems, kid=kid)

    alg = signature.get("alg")
    if alg != entry.alg:
        problems.append(f"the signature claims algorithm {alg!r}, but key {kid!r} is published for {entry.alg!r}")

    signature_bytes: bytes | None = None
    value = signature.get("value")
    try:
        if not isinstance(value, str):
            raise ValueError("missing")
        signature_bytes = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        problems.append("the signature value is missing or damaged (not base64)")

    if payload is not None:
        try:
            data: bytes | None = canonical_json(dict(payload))
        except (TypeError, ValueError) as exc:
            problems.append(f"the certificate content cannot be checked: {exc}")
            data = None
        if data is not None and signature_bytes is not None:
            # The key comes from the trusted key set only; anything key-like in the document is ignored.
            if not verify_signature(entry.alg, entry.public_key_pem, data, signature_bytes):
                problems.append(_ALTERED)
        if entry.compromised_at(payload.get("issued_at")):
            problems.append(
                f"key {kid!r} was reported compromised from {entry.compromised_from:%Y-%m-%d %H:%M} UTC and "
                "signed this certificate after that: it cannot be trusted"
            )
        issuer_problem = _issuer_problem(payload, entry.owner)
        if issuer_problem is not None:
            problems.append(issuer_problem)

    return DocumentCheck(not problems, problems, kid=kid, owner=entry.owner)
