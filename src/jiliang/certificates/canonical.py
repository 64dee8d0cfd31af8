"""Canonical JSON (RFC 8785, JSON Canonicalization Scheme) of the values we sign, and SHA-256 digests.

Floats are refused: a metrology value such as 10.10 must travel as the string "10.10" (from a Decimal).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import rfc8785

__all__ = ["canonical_json", "sha256_hex"]


def _check_signable(value: object, where: str) -> None:
    """Raise TypeError unless ``value`` is made only of str/int/bool/None/list/dict (with str keys)."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        raise TypeError(
            f"{where}: float {value!r} cannot be signed; floating-point numbers are ambiguous for "
            "measured values, pass the Decimal as a string instead (e.g. '10.10')"
        )
    if isinstance(value, Decimal):
        raise TypeError(f"{where}: Decimal {value} must be passed as a string (str(value)) to be signed")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_signable(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: object key {key!r} must be a string")
            _check_signable(item, f"{where}.{key}")
        return
    raise TypeError(
        f"{where}: value of type {type(value).__name__} cannot be signed "
        "(allowed: str, int, bool, None, list, dict)"
    )


def canonical_json(obj: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``obj``.

    Raises TypeError for floats, Decimals and any type other than str/int/bool/None/list/dict, and
    ValueError (``rfc8785.IntegerDomainError``) for integers outside ±(2**53 - 1).
    """
    _check_signable(obj, "$")
    return rfc8785.dumps(obj)


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hexadecimal SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()
