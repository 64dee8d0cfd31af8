"""Signed notes against the reference vector of the Go implementation (golang.org/x/mod/sumdb/note,
note_test.go): the PeterNeumann key, its key ID and its published signature, byte for byte."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from jiliang.ledger.note import NoteVerifier, checkpoint_body, key_id, parse_checkpoint, signature_line, split_note

VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIGNED = (
    TEXT
    + "\n\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _raw(encoded: str) -> bytes:
    # name+hash+material, or PRIVATE+KEY+name+hash+material; the material may itself hold '+'
    material = base64.b64decode(encoded.split("+", 4 if encoded.startswith("PRIVATE+KEY+") else 2)[-1])
    assert material[0] == 1  # signature type 0x01: Ed25519
    return material[1:]


def _verifier() -> NoteVerifier:
    public = ed25519.Ed25519PublicKey.from_public_bytes(_raw(VKEY))
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return NoteVerifier("PeterNeumann", "ed25519", pem)


def test_key_id_matches_the_go_reference() -> None:
    assert key_id("PeterNeumann", "ed25519", _raw(VKEY)) == bytes.fromhex("c74f20a3")
    assert _verifier().key_id == bytes.fromhex("c74f20a3")


def test_signing_reproduces_the_published_note() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(_raw(SKEY))
    line = signature_line("PeterNeumann", bytes.fromhex("c74f20a3"), private.sign(TEXT.encode()))
    assert TEXT + "\n" + line == SIGNED


def test_the_published_note_verifies_and_a_changed_one_does_not() -> None:
    body, lines = split_note(SIGNED)
    assert body == TEXT and _verifier().verify(body, lines[0])
    assert not _verifier().verify(body.replace("cryptography", "cryptographY"), lines[0])


def test_checkpoint_text_round_trips() -> None:
    body = checkpoint_body("example.com/log", 20852163, bytes(32), ["time 2026-11-27T10:00:00Z"])
    assert (
        body == "example.com/log\n20852163\n" + base64.b64encode(bytes(32)).decode() + "\ntime 2026-11-27T10:00:00Z\n"
    )
    cp = parse_checkpoint(body)
    assert (cp.origin, cp.size, cp.root_hash, cp.time) == (
        "example.com/log",
        20852163,
        bytes(32),
        "2026-11-27T10:00:00Z",
    )
