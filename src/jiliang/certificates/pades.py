"""PAdES signatures on PDF certificates (pyHanko): B-B with the institution's X.509 certificate, B-T
when a time-stamp server (RFC 3161) is configured; and their validation against a trusted root."""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from asn1crypto import crl as asn1_crl
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .pki import SigningMaterial

__all__ = ["PdfSignatureReport", "sign_pdf", "validate_pdf"]

FIELD = "jiliang"
# room for the CMS signature: certificate, root, signed attributes (~3 KB); with a time-stamp token
# the TSA's certificates come too
_RESERVED = 8192
_RESERVED_TSA = 32768


T = TypeVar("T")
_AWAY = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pades")


def _off_the_loop(work: Callable[[], T]) -> T:
    """pyHanko's blocking calls run their own event loop (asyncio.run): called from a thread that is
    running one already (an async caller, Playwright's sync API), they go to a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    return _AWAY.submit(work).result()


@functools.lru_cache(maxsize=64)
def _signer(material: SigningMaterial) -> signers.SimpleSigner:
    """Parsed once per certificate: a PDF's signature costs the signing, not the key loading."""
    certs = list(load_certs_from_pemder_data(material.certificate_pem.encode()))
    chain = [c for pem in material.chain_pem for c in load_certs_from_pemder_data(pem.encode())]
    return signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=load_private_key_from_pemder_data(material.private_key_pem, None),
        cert_registry=SimpleCertificateStore.from_certs([*certs[1:], *chain]),
        # a reader trusts the root from its own store; NSS (poppler, Firefox) distrusts an embedded copy
        embed_roots=False,
    )


@functools.lru_cache(maxsize=4)
def _timestamper(url: str) -> timestamps.HTTPTimeStamper:
    return timestamps.HTTPTimeStamper(url, timeout=10)


def sign_pdf(pdf: bytes, material: SigningMaterial, *, reason: str, location: str, tsa_url: str | None = None) -> bytes:
    """The PDF with an incremental-update PAdES signature (ETSI.CAdES.detached, SHA-256)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    pdf_signer = signers.PdfSigner(
        meta, signer=_signer(material), timestamper=_timestamper(tsa_url) if tsa_url else None
    )
    # a fixed reservation spares pyHanko a trial signature to measure one (half the time)
    reserved = _RESERVED_TSA if tsa_url else _RESERVED
    out = _off_the_loop(lambda: pdf_signer.sign_pdf(writer, output=io.BytesIO(), bytes_reserved=reserved))
    return out.getvalue()


@dataclass(frozen=True)
class PdfSignatureReport:
    """What a reader would show about a PDF's signature."""

    signed: bool
    intact: bool  # the signed bytes are unchanged and cover the whole file
    trusted: bool  # the signer's certificate chains to a trusted root
    revoked: bool
    signer: str | None  # the signer certificate's subject
    signed_at: datetime | None
    timestamped: bool  # a time-stamp token (PAdES B-T) that validates
    summary: str


def validate_pdf(pdf: bytes, roots_pem: list[str], crls_der: list[bytes]) -> PdfSignatureReport:
    """Validate the PDF's signature as a PDF reader would, trusting only `roots_pem` and with the
    given CRLs as the revocation information (nothing fetched from the network)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:  # pyHanko raises many kinds on a damaged file
        return PdfSignatureReport(False, False, False, False, None, None, False, f"not a readable PDF: {exc}")
    if not sigs:
        return PdfSignatureReport(False, False, False, False, None, None, False, "unsigned")
    roots = [c for pem in roots_pem for c in load_certs_from_pemder_data(pem.encode())]
    context = ValidationContext(
        trust_roots=roots,
        crls=[asn1_crl.CertificateList.load(d) for d in crls_der],
        allow_fetching=False,
        revocation_mode="hard-fail" if crls_der else "soft-fail",
    )
    sig = sigs[-1]
    try:
        status = _off_the_loop(lambda: validate_pdf_signature(sig, context))
    except Exception as exc:
        return PdfSignatureReport(True, False, False, False, None, None, False, f"signature unreadable: {exc}")
    revoked = bool(getattr(status, "revoked", False))
    timestamped = status.timestamp_validity is not None and status.timestamp_validity.intact
    return PdfSignatureReport(
        signed=True,
        intact=status.intact and status.valid and status.coverage is SignatureCoverageLevel.ENTIRE_FILE,
        trusted=status.trusted,
        revoked=revoked,
        signer=status.signing_cert.subject.human_friendly,
        signed_at=status.signer_reported_dt,
        timestamped=bool(timestamped),
        summary=status.summary(),
    )
