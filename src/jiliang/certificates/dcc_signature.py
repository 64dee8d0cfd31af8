"""The enveloped XML signature (W3C XML-DSig) of an imported DCC, verified with signxml: who signed it
(the X.509 subject of the certificate in its KeyInfo) and whether the signature holds. Without a trust
root the signer's certificate is only the key that checks the signature, not a proof of who the
signer is; with one (`trust_root`, PEM) the certificate must chain to it as well.

Only what the signature covers is read afterwards (the signed element signxml returns), so nothing
can be slipped in beside a valid signature.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from ..errors import InvalidInput

__all__ = ["DSIG", "SignatureCheck", "signature_summary", "verify_dcc_signature"]

DSIG = "http://www.w3.org/2000/09/xmldsig#"
_DCC_ROOT = "{https://ptb.de/dcc}digitalCalibrationCertificate"


class _Refused(InvalidInput):
    rule = "dcc_signature"


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome: "unsigned", "valid" (the signature holds; its certificate is not checked against a
    trusted root) or "trusted" (it holds and its certificate chains to the given root)."""

    status: str
    subject: str | None = None  # the signer's X.509 subject (RFC 4514, e-mail as E=)
    not_before: datetime | None = None  # the signer's certificate is valid from … to …
    not_after: datetime | None = None

    def text(self, today: datetime | None = None) -> str:
        """The outcome as the user reads it (中文 / English)."""
        if self.status == "unsigned":
            return "未签名 / unsigned"
        period = ""
        if self.not_before and self.not_after:
            period = f"；证书有效期 {self.not_before:%Y-%m-%d} 至 {self.not_after:%Y-%m-%d}"
            if today is not None and not self.not_before <= today <= self.not_after:
                period += "（今日不在有效期内 / not valid today）"
        if self.status == "trusted":
            return (
                f"签名有效，签名人证书可追溯至给定的根证书：{self.subject}{period} / the signature is valid and the "
                f"signer's certificate chains to the given trust root: {self.subject}"
            )
        return (
            f"签名有效，签名人 {self.subject}；未对照可信根证书核验签名人证书{period} / the signature is valid, "
            f"signed by {self.subject}; the signer's certificate was not checked against a trusted root "
            "(give one with --trust-root)"
        )


def signature_summary(status: str, subject: str | None) -> str:
    """A stored calibration's DCC signature in a line (中文 / English), for lists of standards."""
    if status == "trusted":
        return f"DCC 已签名，可追溯至可信根证书：{subject} / DCC signed, chaining to a trusted root: {subject}"
    if status == "valid":
        return (
            f"DCC 已签名（签名有效，签名人证书未对照可信根核验）：{subject} / DCC signed (valid; the signer's "
            f"certificate not checked against a trusted root): {subject}"
        )
    return "DCC 未签名 / DCC unsigned"


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string({NameOID.EMAIL_ADDRESS: "E"})


def _pem(b64: str) -> x509.Certificate:
    body = "".join(b64.split())
    return x509.load_pem_x509_certificate(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode())


def _embedded(signature: etree._Element) -> list[x509.Certificate]:
    texts = [t or "" for t in signature.xpath(".//ds:X509Certificate/text()", namespaces={"ds": DSIG})]
    try:
        return [_pem(str(t)) for t in texts]
    except ValueError:
        raise _Refused("签名中的 X.509 证书无法读取 / the X.509 certificate in the signature cannot be read") from None


def _verify(data: bytes, certs: Sequence[x509.Certificate]) -> tuple[x509.Certificate, etree._Element]:
    """The signature checked with the key of each embedded certificate in turn: the one that verifies
    it and what it signs. The certificate's own validity dates are reported, not judged, here: a DCC
    carries no signed time, so whether it was signed while the certificate was valid is unknown."""
    from signxml import SignatureConfiguration, XMLVerifier
    from signxml.exceptions import SignXMLException

    last: Exception | None = None
    for cert in certs:
        config = SignatureConfiguration(verification_time=cert.not_valid_before_utc)
        try:
            result = XMLVerifier().verify(data, x509_cert=cert, expect_config=config)
        except (SignXMLException, ValueError) as exc:
            last = exc
            continue
        return cert, result.signed_xml  # type: ignore[union-attr]
    raise _Refused(f"DCC 的签名无效，未导入 / the DCC's signature does not verify, nothing was imported: {last}")


def _verify_trusted(data: bytes, trust_root: bytes) -> None:
    """The signer's certificate (from the signature) must chain to `trust_root` today."""
    from signxml import XMLVerifier
    from signxml.exceptions import SignXMLException

    try:
        x509.load_pem_x509_certificates(trust_root)
    except ValueError:
        raise _Refused(
            "给定的根证书不是 PEM 格式的 X.509 证书 / the trust root is not a PEM X.509 certificate"
        ) from None
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(trust_root)
        XMLVerifier().verify(data, ca_pem_file=path)
    except (SignXMLException, ValueError) as exc:
        raise _Refused(
            f"签名人证书不能由给定的根证书验证，未导入 / the signer's certificate does not chain to the given "
            f"trust root, nothing was imported: {exc}"
        ) from None
    finally:
        os.unlink(path)


def verify_dcc_signature(
    data: bytes, root: etree._Element, trust_root: bytes | None = None
) -> tuple[SignatureCheck, etree._Element]:
    """The DCC's signature checked, and the element to read: the signed root (the signature taken
    out), or `root` itself when unsigned. A signature that does not verify is refused."""
    signatures = list(root.iter(f"{{{DSIG}}}Signature"))
    if not signatures:
        if trust_root is not None:
            raise _Refused("给定了根证书，但 DCC 没有签名 / a trust root was given but the DCC is not signed")
        return SignatureCheck("unsigned"), root
    if len(signatures) > 1:
        raise _Refused(
            f"DCC 有 {len(signatures)} 个签名，目前只能核验一个 / the DCC carries {len(signatures)} signatures; "
            "only a single enveloped signature is verified"
        )
    certs = _embedded(signatures[0])
    if not certs:
        raise _Refused(
            "签名中没有 X.509 证书，无法确定签名人 / the signature carries no X.509 certificate: who signed is unknown"
        )
    cert, signed = _verify(data, certs)
    if signed.tag != _DCC_ROOT or signed.find(f"{{{DSIG}}}Signature") is not None:
        raise _Refused(
            "签名未覆盖整份 DCC / the signature does not cover the whole DCC (an enveloped signature on the root)"
        )
    status = "valid"
    if trust_root is not None:
        _verify_trusted(data, trust_root)
        status = "trusted"
    return SignatureCheck(status, _subject(cert), cert.not_valid_before_utc, cert.not_valid_after_utc), signed
