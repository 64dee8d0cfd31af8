"""Canonical JSON (RFC 8785), signing keys in the data dir, signature checks and the published key set."""

from __future__ import annotations

import json
import os
import secrets
import stat
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmssl import sm2 as gmssl_sm2
from tongsuopy.crypto import serialization as tongsuo_serialization

from jiliang.certificates.canonical import canonical_json, sha256_hex
from jiliang.certificates.signing import (
    ED25519,
    SM2_SM3,
    KeyEntry,
    KeySet,
    clear_signer_cache,
    compute_kid,
    generate_key,
    load_signer,
    verify_signature,
)

ALGORITHMS = [ED25519, SM2_SM3]


@pytest.fixture(autouse=True)
def _fresh_signer_cache() -> None:
    clear_signer_cache()


# --- canonical JSON ----------------------------------------------------------------------------


def test_canonical_json_sorts_keys_by_utf16_code_units() -> None:
    # "\r" (U+000D) < "a" (U+0061) < "b" (U+0062) < "€" (U+20AC); no whitespace; UTF-8 output.
    assert canonical_json({"b": 1, "a": 2, "€": 3, "\r": 4}) == b'{"\\r":4,"a":2,"b":1,"\xe2\x82\xac":3}'


def test_canonical_json_matches_rfc8785_sorting_example() -> None:
    # RFC 8785 §3.2.3: U+1F600 is the surrogate pair D83D DE00, so it sorts *before* U+FB33 in UTF-16
    # although its code point is larger.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control",'
        b'"\xc3\xb6":"Latin Small Letter O With Diaeresis","\xe2\x82\xac":"Euro Sign",'
        b'"\xf0\x9f\x98\x80":"Emoji: Grinning Face","\xef\xac\xb3":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonical_json(value) == expected


def test_canonical_json_escapes_only_what_rfc8785_requires() -> None:
    assert canonical_json({"s": '\u0007\b"\\/'}) == b'{"s":"\\u0007\\b\\"\\\\/"}'
    assert canonical_json([True, False, None, 0, -7, "上海"]) == b'[true,false,null,0,-7,"\xe4\xb8\x8a\xe6\xb5\xb7"]'


@pytest.mark.parametrize("value", [1.5, {"reading": 10.1}, [{"points": [0.0]}]])
def test_canonical_json_rejects_floats(value: object) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_json(value)


def test_canonical_json_rejects_decimals_and_other_types() -> None:
    with pytest.raises(TypeError, match="string"):
        canonical_json({"mpe": Decimal("0.5")})
    with pytest.raises(TypeError):
        canonical_json({"when": datetime(2024, 1, 1, tzinfo=UTC)})
    with pytest.raises(TypeError, match="key"):
        canonical_json({1: "x"})


def test_sha256_hex() -> None:
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# --- keys in the data dir ----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_private_key_file_is_pkcs8_pem_readable_only_by_owner(tmp_path: Path, algorithm: str) -> None:
    info = generate_key(tmp_path, "SHIMT", algorithm)
    path = tmp_path / "keys" / f"{info.kid}.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE" not in info.public_key_pem
    assert info.owner == "SHIMT" and info.algorithm == algorithm


def test_key_file_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        info = generate_key(tmp_path, "SHIMT", ED25519)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / f"{info.kid}.key").st_mode) == 0o600


@pytest.mark.parametrize(("algorithm", "prefix"), [(ED25519, "ed25519:"), (SM2_SM3, "sm2:")])
def test_kid_is_prefix_and_16_hex_of_spki_sha256(tmp_path: Path, algorithm: str, prefix: str) -> None:
    info = generate_key(tmp_path, "SHIMT", algorithm)
    assert info.kid.startswith(prefix)
    assert len(info.kid) == len(prefix) + 16
    assert compute_kid(algorithm, info.public_key_pem) == info.kid


def test_unknown_algorithm_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown signature algorithm"):
        generate_key(tmp_path, "SHIMT", "RSA")
    with pytest.raises(ValueError, match="unknown signature algorithm"):
        verify_signature("RSA", "x", b"data", b"sig")


@pytest.mark.parametrize("kid", ["../etc/passwd", "ed25519:XYZ", "sm2:0123", "rsa:0123456789abcdef"])
def test_malformed_kid_cannot_reach_the_file_system(tmp_path: Path, kid: str) -> None:
    with pytest.raises(ValueError, match="malformed key id"):
        load_signer(tmp_path, kid)


def test_missing_key_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no private key"):
        load_signer(tmp_path, "ed25519:0123456789abcdef")


def test_key_file_swapped_under_another_kid_is_refused(tmp_path: Path) -> None:
    first = generate_key(tmp_path, "SHIMT", ED25519)
    second = generate_key(tmp_path, "SHIMT", ED25519)
    keys = tmp_path / "keys"
    (keys / f"{first.kid}.key").write_bytes((keys / f"{second.kid}.key").read_bytes())
    with pytest.raises(ValueError, match="does not match its key id"):
        load_signer(tmp_path, first.kid)


# --- signing and verifying ---------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_verify_round_trip(tmp_path: Path, algorithm: str) -> None:
    info = generate_key(tmp_path, "SHIMT", algorithm)
    signer = load_signer(tmp_path, info.kid)
    assert (signer.kid, signer.algorithm, signer.public_key_pem) == (info.kid, algorithm, info.public_key_pem)
    signature = signer.sign(b"certificate SH2024-000001")
    assert verify_signature(algorithm, info.public_key_pem, b"certificate SH2024-000001", signature)
    assert not verify_signature(algorithm, info.public_key_pem, b"certificate SH2024-000002", signature)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signature_of_another_key_does_not_verify(tmp_path: Path, algorithm: str) -> None:
    ours = generate_key(tmp_path, "SHIMT", algorithm)
    theirs = generate_key(tmp_path, "ATTACKER", algorithm)
    signature = load_signer(tmp_path, theirs.kid).sign(b"data")
    assert not verify_signature(algorithm, ours.public_key_pem, b"data", signature)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("garbage", [b"", b"\x00" * 64, b"\x30\x02\x02\x00", b"not a signature", b"\xff" * 72])
def test_garbage_signature_is_false_not_an_exception(tmp_path: Path, algorithm: str, garbage: bytes) -> None:
    info = generate_key(tmp_path, "SHIMT", algorithm)
    assert verify_signature(algorithm, info.public_key_pem, b"data", garbage) is False


def test_sm2_signature_with_non_canonical_der_is_refused(tmp_path: Path) -> None:
    info = generate_key(tmp_path, "SHIMT", SM2_SM3)
    good = load_signer(tmp_path, info.kid).sign(b"data")
    r, s = decode_dss_signature(good)
    assert verify_signature(SM2_SM3, info.public_key_pem, b"data", encode_dss_signature(r, s))
    padded = good + b"\x00"
    assert not verify_signature(SM2_SM3, info.public_key_pem, b"data", padded)


def test_public_key_of_the_wrong_algorithm_is_a_configuration_error(tmp_path: Path) -> None:
    ed = generate_key(tmp_path, "SHIMT", ED25519)
    with pytest.raises(ValueError, match="SM2-SM3"):
        verify_signature(SM2_SM3, ed.public_key_pem, b"data", b"sig")
    with pytest.raises(ValueError):
        verify_signature(ED25519, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", b"d", b"s")


def test_loaded_signers_are_cached_and_not_reread(tmp_path: Path) -> None:
    info = generate_key(tmp_path, "SHIMT", ED25519)
    signer = load_signer(tmp_path, info.kid)
    (tmp_path / "keys" / f"{info.kid}.key").unlink()
    assert load_signer(tmp_path, info.kid) is signer
    clear_signer_cache()
    with pytest.raises(FileNotFoundError):
        load_signer(tmp_path, info.kid)


def test_signer_repr_does_not_show_key_material(tmp_path: Path) -> None:
    info = generate_key(tmp_path, "SHIMT", SM2_SM3)
    text = repr(load_signer(tmp_path, info.kid))
    assert info.kid in text and "PRIVATE" not in text


# --- interoperability with an independent SM2 implementation (gmssl, pure Python) ----------------


def _gmssl_for(public_key_pem: str) -> gmssl_sm2.CryptSM2:
    numbers = tongsuo_serialization.load_pem_public_key(public_key_pem.encode()).public_numbers()
    crypt = gmssl_sm2.CryptSM2(private_key=None, public_key="")
    # set after construction: gmssl's constructor strips a leading "04" with lstrip("04"), which also eats
    # the leading 0s and 4s of x (one key in eight starts with "04": the test failed at random)
    crypt.public_key = f"{numbers.x:064x}{numbers.y:064x}"
    return crypt


def test_sm2_signature_verifies_with_gmssl_default_user_id(tmp_path: Path) -> None:
    info = generate_key(tmp_path, "SHIMT", SM2_SM3)
    data = canonical_json({"number": "SH2024-000001", "issuer": {"code": "SHIMT"}})
    r, s = decode_dss_signature(load_signer(tmp_path, info.kid).sign(data))  # DER -> (r, s)
    raw_hex = f"{r:064x}{s:064x}"
    crypt = _gmssl_for(info.public_key_pem)
    # gmssl: e = SM3(Z_A || M) with Z_A over the default id "1234567812345678" (GB/T 32918.2 §5.5)
    assert crypt.verify_with_sm3(raw_hex, data)
    assert not crypt.verify_with_sm3(raw_hex, data + b" ")
    # Without Z_A it must fail: the signature is SM2-with-SM3, not a bare signature over the message.
    assert not crypt.verify(raw_hex, data)


def test_gmssl_sm2_signature_verifies_with_us(tmp_path: Path) -> None:
    info = generate_key(tmp_path, "SHIMT", SM2_SM3)
    pem = (tmp_path / "keys" / f"{info.kid}.key").read_bytes()
    private_value = tongsuo_serialization.load_pem_private_key(pem, None).private_numbers().private_value
    numbers = tongsuo_serialization.load_pem_public_key(info.public_key_pem.encode()).public_numbers()
    crypt = gmssl_sm2.CryptSM2(private_key=f"{private_value:064x}", public_key=f"{numbers.x:064x}{numbers.y:064x}")
    raw_hex = crypt.sign_with_sm3(b"data", secrets.token_hex(32))
    der = encode_dss_signature(int(raw_hex[:64], 16), int(raw_hex[64:], 16))
    assert verify_signature(SM2_SM3, info.public_key_pem, b"data", der)


# --- the published key set ---------------------------------------------------------------------


def _keyset(tmp_path: Path) -> KeySet:
    ed = generate_key(tmp_path, "SHIMT", ED25519)
    sm = generate_key(tmp_path, "SHQI", SM2_SM3)
    since = datetime(2024, 1, 1, tzinfo=UTC)
    return KeySet(
        (
            KeyEntry.from_public_key(ed, not_before=since),
            KeyEntry.from_public_key(
                sm, not_before=since, not_after=datetime(2025, 1, 1, tzinfo=UTC), status="retired"
            ),
        )
    )


def test_keyset_json_round_trip(tmp_path: Path) -> None:
    keyset = _keyset(tmp_path)
    published = json.loads(json.dumps(keyset.to_json()))
    assert set(published["keys"][0]) == {
        "kid",
        "alg",
        "owner",
        "public_key_pem",
        "status",
        "not_before",
        "not_after",
        "compromised_from",
    }
    assert published["keys"][0]["not_after"] is None and published["keys"][0]["compromised_from"] is None
    assert published["keys"][1]["status"] == "retired"
    again = KeySet.from_json(published)
    assert again == keyset
    first = keyset.keys[0]
    assert again.get(first.kid) == first
    assert again.get("ed25519:0000000000000000") is None
    marked = dict(published["keys"][0], compromised_from="2025-06-01T00:00:00+00:00")
    entry = KeyEntry.from_json(marked)
    assert entry.compromised_at("2025-06-01T00:00:00+00:00") and not entry.compromised_at("2025-05-31T23:59:59+00:00")
    assert entry.compromised_at("not a time")  # unknown signing time: assume the worst


def test_keyset_refuses_a_kid_that_does_not_match_its_key(tmp_path: Path) -> None:
    published = _keyset(tmp_path).to_json()
    published["keys"][0]["kid"] = "ed25519:0000000000000000"
    with pytest.raises(ValueError, match="does not match"):
        KeySet.from_json(published)


def test_keyset_refuses_duplicates_and_bad_fields(tmp_path: Path) -> None:
    keyset = _keyset(tmp_path)
    with pytest.raises(ValueError, match="twice"):
        keyset.with_key(keyset.keys[0])
    published = keyset.to_json()
    published["keys"][0]["not_before"] = "2024-01-01T00:00:00"
    with pytest.raises(ValueError, match="time zone"):
        KeySet.from_json(published)
    published = keyset.to_json()
    published["keys"][0]["status"] = "revoked?"
    with pytest.raises(ValueError, match="status"):
        KeySet.from_json(published)
    with pytest.raises(ValueError, match="keys"):
        KeySet.from_json({})
