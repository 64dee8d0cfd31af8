"""Checkpoint keys: the SM2/SM3 co-signature interoperates with GmSSL (pure Python), rotated keys keep
old checkpoints verifiable, and a key reported compromised flags what it signed afterwards."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

from gmssl import sm2 as gmssl_sm2
from sqlalchemy import select
from tongsuopy.crypto import serialization as tongsuo_serialization

from jiliang.certificates.keys import published_keyset
from jiliang.certificates.queries import public_facts
from jiliang.certificates.tables import certificates, signing_keys
from jiliang.ledger.auditor import audit
from jiliang.ledger.bundle import ledger_bundle, verify_bundle
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.ledger.keys import PLATFORM, PLATFORM_SM2, ensure_platform_keys, mark_compromised, rotate_platform_key
from jiliang.ledger.note import NoteVerifier, signature_line, split_note
from jiliang.platform import Platform, shanghai_today
from jiliang.types import clock_at, utcnow
from tests.support import world


def _sm2_platform(platform: Platform) -> Platform:
    sm2 = Platform(replace(platform.settings, ledger_sm2=True), platform.engine)
    assert ensure_platform_keys(sm2.uow()) == 1
    return sm2


def _sm2_key(platform: Platform) -> tuple[str, str]:
    with platform.engine.connect() as c:
        row = c.execute(
            select(signing_keys).where(signing_keys.c.owner == PLATFORM_SM2, signing_keys.c.retired_at.is_(None))
        ).one()
    return row.kid, row.public_key_pem


def _gmssl(public_pem: str, private_value: int | None = None) -> gmssl_sm2.CryptSM2:
    numbers = tongsuo_serialization.load_pem_public_key(public_pem.encode()).public_numbers()
    private = None if private_value is None else f"{private_value:064x}"
    public = f"{numbers.x:064x}{numbers.y:064x}"
    gmssl = gmssl_sm2.CryptSM2(private_key=private, public_key=public)
    # its constructor lstrip()s the characters "0" and "4" from a key that starts with "04" (one key in
    # 256: x begins 04…), leaving a broken key; give it the key as it is
    gmssl.public_key = public
    return gmssl


def test_sm2_cosignature_verifies_with_gmssl(platform) -> None:
    sm2 = _sm2_platform(platform)
    world.make_owner(sm2, "310104")
    note = issue_checkpoint(sm2).note
    body, lines = split_note(note)
    kid, pem = _sm2_key(sm2)
    verifier = NoteVerifier(sm2.settings.ledger_origin, "sm2-sm3", pem)
    line = verifier.find(lines)
    assert line is not None and verifier.verify(body, line)
    # GmSSL computes e = SM3(Z_A ‖ M) with the default user id and takes r ‖ s: the same bytes verify
    assert _gmssl(pem).verify_with_sm3(line.signature.hex(), body.encode())
    assert not _gmssl(pem).verify_with_sm3(line.signature.hex(), body.encode() + b"\n")


def test_a_gmssl_signature_verifies_as_an_sm2_note_line(platform) -> None:
    sm2 = _sm2_platform(platform)
    kid, pem = _sm2_key(sm2)
    key_file = sm2.settings.data_dir / "keys" / f"{kid}.key"
    private_value = (
        tongsuo_serialization.load_pem_private_key(key_file.read_bytes(), None).private_numbers().private_value
    )
    body = "jiliang.local/ledger\n5\n" + "A" * 43 + "=\n"
    raw = bytes.fromhex(_gmssl(pem, private_value).sign_with_sm3(body.encode(), secrets.token_hex(32)))
    verifier = NoteVerifier(sm2.settings.ledger_origin, "sm2-sm3", pem)
    [line] = split_note(body + "\n" + signature_line(sm2.settings.ledger_origin, verifier.key_id, raw))[1]
    assert verifier.verify(body, line)


def _certificate(platform: Platform) -> tuple[world.Lab, str]:
    return world.issued_certificate(platform)


def test_rotated_keys_keep_old_checkpoints_verifiable(platform) -> None:
    _, number = _certificate(platform)
    issue_checkpoint(platform)
    with platform.engine.connect() as c:
        old_bundle = ledger_bundle(c, "certificate", number)
    new_kid = rotate_platform_key(platform.uow(), world.admin(platform))
    second = issue_checkpoint(platform)
    with platform.engine.connect() as c:
        keyset = published_keyset(c)
        assert (
            c.execute(select(signing_keys.c.kid).where(signing_keys.c.owner == PLATFORM)).scalars().all().count(new_kid)
            == 1
        )
        new_bundle = ledger_bundle(c, "certificate", number)
    assert second.number == 2 and new_bundle["checkpoint_number"] == 2
    assert verify_bundle(old_bundle, keyset)[0] == []
    assert verify_bundle(new_bundle, keyset)[0] == []
    assert audit(platform).clean


def test_a_compromised_platform_key_flags_later_checkpoints(platform) -> None:
    _, number = _certificate(platform)
    start = utcnow()
    first = issue_checkpoint(platform)
    world.make_owner(platform, "310105")
    with clock_at(start + timedelta(seconds=10)):
        later = issue_checkpoint(platform)
    with platform.engine.connect() as c:
        kid = c.execute(select(signing_keys.c.kid).where(signing_keys.c.owner == PLATFORM)).scalar_one()
    replacement = mark_compromised(platform.uow(), world.admin(platform), kid, start + timedelta(seconds=5))
    assert replacement is not None and replacement != kid
    found = {(f.what, f.table, f.id) for f in audit(platform).findings}
    assert found == {("compromised", "checkpoints", str(later.number))}
    with platform.engine.connect() as c:
        keyset = published_keyset(c)
        bundle = ledger_bundle(c, "certificate", number, later.number)
        early = ledger_bundle(c, "certificate", number, first.number)
    assert any("compromised" in p for p in verify_bundle(bundle, keyset)[0])
    assert verify_bundle(early, keyset)[0] == []
    world.make_owner(platform, "310106")
    fresh = issue_checkpoint(platform)  # signed by the replacement: trusted again
    with platform.engine.connect() as c:
        assert verify_bundle(ledger_bundle(c, "certificate", number, fresh.number), published_keyset(c))[0] == []


def test_a_compromised_institution_key_flags_certificates_signed_after(platform) -> None:
    lab, number = _certificate(platform)
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
        assert public_facts(c, number, cert.public_token, shanghai_today())["signature_valid"] is True
    mark_compromised(platform.uow(), world.admin(platform), cert.kid, cert.issued_at - timedelta(minutes=1))
    with platform.engine.connect() as c:
        assert public_facts(c, number, cert.public_token, shanghai_today())["signature_valid"] is False
