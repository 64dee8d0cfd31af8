"""Certificate tables: gap-free counters, certificates, published signing keys."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text

from ..db import metadata
from ..types import UtcDateTime

__all__ = ["certificate_counters", "certificates", "signing_keys", "x509_certificates"]

# One row per institution and year; incremented inside the issuing transaction, so a rolled-back
# issuance gives its number back and concurrent issuers queue on the row lock.
certificate_counters = Table(
    "certificate_counters",
    metadata,
    Column("institution_id", ForeignKey("institutions.id"), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("institution_id", ForeignKey("institutions.id"), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # verification | nonconformity | calibration
    Column("record_id", ForeignKey("verification_records.id"), nullable=False),
    Column("instrument_id", ForeignKey("instruments.id"), nullable=False, index=True),
    Column("owner_id", ForeignKey("owners.id"), nullable=False, index=True),
    Column("issued_at", UtcDateTime, nullable=False, index=True),  # supervision: certificates per month
    Column("valid_until", Date),
    # RFC 8785 canonical JSON, exactly the signed bytes: made by the platform's serialiser, never typed in
    Column("payload", Text, nullable=False, info={"well_formed": "canonical JSON: valid UTF-8, NUL escaped"}),
    Column("signature_alg", String(16), nullable=False),
    Column("kid", String(64), nullable=False),
    Column("signature", String(256), nullable=False),  # base64
    Column("public_token", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # valid | superseded | revoked
    Column("supersedes_id", ForeignKey("certificates.id"), index=True),  # a page links to its replacement
    Column("revoked_at", UtcDateTime),
    Column("revocation_reason", Text),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("owner", String(32), nullable=False),  # institution code
    Column("algorithm", String(16), nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
    # reported stolen: whatever it signed from this moment on is flagged, not trusted
    Column("compromised_from", UtcDateTime),
)

# X.509 certificates for signing PDFs (PAdES): the platform's root CA (institution_id NULL) and the
# certificates it issues to institutions, or one an institution brings from a licensed CA (电子签名法).
# The private keys stay in data_dir/keys/<key_file>; a revoked certificate goes on the root's CRL.
x509_certificates = Table(
    "x509_certificates",
    metadata,
    Column("serial", String(40), primary_key=True),  # hex
    Column("institution_id", ForeignKey("institutions.id"), index=True),
    Column("role", String(16), nullable=False),  # root | platform | licensed
    Column("subject", Text, nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("key_file", String(64), nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),  # replaced by a newer one: stays valid for what it signed
    Column("revoked_at", UtcDateTime),
    Column("revocation_reason", Text),
)
