"""The exported certificate file (jiliang-certificate/1): signing it and checking it offline."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from jiliang.certificates.canonical import canonical_json
from jiliang.certificates.document import DOCUMENT_FORMAT, parse_document, sign_payload, verify_document
from jiliang.certificates.signing import (
    ED25519,
    SM2_SM3,
    KeyEntry,
    KeySet,
    PublicKeyInfo,
    Signer,
    clear_signer_cache,
    compute_kid,
    generate_key,
    load_signer,
)

ALTERED = "signature does not match the certificate content (the file was altered or signed with another key)"
SINCE = datetime(2024, 1, 1, tzinfo=UTC)


def _payload(issuer: str = "SHIMT") -> dict[str, Any]:
    return {
        "number": "SHIMT-2024-000001",
        "kind": "verification",
        "issuer": {"code": issuer, "name": "上海市计量测试技术研究院"},
        "instrument": {"item": "非自动衡器", "serial": "A123"},
        "points": [{"nominal": "10.000", "reading": "10.002", "error": "0.002", "mpe": "0.005"}],
        "verdict": "conforming",
        "valid_until": "2025-06-30",
    }


class Keys:
    """Two institutions' keys in a data dir, an attacker's key elsewhere, and the published key set."""

    def __init__(self, tmp_path: Path) -> None:
        clear_signer_cache()
        self.data_dir = tmp_path / "data"
        self.attacker_dir = tmp_path / "attacker"
        self.shimt_ed = generate_key(self.data_dir, "SHIMT", ED25519)
        self.shimt_sm2 = generate_key(self.data_dir, "SHIMT", SM2_SM3)
        self.shqi = generate_key(self.data_dir, "SHQI", ED25519)
        self.attacker = generate_key(self.attacker_dir, "SHIMT", ED25519)
        self.keyset = KeySet(
            tuple(KeyEntry.from_public_key(k, not_before=SINCE) for k in (self.shimt_ed, self.shimt_sm2, self.shqi))
        )

    def signer(self, info: PublicKeyInfo) -> Signer:
        data_dir = self.attacker_dir if info is self.attacker else self.data_dir
        return load_signer(data_dir, info.kid)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


@pytest.mark.parametrize("which", ["shimt_ed", "shimt_sm2"])
def test_signed_certificate_verifies(keys: Keys, which: str) -> None:
    info: PublicKeyInfo = getattr(keys, which)
    document = sign_payload(_payload(), keys.signer(info))
    assert document["format"] == DOCUMENT_FORMAT
    assert document["signature"]["alg"] == info.algorithm and document["signature"]["kid"] == info.kid
    check = verify_document(document, keys.keyset)
    assert check.valid, check.problems
    assert check.problems == [] and check.kid == info.kid and check.owner == "SHIMT"


@pytest.mark.parametrize("which", ["shimt_ed", "shimt_sm2"])
def test_certificate_survives_writing_to_a_file_and_reading_back(keys: Keys, which: str) -> None:
    document = sign_payload(_payload(), keys.signer(getattr(keys, which)))
    text = json.dumps(document, ensure_ascii=False, indent=2)
    assert verify_document(parse_document(text.encode("utf-8")), keys.keyset).valid


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.__setitem__("verdict", "nonconforming"),
        lambda p: p["points"][0].__setitem__("reading", "10.003"),
        lambda p: p.__setitem__("valid_until", "2035-06-30"),
        lambda p: p.__setitem__("extra", "x"),
    ],
    ids=["verdict", "nested reading", "valid_until", "added field"],
)
@pytest.mark.parametrize("which", ["shimt_ed", "shimt_sm2"])
def test_changing_one_field_breaks_the_signature(keys: Keys, which: str, tamper: Any) -> None:
    document = sign_payload(_payload(), keys.signer(getattr(keys, which)))
    tamper(document["payload"])
    check = verify_document(document, keys.keyset)
    assert not check.valid
    assert check.problems == [ALTERED]


def test_resigned_by_a_key_not_in_the_keyset_fails(keys: Keys) -> None:
    document = sign_payload(_payload(), keys.signer(keys.attacker))
    check = verify_document(document, keys.keyset)
    assert not check.valid and check.owner is None
    assert "not in the published key set" in check.problems[0]


def test_attacker_signature_under_a_trusted_kid_fails(keys: Keys) -> None:
    document = sign_payload(_payload(), keys.signer(keys.attacker))
    document["signature"]["kid"] = keys.shimt_ed.kid
    assert verify_document(document, keys.keyset).problems == [ALTERED]


def test_key_of_another_institution_cannot_sign_for_this_one(keys: Keys) -> None:
    # SHQI's key is trusted, but only for SHQI's certificates.
    document = sign_payload(_payload(issuer="SHIMT"), keys.signer(keys.shqi))
    check = verify_document(document, keys.keyset)
    assert not check.valid and check.owner == "SHQI"
    assert check.problems == [
        "the certificate says it was issued by institution 'SHIMT', but it was signed with a key of institution 'SHQI'"
    ]
    assert verify_document(sign_payload(_payload(issuer="SHQI"), keys.signer(keys.shqi)), keys.keyset).valid


def test_issuer_without_code_is_not_accepted(keys: Keys) -> None:
    payload = _payload()
    payload["issuer"] = {"name": "上海市计量测试技术研究院"}
    check = verify_document(sign_payload(payload, keys.signer(keys.shqi)), keys.keyset)
    assert not check.valid and "without an institution code" in check.problems[0]


def test_key_embedded_in_the_document_is_ignored(keys: Keys) -> None:
    # The attacker signs with their own key, claims the trusted kid and ships their public key along.
    document = sign_payload(_payload(), keys.signer(keys.attacker))
    document["signature"]["kid"] = keys.shimt_ed.kid
    document["signature"]["public_key_pem"] = keys.attacker.public_key_pem
    document["signature"]["jwk"] = {"kty": "OKP", "crv": "Ed25519"}
    document["public_key_pem"] = keys.attacker.public_key_pem
    document["keyset"] = {"keys": [KeyEntry.from_public_key(keys.attacker, not_before=SINCE).to_json()]}
    assert verify_document(document, keys.keyset).problems == [
        "the file carries fields outside the signed certificate: keyset, public_key_pem",
        "the signature block carries unknown fields: jwk, public_key_pem",
        ALTERED,
    ]
    # ...and a genuine certificate with unsigned material beside it is not vouched for either (issue 13).
    genuine = sign_payload(_payload(), keys.signer(keys.shimt_ed))
    genuine["signature"]["public_key_pem"] = keys.attacker.public_key_pem
    check = verify_document(genuine, keys.keyset)
    assert not check.valid
    assert check.problems == ["the signature block carries unknown fields: public_key_pem"]


def test_algorithm_in_document_must_match_the_keyset(keys: Keys) -> None:
    document = sign_payload(_payload(), keys.signer(keys.shimt_ed))
    document["signature"]["alg"] = SM2_SM3
    check = verify_document(document, keys.keyset)
    assert not check.valid
    assert check.problems == [
        f"the signature claims algorithm 'SM2-SM3', but key '{keys.shimt_ed.kid}' is published for 'Ed25519'"
    ]


def test_unknown_format_fails(keys: Keys) -> None:
    document = sign_payload(_payload(), keys.signer(keys.shimt_ed))
    document["format"] = "jiliang-certificate/99"
    check = verify_document(document, keys.keyset)
    assert not check.valid and "not a known certificate format" in check.problems[0]


def test_retired_key_still_verifies_certificates_it_signed(keys: Keys) -> None:
    document = sign_payload(_payload(), keys.signer(keys.shimt_ed))
    retired = KeySet(
        (
            KeyEntry.from_public_key(
                keys.shimt_ed, not_before=SINCE, not_after=datetime(2025, 1, 1, tzinfo=UTC), status="retired"
            ),
        )
    )
    assert verify_document(document, KeySet.from_json(retired.to_json())).valid


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("not a dict", "not a certificate document"),
        ({}, "no certificate content"),
        ({"format": DOCUMENT_FORMAT, "payload": {}}, "not signed"),
        ({"format": DOCUMENT_FORMAT, "payload": {}, "signature": {"alg": "Ed25519"}}, "kid missing"),
    ],
)
def test_malformed_documents_give_problems_not_exceptions(keys: Keys, document: Any, expected: str) -> None:
    check = verify_document(document, keys.keyset)
    assert not check.valid
    assert any(expected in problem for problem in check.problems)


def test_damaged_signature_value_and_float_content_are_problems(keys: Keys) -> None:
    document = sign_payload(_payload(), keys.signer(keys.shimt_ed))
    document["signature"]["value"] = "@@not base64@@"
    assert verify_document(document, keys.keyset).problems == ["the signature value is missing or damaged (not base64)"]
    document = sign_payload(_payload(), keys.signer(keys.shimt_ed))
    document["payload"]["points"][0]["reading"] = 10.002
    check = verify_document(document, keys.keyset)
    assert not check.valid and "float" in check.problems[0]


def test_sign_payload_refuses_floats_and_copies_the_payload(keys: Keys) -> None:
    with pytest.raises(TypeError, match="float"):
        sign_payload({"reading": 10.002}, keys.signer(keys.shimt_ed))
    payload = _payload()
    document = sign_payload(payload, keys.signer(keys.shimt_ed))
    payload["verdict"] = "nonconforming"
    assert document["payload"]["verdict"] == "conforming"
    assert verify_document(document, keys.keyset).valid


def test_parse_document_refuses_duplicate_fields_and_floats() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        parse_document('{"payload": {"verdict": "conforming", "verdict": "nonconforming"}}')
    with pytest.raises(ValueError, match="decimal point"):
        parse_document('{"payload": {"reading": 10.002}}')
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_document("{")
    with pytest.raises(ValueError, match="JSON object"):
        parse_document("[]")


# --- reference document: the exported format must not drift --------------------------------------

# Ed25519 signatures are deterministic (RFC 8032), so a fixed key and payload give a fixed file.
REFERENCE_SEED = bytes(range(32))
REFERENCE_PAYLOAD: dict[str, Any] = {
    "number": "SHIMT-2024-000001",
    "issuer": {"code": "SHIMT"},
    "points": [{"nominal": "10.000", "reading": "10.002"}],
    "verdict": "conforming",
}
REFERENCE_CANONICAL = (
    b'{"issuer":{"code":"SHIMT"},"number":"SHIMT-2024-000001",'
    b'"points":[{"nominal":"10.000","reading":"10.002"}],"verdict":"conforming"}'
)
REFERENCE_KID = "ed25519:a050837d85070582"
REFERENCE_SIGNATURE = "0bQQkJN0f0SsBfvk5lKMF+vvrCb3fwbtEcPEjoE8qz1307LTbe7XsS+wd0DFUlS8Am14TRdoNnxiAcwItbZpAw=="


def _reference_signer() -> Signer:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(REFERENCE_SEED)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_key_pem = pem.decode()
    return Signer(compute_kid(ED25519, public_key_pem), ED25519, public_key_pem, key.sign)


def test_reference_document_is_unchanged() -> None:
    signer = _reference_signer()
    assert canonical_json(REFERENCE_PAYLOAD) == REFERENCE_CANONICAL
    document = sign_payload(REFERENCE_PAYLOAD, signer)
    assert signer.kid == REFERENCE_KID
    assert document == {
        "format": "jiliang-certificate/1",
        "payload": REFERENCE_PAYLOAD,
        "signature": {"alg": "Ed25519", "kid": REFERENCE_KID, "value": REFERENCE_SIGNATURE},
    }
    keyset = KeySet((KeyEntry(signer.kid, ED25519, "SHIMT", signer.public_key_pem, "active", SINCE),))
    assert verify_document(document, keyset).valid
    assert len(base64.b64decode(REFERENCE_SIGNATURE)) == 64
