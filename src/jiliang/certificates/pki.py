"""The platform's own certification authority for PDF signatures (PAdES).

PDF readers validate X.509 signatures with ECDSA or RSA, not the Ed25519 / SM2 keys that sign the
certificate JSON, so `init` creates a root CA (ECDSA P-256, self-signed) and gives every institution
a certificate under it. The root and its CRL are published at /public/keys/root.crt and
/public/keys/root.crl: a reader that trusts the root shows who signed and that nothing changed. An
institution may instead bring a certificate from a licensed CA (电子签名法 第十六、十七条).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import Connection, insert, select, update

from ..audit import record_event
from ..auth import Actor
from ..db import UnitOfWork
from ..errors import InvalidInput, NotFound
from ..ledger.append import track
from ..registry.tables import institutions
from ..types import utcnow
from .signing import read_private_key_file, write_private_key_file
from .tables import x509_certificates

__all__ = [
    "ROOT_CRL_PATH",
    "ROOT_CERT_PATH",
    "SigningMaterial",
    "ensure_pdf_certificates",
    "institution_signing_material",
    "issue_institution_certificate",
    "revoke_pdf_certificate",
    "root_certificate_pem",
    "root_crl_der",
    "use_licensed_certificate",
]

ROOT_CERT_PATH = "/public/keys/root.crt"
ROOT_CRL_PATH = "/public/keys/root.crl"
_ROOT_YEARS = 20
_INSTITUTION_YEARS = 3
_RENEW_BEFORE = timedelta(days=60)  # an institution's certificate is renewed at `init` this close to expiry
_CRL_VALIDITY = timedelta(days=7)


@dataclass(frozen=True)
class SigningMaterial:
    """What signs an institution's PDFs: its certificate and key, and the chain up to a root."""

    serial: str
    certificate_pem: str  # the signer's certificate, then any intermediates of a licensed CA
    private_key_pem: bytes
    chain_pem: tuple[str, ...]  # the issuers (the platform root for platform certificates)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def _key_file(cert: x509.Certificate) -> str:
    return (
        "x509-"
        + hashlib.sha256(
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).hexdigest()[:16]
        + ".key"
    )


def _store_key(data_dir: Path, cert: x509.Certificate, key: Any) -> str:
    name = _key_file(cert)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private_key_file(data_dir, name, pem)
    return name


def _insert(
    uow: UnitOfWork, cert: x509.Certificate, key_file: str, role: str, institution_id: int | None, pem: str
) -> str:
    serial = _serial_hex(cert)
    uow.conn.execute(
        insert(x509_certificates).values(
            serial=serial,
            institution_id=institution_id,
            role=role,
            subject=cert.subject.rfc4514_string(),
            certificate_pem=pem,
            key_file=key_file,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            created_at=utcnow(),
        )
    )
    track(uow, "x509_certificate", [serial], new=True)
    return serial


def _root_row(conn: Connection) -> Any:
    return conn.execute(
        select(x509_certificates)
        .where(x509_certificates.c.role == "root")
        .order_by(x509_certificates.c.created_at.desc())
    ).first()


def _create_root(uow: UnitOfWork) -> Any:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jiliang 计量平台"),
            x509.NameAttribute(NameOID.COMMON_NAME, "jiliang 平台根证书 Platform Root CA"),
        ]
    )
    now = utcnow()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * _ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _insert(uow, cert, _store_key(uow.platform.settings.data_dir, cert, key), "root", None, _pem(cert))
    return _root_row(uow.conn)


def _usage(cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=not cert_sign,  # non-repudiation: the institution stands behind the document
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(uow: UnitOfWork, root: Any, inst: Any) -> str:
    """A platform certificate for the institution; the one it replaces is retired, not revoked."""
    data_dir = uow.platform.settings.data_dir
    root_cert = x509.load_pem_x509_certificate(root.certificate_pem.encode())
    root_key = serialization.load_pem_private_key(read_private_key_file(data_dir, root.key_file), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = utcnow()
    crl_url = uow.platform.settings.public_url.rstrip("/") + ROOT_CRL_PATH
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, inst.name_zh),
                    x509.NameAttribute(NameOID.COMMON_NAME, inst.name_zh),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, inst.code),
                ]
            )
        )
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=365 * _INSTITUTION_YEARS), root_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    _retire_current(uow, inst.id)
    return _insert(uow, cert, _store_key(data_dir, cert, key), "platform", inst.id, _pem(cert))


def _current(conn: Connection, institution_id: int) -> Any:
    return conn.execute(
        select(x509_certificates)
        .where(
            x509_certificates.c.institution_id == institution_id,
            x509_certificates.c.retired_at.is_(None),
            x509_certificates.c.revoked_at.is_(None),
        )
        .order_by(x509_certificates.c.created_at.desc())
        .limit(1)
    ).first()


def _retire_current(uow: UnitOfWork, institution_id: int) -> None:
    serials = (
        uow.conn.execute(
            select(x509_certificates.c.serial).where(
                x509_certificates.c.institution_id == institution_id,
                x509_certificates.c.retired_at.is_(None),
                x509_certificates.c.revoked_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    if serials:
        uow.conn.execute(
            update(x509_certificates).where(x509_certificates.c.serial.in_(serials)).values(retired_at=utcnow())
        )
        track(uow, "x509_certificate", serials)


def ensure_pdf_certificates(uow: UnitOfWork) -> int:
    """The root CA when there is none, and a platform certificate for every institution without a
    current one or whose current one expires within 60 days. Returns how many were made."""
    made = 0
    with uow:
        root = _root_row(uow.conn)
        if root is None:
            root = _create_root(uow)
            made += 1
        horizon = utcnow() + _RENEW_BEFORE
        for inst in uow.conn.execute(select(institutions).order_by(institutions.c.id)).all():
            current = _current(uow.conn, inst.id)
            if current is None or (current.role == "platform" and current.not_after < horizon):
                _issue(uow, root, inst)
                made += 1
        uow.commit()
    return made


def issue_institution_certificate(uow: UnitOfWork, institution_id: int) -> str:
    """A platform certificate for one institution inside the caller's transaction (a new institution's
    first; the root is made when there is none yet). Returns its serial."""
    root = _root_row(uow.conn)
    if root is None:
        root = _create_root(uow)
    inst = uow.conn.execute(select(institutions).where(institutions.c.id == institution_id)).one()
    return _issue(uow, root, inst)


def institution_signing_material(conn: Connection, data_dir: Path, institution_id: int) -> SigningMaterial | None:
    """The certificate and key that sign the institution's PDFs now (None: it has none yet)."""
    row = _current(conn, institution_id)
    if row is None:
        return None
    chain: tuple[str, ...] = ()
    if row.role == "platform":
        root = _root_row(conn)
        chain = (root.certificate_pem,) if root is not None else ()
    return SigningMaterial(row.serial, row.certificate_pem, read_private_key_file(data_dir, row.key_file), chain)


def root_certificate_pem(conn: Connection) -> str | None:
    root = _root_row(conn)
    return None if root is None else str(root.certificate_pem)


def root_crl_der(conn: Connection, data_dir: Path) -> bytes | None:
    """The root's certificate revocation list (DER), listing every revoked platform certificate."""
    root = _root_row(conn)
    if root is None:
        return None
    root_cert = x509.load_pem_x509_certificate(root.certificate_pem.encode())
    root_key = serialization.load_pem_private_key(read_private_key_file(data_dir, root.key_file), None)
    revoked = conn.execute(
        select(x509_certificates.c.serial, x509_certificates.c.revoked_at).where(
            x509_certificates.c.role == "platform", x509_certificates.c.revoked_at.is_not(None)
        )
    ).all()
    now = utcnow()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + _CRL_VALIDITY)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    for serial, revoked_at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(int(serial, 16)).revocation_date(revoked_at).build()
        )
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


def _institution(uow: UnitOfWork, code: str) -> Any:
    inst = uow.conn.execute(select(institutions).where(institutions.c.code == code)).first()
    if inst is None:
        raise NotFound(f"没有机构 {code} / no institution {code}")
    return inst


def revoke_pdf_certificate(uow: UnitOfWork, actor: Actor, serial: str, reason: str) -> str | None:
    """Revoke an institution's PDF signing certificate (its key leaked, it left the platform…): it goes
    on the root's CRL and, when it was the current one, a fresh one is issued in the same transaction.
    Returns the replacement's serial."""
    actor.require("admin")
    if not reason.strip():
        raise InvalidInput("请说明吊销原因 / give the reason for the revocation")
    with uow:
        row = uow.conn.execute(select(x509_certificates).where(x509_certificates.c.serial == serial.lower())).first()
        if row is None or row.role == "root":
            raise NotFound(f"没有机构签名证书 {serial} / no institution signing certificate {serial}")
        if row.revoked_at is not None:
            raise InvalidInput(f"证书 {serial} 已吊销 / certificate {serial} is already revoked")
        was_current = row.retired_at is None
        uow.conn.execute(
            update(x509_certificates)
            .where(x509_certificates.c.serial == row.serial)
            .values(revoked_at=utcnow(), revocation_reason=reason.strip())
        )
        track(uow, "x509_certificate", [row.serial])
        replacement = None
        if was_current:
            inst = uow.conn.execute(select(institutions).where(institutions.c.id == row.institution_id)).one()
            replacement = _issue(uow, _root_row(uow.conn), inst)
        record_event(
            uow,
            actor.user_id,
            "x509.revoked",
            "institution",
            row.institution_id,
            {"serial": row.serial},
            {"reason": reason.strip(), "replacement": replacement},
            row.institution_id,
        )
        uow.commit()
        return replacement


def _check_licensed(certs: list[x509.Certificate], key: Any) -> None:
    leaf = certs[0]
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidInput("私钥须为 ECDSA 或 RSA / the key must be ECDSA or RSA (PDF readers validate these)")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        raise InvalidInput("RSA 密钥至少 2048 位 / an RSA key needs at least 2048 bits")
    ours = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if ours != theirs:
        raise InvalidInput("私钥与证书不匹配 / the key does not belong to the certificate")
    now = utcnow()
    if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
        raise InvalidInput("证书不在有效期内 / the certificate is outside its validity period")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise InvalidInput("证书的密钥用途不含数字签名 / the certificate's key usage does not allow signing")


def use_licensed_certificate(
    uow: UnitOfWork, actor: Actor, institution_code: str, certificate_pem: bytes, private_key_pem: bytes
) -> str:
    """The institution signs its PDFs with a certificate from a licensed CA from now on (its chain
    follows the certificate in the PEM file); the platform certificate is retired."""
    actor.require("admin")
    try:
        certs = x509.load_pem_x509_certificates(certificate_pem)
        key = serialization.load_pem_private_key(private_key_pem, None)
    except ValueError as exc:
        raise InvalidInput(f"证书或私钥无法读取 / cannot read the certificate or key: {exc}") from None
    _check_licensed(certs, key)
    with uow:
        inst = _institution(uow, institution_code)
        serial = _serial_hex(certs[0])
        if uow.conn.execute(select(x509_certificates.c.serial).where(x509_certificates.c.serial == serial)).first():
            raise InvalidInput(f"证书 {serial} 已登记 / certificate {serial} is already registered")
        _retire_current(uow, inst.id)
        key_file = _store_key(uow.platform.settings.data_dir, certs[0], key)
        _insert(uow, certs[0], key_file, "licensed", inst.id, "".join(_pem(c) for c in certs))
        record_event(
            uow,
            actor.user_id,
            "x509.licensed",
            "institution",
            inst.id,
            None,
            {
                "serial": serial,
                "subject": certs[0].subject.rfc4514_string(),
                "issuer": certs[0].issuer.rfc4514_string(),
            },
            inst.id,
        )
        uow.commit()
        return serial
