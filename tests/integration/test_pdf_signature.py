"""PDF certificates are signed (PAdES) with the institution's X.509 certificate under the platform's
root CA: checked with pyHanko's validator against the root and CRL the platform publishes, as a PDF
reader that trusts the root would; a changed byte, a revoked certificate, an untrusted root and a
time-stamp server (PAdES B-T) are each seen."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from sqlalchemy import select, update

from jiliang.certificates.pades import PdfSignatureReport, validate_pdf
from jiliang.certificates.pki import revoke_pdf_certificate, use_licensed_certificate
from jiliang.certificates.printed import certificate_pdf
from jiliang.certificates.tables import certificates, x509_certificates
from jiliang.errors import InvalidInput
from jiliang.ledger.auditor import audit
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.platform import Platform
from tests.conftest import login, missing_service
from tests.integration.test_cli import cli  # noqa: F401  (fixture)
from tests.support import tamper, world


def _download(client, number: str, lab) -> bytes:  # type: ignore[no-untyped-def]
    h = login(client, lab.approver.username, world.PASSWORD)
    r = client.get(f"/api/certificates/{number}/document", params={"format": "pdf"}, headers=h)
    assert r.status_code == 200, r.text
    return r.content


def _published(client) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    """The root and CRL as anyone fetches them: no login."""
    root = client.get("/public/keys/root.crt")
    crl = client.get("/public/keys/root.crl")
    assert root.status_code == 200 and crl.status_code == 200
    assert root.headers["content-type"] == "application/x-pem-file"
    assert crl.headers["content-type"] == "application/pkix-crl"
    return root.text, crl.content


def _institution_name(platform: Platform, lab) -> str:  # type: ignore[no-untyped-def]
    from jiliang.registry.tables import institutions

    with platform.engine.connect() as c:
        return str(c.execute(select(institutions.c.name_zh).where(institutions.c.id == lab.institution_id)).scalar())


@pytest.fixture
def signed(platform, client):  # type: ignore[no-untyped-def]
    lab, number = world.issued_certificate(platform)
    return lab, number, _download(client, number, lab)


def test_the_pdf_signature_validates_against_the_published_root(platform, client, signed) -> None:
    lab, number, pdf = signed
    root, crl = _published(client)
    report = validate_pdf(pdf, [root], [crl])
    assert (report.signed, report.intact, report.trusted, report.revoked) == (True, True, True, False)
    assert _institution_name(platform, lab) in (report.signer or "")
    assert report.signed_at is not None and abs(report.signed_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert not report.timestamped  # no time-stamp server configured: PAdES B-B
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES, not adbe.pkcs7
    assert number in str(sig.sig_object["/Reason"])


def _pdfsig(pdf: bytes, tmp_path, nssdir=None) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    args = ["pdfsig", *(["-nssdir", f"sql:{nssdir}"] if nssdir else []), str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=False).stdout


def test_a_pdf_reader_shows_the_signer_and_trusts_it_once_the_root_is(platform, client, signed, tmp_path) -> None:
    """poppler's pdfsig with an NSS trust store (as Firefox and many readers keep one): an independent
    reader's verdict, not pyHanko's."""
    if not (shutil.which("pdfsig") and shutil.which("certutil")):
        missing_service("pdfsig (poppler-utils) or certutil (libnss3-tools) not installed")
    lab, _, pdf = signed
    root, _ = _published(client)
    (tmp_path / "root.crt").write_text(root)
    nss = tmp_path / "nssdb"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    before = _pdfsig(pdf, tmp_path, nss)
    assert "Signature is Valid." in before and "Certificate is Trusted." not in before, before
    assert f"Signer Certificate Common Name: {_institution_name(platform, lab)}" in before
    assert "Total document signed" in before
    trust = [
        "certutil",
        "-A",
        "-d",
        f"sql:{nss}",
        "-n",
        "jiliang root",
        "-t",
        "CT,CT,CT",
        "-i",
        str(tmp_path / "root.crt"),
    ]
    subprocess.run(trust, check=True)
    after = _pdfsig(pdf, tmp_path, nss)
    assert "Signature is Valid." in after and "Certificate is Trusted." in after, after
    at = pdf.index(b"ReportLab")
    assert "Digest Mismatch." in _pdfsig(pdf[:at] + b"ReportLaX" + pdf[at + 9 :], tmp_path, nss)


def test_one_changed_byte_breaks_the_signature(client, signed) -> None:
    _, _, pdf = signed
    root, crl = _published(client)
    at = pdf.index(b"ReportLab")  # the Info dictionary, inside the signed byte range
    changed = pdf[:at] + b"ReportLaX" + pdf[at + 9 :]
    assert len(changed) == len(pdf)
    report = validate_pdf(changed, [root], [crl])
    assert report.signed and not report.intact


def test_an_untrusted_root_is_reported(client, signed) -> None:
    _, _, pdf = signed
    other_root = _ca("另一个根 Another root")[0]
    report = validate_pdf(pdf, [other_root.public_bytes(serialization.Encoding.PEM).decode()], [])
    assert report.intact and not report.trusted


def test_a_revoked_institution_certificate_is_reported_and_replaced(platform, client, signed) -> None:
    lab, number, pdf = signed
    with platform.engine.connect() as c:
        serial = c.execute(
            select(x509_certificates.c.serial).where(
                x509_certificates.c.institution_id == lab.institution_id, x509_certificates.c.retired_at.is_(None)
            )
        ).scalar_one()
    replacement = revoke_pdf_certificate(platform.uow(), world.admin(platform), serial, "私钥泄露 key leaked")
    assert replacement and replacement != serial
    root, crl = _published(client)
    assert int(serial, 16) in {r.serial_number for r in x509.load_der_x509_crl(crl)}
    report = validate_pdf(pdf, [root], [crl])
    assert report.intact and report.revoked and not report.trusted
    fresh = validate_pdf(_download(client, number, lab), [root], [crl])  # signed by the replacement
    assert (fresh.intact, fresh.trusted, fresh.revoked) == (True, True, False)
    with pytest.raises(InvalidInput):
        revoke_pdf_certificate(platform.uow(), world.admin(platform), serial, "again")


def test_the_cli_checks_a_pdf_as_a_reader_would(cli, platform, client, signed, tmp_path) -> None:  # noqa: F811
    _, _, pdf = signed
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(pdf)
    at = pdf.index(b"ReportLab")
    bad.write_bytes(pdf[:at] + b"XeportLab" + pdf[at + 9 :])
    ok = cli("pdf-cert", "verify", str(good))
    assert ok.exit_code == 0 and "签名有效" in ok.output, ok.output
    broken = cli("pdf-cert", "verify", str(bad))
    assert broken.exit_code == 1 and "改动" in broken.output, broken.output


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A stand-in for a licensed CA (or a time-stamp authority's root): test data, not the platform's code."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issued_by(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], name: str, eku: x509.ObjectIdentifier | None = None
) -> tuple[x509.Certificate, Any]:
    # pyHanko's reference time-stamp authority signs with RSA only
    key: Any = ec.generate_private_key(ec.SECP256R1()) if eku is None else rsa.generate_private_key(65537, 2048)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=300))
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    else:  # a document-signing certificate: digital signature and non-repudiation
        usage = dict.fromkeys(
            ("key_encipherment", "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign"), False
        )
        usage |= {"encipher_only": False, "decipher_only": False}
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=True, **usage), critical=True
        )
    return builder.sign(ca[1], hashes.SHA256()), key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_an_institution_signs_with_a_certificate_from_a_licensed_ca(platform, client, signed) -> None:
    lab, number, _ = signed
    licensed_ca = _ca("某电子认证服务机构 Licensed CA")
    cert, key = _issued_by(licensed_ca, "区计量所 licensed")
    code = "D310104"  # world.issued_certificate's lab
    assert world.institution_id(platform, code) == lab.institution_id
    admin = world.admin(platform)
    with pytest.raises(InvalidInput, match="does not belong"):
        use_licensed_certificate(
            platform.uow(), admin, code, _pem(cert), _key_pem(ec.generate_private_key(ec.SECP256R1()))
        )
    use_licensed_certificate(platform.uow(), admin, code, _pem(cert), _key_pem(key))
    pdf = _download(client, number, lab)
    root, crl = _published(client)
    theirs = validate_pdf(pdf, [_pem(licensed_ca[0]).decode()], [])
    assert (theirs.intact, theirs.trusted) == (True, True) and "licensed" in (theirs.signer or "")
    assert not validate_pdf(pdf, [root], [crl]).trusted  # the platform root vouches only for its own


class _TimeStampServer(BaseHTTPRequestHandler):
    """An RFC 3161 time-stamp authority over HTTP (pyHanko's reference implementation)."""

    stamper: DummyTimeStamper

    def do_POST(self) -> None:  # noqa: N802
        request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
        body = self.stamper.request_tsa_response(request).dump()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_configured_time_stamp_server_makes_it_pades_b_t(settings, signed, client) -> None:
    _, number, _ = signed
    tsa_root = _ca("时间戳根 TSA root")
    tsa_cert, tsa_key = _issued_by(tsa_root, "时间戳服务 TSA", ExtendedKeyUsageOID.TIME_STAMPING)
    handler = type("Handler", (_TimeStampServer,), {})
    handler.stamper = DummyTimeStamper(
        tsa_cert=next(iter(load_certs_from_pemder_data(_pem(tsa_cert)))),
        tsa_key=load_private_key_from_pemder_data(_key_pem(tsa_key), None),
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        timed = Platform(replace(settings, tsa_url=f"http://127.0.0.1:{server.server_address[1]}/"))
        with timed.engine.connect() as c:
            pdf = certificate_pdf(
                c, timed, c.execute(select(certificates).where(certificates.c.number == number)).one()
            )
        timed.engine.dispose()
    finally:
        server.shutdown()
    root, crl = _published(client)
    report = validate_pdf(pdf, [root, _pem(tsa_root[0]).decode()], [crl])
    assert (report.intact, report.trusted, report.timestamped) == (True, True, True)


def test_a_signing_certificate_changed_with_sql_is_named(platform, signed) -> None:
    lab, _, _ = signed
    issue_checkpoint(platform)
    assert not audit(platform).findings
    tamper.sql(
        platform,
        update(x509_certificates)
        .where(x509_certificates.c.institution_id == lab.institution_id)
        .values(revoked_at=None, key_file="x509-0000000000000000.key"),
    )
    found = {(f.what, f.table) for f in audit(platform).findings}
    assert ("changed", "x509_certificates") in found


def test_signing_and_checking_work_inside_a_running_event_loop(platform, client, signed) -> None:
    """An async caller (or Playwright's sync API in the same thread) has a loop running: pyHanko's
    blocking calls, which start their own, must still work."""
    _, number, pdf = signed
    root, crl = _published(client)

    async def inside() -> tuple[PdfSignatureReport, bytes]:
        with platform.engine.connect() as c:
            row = c.execute(select(certificates).where(certificates.c.number == number)).one()
            return validate_pdf(pdf, [root], [crl]), certificate_pdf(c, platform, row)

    # a thread of its own: this one may be running Playwright's loop already (browser tests first)
    with ThreadPoolExecutor(1) as pool:
        report, again = pool.submit(asyncio.run, inside()).result()
    assert report.intact and report.trusted
    assert validate_pdf(again, [root], [crl]).intact
