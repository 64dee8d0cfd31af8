"""C2SP signed notes and checkpoints (c2sp.org/signed-note, tlog-checkpoint, tlog-cosignature).

A checkpoint is the note text `<origin>\\n<size>\\n<base64 root>\\n` plus extension lines (jiliang
adds `time <RFC 3339>`), followed by a blank line and signature lines `— <key name> base64(key ID ‖
signature)`. Key IDs are SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] with type 0x01 for the
platform's Ed25519 signature, 0x04 for a witness's timestamped Ed25519 cosignature, and 0xFF
followed by "jiliang/sm2-sm3" and the SubjectPublicKeyInfo for the optional SM2/SM3 co-signature
(a type the spec leaves to applications). SM2 signatures are written as r ‖ s (64 bytes), the form
GmSSL and other national-algorithm libraries exchange.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ..certificates.signing import SM2_SM3, verify_signature

__all__ = [
    "Checkpoint",
    "SigType",
    "NoteVerifier",
    "SignatureLine",
    "checkpoint_body",
    "cosignature_message",
    "parse_checkpoint",
    "parse_note",
    "signature_line",
    "split_note",
]

SigType = Literal["ed25519", "cosignature/v1", "sm2-sm3"]
_SM2_TYPE = b"\xff" + b"jiliang/sm2-sm3"
_TYPE_BYTE = {"ed25519": b"\x01", "cosignature/v1": b"\x04", "sm2-sm3": _SM2_TYPE}
_NAME = re.compile(r"^[^\s+]+$")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def key_id(name: str, sig_type: SigType, public_key: bytes) -> bytes:
    """public_key: the raw 32 bytes for Ed25519 types, the SubjectPublicKeyInfo DER for SM2."""
    return hashlib.sha256(name.encode() + b"\n" + _TYPE_BYTE[sig_type] + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        return checkpoint_body(self.origin, self.size, self.root_hash, self.extensions)

    @property
    def time(self) -> str | None:
        return next((e[5:] for e in self.extensions if e.startswith("time ")), None)


def checkpoint_body(origin: str, size: int, root_hash: bytes, extensions: Sequence[str] = ()) -> str:
    if not origin or "\n" in origin:
        raise ValueError("a checkpoint origin is one non-empty line")
    return f"{origin}\n{size}\n{b64(root_hash)}\n" + "".join(f"{e}\n" for e in extensions)


def parse_checkpoint(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[1].isdigit() or (lines[1] != "0" and lines[1][0] == "0"):
        raise ValueError("not a checkpoint: expected origin, decimal size and base64 root hash lines")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise ValueError("checkpoint root hash is not base64") from None
    if len(root) != 32:
        raise ValueError("checkpoint root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, tuple(lines[3:-1]))


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes

    @property
    def text(self) -> str:
        return f"\u2014 {self.name} {b64(self.key_id + self.signature)}\n"


def signature_line(name: str, kid: bytes, signature: bytes) -> str:
    if not _NAME.match(name):
        raise ValueError(f"key name {name!r} must be non-empty without spaces or '+'")
    return SignatureLine(name, kid, signature).text


def split_note(text: str) -> tuple[str, list[SignatureLine]]:
    """(note text, signature lines); ValueError if the note is malformed."""
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValueError("a signed note must not contain control characters")
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise ValueError("a signed note is text, a blank line, then signature lines")
    body, sigs = text[: cut + 1], text[cut + 2 :]
    lines = []
    for line in sigs.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or not _NAME.match(parts[1]):
            raise ValueError(f"malformed signature line {line!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise ValueError(f"signature of {parts[1]} is not base64") from None
        if len(raw) < 5:
            raise ValueError(f"signature of {parts[1]} is too short")
        lines.append(SignatureLine(parts[1], raw[:4], raw[4:]))
    if not lines:
        raise ValueError("a signed note needs at least one signature")
    return body, lines


def parse_note(text: str) -> tuple[Checkpoint, list[SignatureLine]]:
    body, lines = split_note(text)
    return parse_checkpoint(body), lines


def cosignature_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def sm2_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sm2_der(raw: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted key: name, signature type and public key (PEM). Verifies its line in a note."""

    name: str
    sig_type: SigType
    public_key_pem: str
    kid: str = ""  # the platform's own key id (e.g. "ed25519:…"), for reports
    _raw: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = serialization.load_pem_public_key(self.public_key_pem.encode()) if self.sig_type != "sm2-sm3" else None
        if self.sig_type == "sm2-sm3":
            raw = base64.b64decode("".join(self.public_key_pem.strip().splitlines()[1:-1]))  # SPKI DER
        elif isinstance(key, ed25519.Ed25519PublicKey):
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            raise ValueError(f"key {self.name}: not an Ed25519 public key")
        object.__setattr__(self, "_raw", raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self._raw)

    def find(self, lines: Sequence[SignatureLine]) -> SignatureLine | None:
        return next((s for s in lines if s.name == self.name and s.key_id == self.key_id), None)

    def verify(self, body: str, line: SignatureLine) -> bool:
        """Check one signature line of this key over the note text `body`."""
        if line.name != self.name or line.key_id != self.key_id:
            return False
        if self.sig_type == "sm2-sm3":
            return len(line.signature) == 64 and verify_signature(
                SM2_SM3, self.public_key_pem, body.encode(), sm2_der(line.signature)
            )
        key = ed25519.Ed25519PublicKey.from_public_bytes(self._raw)
        message, signature = body.encode(), line.signature
        if self.sig_type == "cosignature/v1":
            if len(signature) != 72:
                return False
            (timestamp,) = struct.unpack(">Q", signature[:8])
            message, signature = cosignature_message(body, timestamp), signature[8:]
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    @staticmethod
    def cosignature_time(line: SignatureLine) -> int:
        return int(struct.unpack(">Q", line.signature[:8])[0])
