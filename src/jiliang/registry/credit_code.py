"""Unified social credit code 统一社会信用代码 (GB 32100-2015): normalisation and the check character.

GB 32100-2015 §4: 18 characters from a 31-character alphabet; position 18 is a check character
computed with weights 3^(i-1) mod 31 over positions 1–17 (see shared/reference/credit-code.md).
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "WEIGHTS",
    "CreditCodeError",
    "check_character",
    "make_credit_code",
    "normalise_credit_code",
    "validate_credit_code",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100 (no I, O, Z, S, V); each is worth its index 0–30."""

CODE_LENGTH = 18

WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(CODE_LENGTH - 1))
"""Weights W_i = 3^(i-1) mod 31 for positions i = 1…17."""

_VALUES = {ch: value for value, ch in enumerate(ALPHABET)}


class CreditCodeError(ValueError):
    """A credit code that is not a valid GB 32100 code; the message is Chinese first, then English."""


def normalise_credit_code(code: str) -> str:
    """Full-width characters become half-width (NFKC), whitespace is removed, letters upper-cased."""
    folded = unicodedata.normalize("NFKC", code)
    return "".join(folded.split()).upper()


def _check_alphabet(code: str) -> None:
    for position, ch in enumerate(code, start=1):
        if ch not in _VALUES:
            raise CreditCodeError(
                f"统一社会信用代码第 {position} 位字符 “{ch}” 不合法"
                "（只允许数字和除 I、O、Z、S、V 以外的大写字母）"
                f" / character '{ch}' at position {position} is not allowed"
                " (digits and capital letters except I, O, Z, S, V)"
            )


def check_character(first17: str) -> str:
    """Check character for the first 17 characters (GB 32100-2015 §4.2).

    C18 = ALPHABET[(31 − Σ value(C_i) × W_i mod 31) mod 31].
    """
    body = normalise_credit_code(first17)
    if len(body) != CODE_LENGTH - 1:
        raise CreditCodeError(
            f"计算校验码需要 17 位本体代码，实际为 {len(body)} 位"
            f" / the check character needs 17 characters, got {len(body)}"
        )
    _check_alphabet(body)
    total = sum(_VALUES[ch] * weight for ch, weight in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the normalised code, or raise CreditCodeError naming what is wrong."""
    normalised = normalise_credit_code(code)
    if len(normalised) != CODE_LENGTH:
        raise CreditCodeError(
            f"统一社会信用代码应为 18 位，实际为 {len(normalised)} 位"
            f" / a unified social credit code has 18 characters, got {len(normalised)}"
        )
    _check_alphabet(normalised)
    expected = check_character(normalised[:-1])
    if normalised[-1] != expected:
        raise CreditCodeError(
            f"校验码错误：应为 {expected}，实际为 {normalised[-1]}"
            f" / check character should be {expected}, not {normalised[-1]}"
        )
    return normalised


def make_credit_code(prefix17: str) -> str:
    """Complete 17 characters with their check character (for demo and test data)."""
    body = normalise_credit_code(prefix17)
    return body + check_character(body)
