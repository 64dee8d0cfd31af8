"""Signing keys for electronic certificates: Ed25519 and SM2 with SM3 (GB/T 32918.2, GM/T 0003), key
files in the data dir, signature checks, and the published key set (JSON) that verifiers trust.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization as crypto_serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from tongsuopy.crypto import exceptions as tongsuo_exceptions
from tongsuopy.crypto import hashes as tongsuo_hashes
from tongsuopy.crypto import serialization as tongsuo_serialization
from tongsuopy.crypto.asymciphers import ec as tongsuo_ec

__all__ = [
    "ALGORITHMS",
    "ED25519",
    "SM2_SM3",
    "KeyEntry",
    "KeySet",
    "KeyStatus",
    "PublicKeyInfo",
    "Signer",
    "clear_signer_cache",
    "compute_kid",
    "generate_key",
    "load_signer",
    "read_private_key_file",
    "verify_signature",
    "write_private_key_file",
]

ED25519 = "Ed25519"
SM2_SM3 = "SM2-SM3"
ALGORITHMS: tuple[str, ...] = (ED25519, SM2_SM3)
_KID_PREFIX = {ED25519: "ed25519", SM2_SM3: "sm2"}
_ALGORITHM_BY_PREFIX = {prefix: alg for alg, prefix in _KID_PREFIX.items()}
_KID_PATTERN = re.compile(r"^(ed25519|sm2):[0-9a-f]{16}$")
# SM2 with SM3 digest and the default user id "1234567812345678" (GB/T 32918.2 §5.5, Z_A).
_SM2_WITH_SM3 = tongsuo_ec.ECDSA(tongsuo_hashes.SM3())
_SM2_ORDER = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)

KeyStatus = Literal["active", "retired"]


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in _KID_PREFIX:
        expected = ", ".join(ALGORITHMS)
        raise ValueError(f"unknown signature algorithm {algorithm!r}; expected one of {expected}")


def _kid_from_spki(algorithm: str, spki_der: bytes) -> str:
    return f"{_KID_PREFIX[algorithm]}:{hashlib.sha256(spki_der).hexdigest()[:16]}"


def _spki_der(algorithm: str, public_key: Any) -> bytes:
    if algorithm == ED25519:
        return cast(
            bytes,
            public_key.public_bytes(
                crypto_serialization.Encoding.DER, crypto_serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
    return cast(
        bytes,
        public_key.public_bytes(
            tongsuo_serialization.Encoding.DER, tongsuo_serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def _public_pem(algorithm: str, public_key: Any) -> str:
    if algorithm == ED25519:
        pem = public_key.public_bytes(
            crypto_serialization.Encoding.PEM, crypto_serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        pem = public_key.public_bytes(
            tongsuo_serialization.Encoding.PEM, tongsuo_serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return cast(bytes, pem).decode("ascii")


@functools.lru_cache(maxsize=1024)  # keys are immutable; parsing a PEM costs more than verifying
def _load_public_key(algorithm: str, public_key_pem: str) -> Any:
    """Parse a SubjectPublicKeyInfo PEM for ``algorithm``; ValueError if it is not such a key."""
    _check_algorithm(algorithm)
    data = public_key_pem.encode("ascii", errors="replace")
    try:
        if algorithm == ED25519:
            key: Any = crypto_serialization.load_pem_public_key(data)
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
        else:
            key = tongsuo_serialization.load_pem_public_key(data)
            if not isinstance(key, tongsuo_ec.EllipticCurvePublicKey) or not isinstance(key.curve, tongsuo_ec.SM2):
                raise ValueError("not an SM2 key")
    except (ValueError, TypeError, tongsuo_exceptions.UnsupportedAlgorithm) as exc:
        raise ValueError(f"public key is not a valid {algorithm} public key (PEM): {exc}") from exc
    except Exception as exc:  # tongsuopy reports malformed input as InternalError
        raise ValueError(f"public key is not a valid {algorithm} public key (PEM)") from exc
    return key


def compute_kid(algorithm: str, public_key_pem: str) -> str:
    """Key id: algorithm prefix + first 16 hex digits of SHA-256 of the SubjectPublicKeyInfo DER."""
    return _kid_from_spki(algorithm, _spki_der(algorithm, _load_public_key(algorithm, public_key_pem)))


@dataclass(frozen=True)
class PublicKeyInfo:
    """The public half of a freshly generated key, safe to publish."""

    kid: str
    algorithm: str
    owner: str
    public_key_pem: str


def _keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys"


def write_private_key_file(data_dir: Path, name: str, pem: bytes) -> None:
    """A new private key file ``data_dir/keys/<name>`` (mode 0600); never overwrites one."""
    keys_dir = _keys_dir(data_dir)
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = keys_dir / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.chmod(path, 0o600)  # exact mode whatever the umask
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(pem)
    finally:
        if fd != -1:
            os.close(fd)


def read_private_key_file(data_dir: Path, name: str) -> bytes:
    if "/" in name or name.startswith("."):
        raise ValueError(f"malformed key file name {name!r}")
    path = _keys_dir(data_dir) / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no private key {name!r} in {path.parent}") from None


def generate_key(data_dir: Path, owner: str, algorithm: str) -> PublicKeyInfo:
    """Create a key pair; the private key goes to ``data_dir/keys/<kid>.key`` (PKCS#8 PEM, mode 0600)."""
    _check_algorithm(algorithm)
    if not isinstance(owner, str) or not owner.strip():
        raise ValueError("a signing key needs an owner (the institution code)")
    private_key: Any
    if algorithm == ED25519:
        private_key = ed25519.Ed25519PrivateKey.generate()
        private_pem = private_key.private_bytes(
            crypto_serialization.Encoding.PEM,
            crypto_serialization.PrivateFormat.PKCS8,
            crypto_serialization.NoEncryption(),
        )
    else:
        private_key = tongsuo_ec.generate_private_key(tongsuo_ec.SM2())
        private_pem = private_key.private_bytes(
            tongsuo_serialization.Encoding.PEM,
            tongsuo_serialization.PrivateFormat.PKCS8,
            tongsuo_serialization.NoEncryption(),
        )
    public_key = private_key.public_key()
    kid = _kid_from_spki(algorithm, _spki_der(algorithm, public_key))
    write_private_key_file(data_dir, f"{kid}.key", private_pem)
    return PublicKeyInfo(kid=kid, algorithm=algorithm, owner=owner, public_key_pem=_public_pem(algorithm, public_key))


class Signer:
    """A loaded private key that signs bytes; never exposes the private key itself."""

    __slots__ = ("kid", "algorithm", "public_key_pem", "_sign")

    def __init__(self, kid: str, algorithm: str, public_key_pem: str, sign: Callable[[bytes], bytes]) -> None:
        self.kid = kid
        self.algorithm = algorithm
        self.public_key_pem = public_key_pem
        self._sign = sign

    def sign(self, data: bytes) -> bytes:
        """Ed25519: 64-byte signature; SM2-SM3: DER SEQUENCE {r, s} over SM3(Z_A || data)."""
        return self._sign(data)

    def __repr__(self) -> str:
        return f"Signer(kid={self.kid!r}, algorithm={self.algorithm!r})"


def _check_kid(kid: str) -> str:
    if not isinstance(kid, str) or not _KID_PATTERN.match(kid):
        raise ValueError(f"malformed key id {kid!r} (expected e.g. 'ed25519:' or 'sm2:' + 16 hex digits)")
    return _ALGORITHM_BY_PREFIX[kid.split(":", 1)[0]]


@functools.lru_cache(maxsize=256)
def _load_signer_cached(data_dir: str, kid: str) -> Signer:
    algorithm = _check_kid(kid)
    path = _keys_dir(Path(data_dir)) / f"{kid}.key"
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no private key {kid!r} in {path.parent}") from None
    private_key: Any
    if algorithm == ED25519:
        private_key = crypto_serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise ValueError(f"key file {path} does not hold an Ed25519 key")
        sign: Callable[[bytes], bytes] = private_key.sign
    else:
        private_key = tongsuo_serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key.curve, tongsuo_ec.SM2):
            raise ValueError(f"key file {path} does not hold an SM2 key")
        sm2_key = private_key

        def sign(data: bytes) -> bytes:
            return cast(bytes, sm2_key.sign(data, _SM2_WITH_SM3))

    public_key = private_key.public_key()
    if _kid_from_spki(algorithm, _spki_der(algorithm, public_key)) != kid:
        raise ValueError(f"key file {path} does not match its key id (file renamed or replaced?)")
    return Signer(kid, algorithm, _public_pem(algorithm, public_key), sign)


def load_signer(data_dir: Path, kid: str) -> Signer:
    """Load (once, then from an in-process cache) the private key ``kid`` from ``data_dir/keys``."""
    _check_kid(kid)
    return _load_signer_cached(os.fspath(data_dir), kid)


def clear_signer_cache() -> None:
    """Forget loaded private keys (e.g. after a key file was destroyed)."""
    _load_signer_cached.cache_clear()


def _verify_sm2(public_key: Any, data: bytes, signature: bytes) -> bool:
    # Pre-check the DER ourselves: tongsuopy reports malformed DER as an InternalError.
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        return False
    if not (0 < r < _SM2_ORDER and 0 < s < _SM2_ORDER) or encode_dss_signature(r, s) != signature:
        return False
    try:
        public_key.verify(signature, data, _SM2_WITH_SM3)
    except (tongsuo_exceptions.InvalidSignature, tongsuo_exceptions.InternalError):
        return False
    return True


def verify_signature(algorithm: str, public_key_pem: str, data: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is valid over ``data``; ValueError for an unknown algorithm or bad key PEM."""
    _check_algorithm(algorithm)
    public_key = _load_public_key(algorithm, public_key_pem)
    if not isinstance(signature, (bytes, bytearray)):
        return False
    signature = bytes(signature)
    if algorithm == ED25519:
        if len(signature) != 64:
            return False
        try:
            public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
    return _verify_sm2(public_key, data, signature)


def _parse_time(value: object, field: str, kid: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"key {kid}: {field} must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"key {kid}: {field} {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"key {kid}: {field} {value!r} must carry a time zone (UTC, e.g. '+00:00')")
    return moment


@dataclass(frozen=True)
class KeyEntry:
    """One published public key: who owns it, its algorithm, and when it may be used."""

    kid: str
    alg: str
    owner: str
    public_key_pem: str
    status: KeyStatus
    not_before: datetime
    not_after: datetime | None = None
    compromised_from: datetime | None = None  # what it signed from then on is not to be trusted

    @classmethod
    def from_public_key(
        cls,
        info: PublicKeyInfo,
        not_before: datetime,
        not_after: datetime | None = None,
        status: KeyStatus = "active",
    ) -> KeyEntry:
        return cls(info.kid, info.algorithm, info.owner, info.public_key_pem, status, not_before, not_after)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyEntry:
        """Parse and check one entry; ValueError names the key and the faulty field."""
        kid = data.get("kid")
        if not isinstance(kid, str):
            raise ValueError("key set entry without a 'kid'")
        alg = data.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise ValueError(f"key {kid}: unknown algorithm {alg!r}")
        owner, pem, status = data.get("owner"), data.get("public_key_pem"), data.get("status")
        if not isinstance(owner, str) or not owner:
            raise ValueError(f"key {kid}: 'owner' must be a non-empty string")
        if not isinstance(pem, str):
            raise ValueError(f"key {kid}: 'public_key_pem' must be a PEM string")
        if status not in ("active", "retired"):
            raise ValueError(f"key {kid}: status must be 'active' or 'retired', not {status!r}")
        if compute_kid(alg, pem) != kid:
            raise ValueError(f"key {kid}: the key id does not match its public key")
        not_after_raw = data.get("not_after")
        not_after = None if not_after_raw is None else _parse_time(not_after_raw, "not_after", kid)
        compromised_raw = data.get("compromised_from")
        compromised = None if compromised_raw is None else _parse_time(compromised_raw, "compromised_from", kid)
        return cls(
            kid=kid,
            alg=alg,
            owner=owner,
            public_key_pem=pem,
            status=cast(KeyStatus, status),
            not_before=_parse_time(data.get("not_before"), "not_before", kid),
            not_after=not_after,
            compromised_from=compromised,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "owner": self.owner,
            "public_key_pem": self.public_key_pem,
            "status": self.status,
            "not_before": self.not_before.isoformat(),
            "not_after": None if self.not_after is None else self.not_after.isoformat(),
            "compromised_from": None if self.compromised_from is None else self.compromised_from.isoformat(),
        }

    def compromised_at(self, moment: datetime | str | None) -> bool:
        """Was the key already reported compromised when it signed at `moment` (unknown: assume so)?"""
        if self.compromised_from is None:
            return False
        if isinstance(moment, str):
            try:
                moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
            except ValueError:
                moment = None
        return moment is None or moment.tzinfo is None or moment >= self.compromised_from


@dataclass(frozen=True)
class KeySet:
    """The published set of trusted public keys, JSON: ``{"keys": [KeyEntry.to_json(), ...]}``."""

    keys: tuple[KeyEntry, ...] = ()
    _by_kid: dict[str, KeyEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = tuple(self.keys)
        by_kid: dict[str, KeyEntry] = {}
        for entry in entries:
            if entry.kid in by_kid:
                raise ValueError(f"key {entry.kid} appears twice in the key set")
            by_kid[entry.kid] = entry
        object.__setattr__(self, "keys", entries)
        object.__setattr__(self, "_by_kid", by_kid)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeySet:
        keys = data.get("keys") if isinstance(data, Mapping) else None
        if not isinstance(keys, list):
            raise ValueError("a key set is a JSON object with a 'keys' list")
        if not all(isinstance(entry, Mapping) for entry in keys):
            raise ValueError("each entry of a key set's 'keys' list must be a JSON object")
        return cls(tuple(KeyEntry.from_json(entry) for entry in keys))

    def to_json(self) -> dict[str, Any]:
        return {"keys": [entry.to_json() for entry in self.keys]}

    def get(self, kid: str) -> KeyEntry | None:
        return self._by_kid.get(kid)

    def with_key(self, entry: KeyEntry) -> KeySet:
        """A new key set with ``entry`` added."""
        return KeySet((*self.keys, entry))
