"""GB 32100-2015 unified social credit code: check character and validation (reference/credit-code.md)."""

from __future__ import annotations

import pytest

from jiliang.registry.credit_code import (
    ALPHABET,
    WEIGHTS,
    CreditCodeError,
    check_character,
    make_credit_code,
    validate_credit_code,
)

EXAMPLE = "91350100M000100Y43"  # the valid example in credit-code.md


def test_alphabet_has_31_characters_without_i_o_z_s_v() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOZSV") & set(ALPHABET)


def test_weights_are_powers_of_three_mod_31_as_documented() -> None:
    documented = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert WEIGHTS == documented
    assert WEIGHTS == tuple(3 ** (i - 1) % 31 for i in range(1, 18))


def test_check_character_of_documented_example_by_hand() -> None:
    # Σ value × weight for 91350100M000100Y4, then 31 − (Σ mod 31), 31 → 0.
    body = EXAMPLE[:17]
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(body, WEIGHTS, strict=True))
    expected = ALPHABET[(31 - total % 31) % 31]
    assert expected == "3"
    assert check_character(body) == "3"


def test_documented_example_is_valid() -> None:
    assert validate_credit_code(EXAMPLE) == EXAMPLE


def test_example_with_last_character_4_is_rejected_naming_the_right_check_character() -> None:
    with pytest.raises(CreditCodeError) as err:
        validate_credit_code(EXAMPLE[:-1] + "4")
    message = str(err.value)
    assert "校验码错误：应为 3" in message
    assert "check character should be 3" in message
    assert message.index("校验码") < message.index("check character")  # Chinese first


@pytest.mark.parametrize(
    "raw",
    [
        "91350100m000100y43",
        "  91350100M000100Y43\n",
        "9135 0100 M000 100Y 43",
        "\u3000９１３５０１００Ｍ０００１００Ｙ４３",  # full-width IME input
    ],
)
def test_lower_case_spaced_and_full_width_input_is_normalised(raw: str) -> None:
    assert validate_credit_code(raw) == EXAMPLE


@pytest.mark.parametrize("raw", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_wrong_length_is_rejected_with_the_length(raw: str) -> None:
    with pytest.raises(CreditCodeError, match=r"应为 18 位.*18 characters, got \d+"):
        validate_credit_code(raw)


@pytest.mark.parametrize(("position", "bad"), [(9, "I"), (3, "O"), (18, "Z"), (12, "-")])
def test_character_outside_the_alphabet_is_named_with_its_position(position: int, bad: str) -> None:
    code = EXAMPLE[: position - 1] + bad + EXAMPLE[position:]
    with pytest.raises(CreditCodeError) as err:
        validate_credit_code(code)
    message = str(err.value)
    assert f"第 {position} 位字符 “{bad}”" in message
    assert f"'{bad}' at position {position}" in message


def test_check_value_31_becomes_0() -> None:
    # Σ = 0, so 31 − 0 = 31, which the rule maps to value 0, character "0".
    body = "0" * 17
    assert check_character(body) == "0"


def test_credit_code_error_is_a_value_error() -> None:
    assert issubclass(CreditCodeError, ValueError)


def test_check_character_rejects_a_body_of_the_wrong_length() -> None:
    with pytest.raises(CreditCodeError, match="17"):
        check_character("1234")


@pytest.mark.parametrize("prefix", ["91310000MA1FL0000", "91310115123456789", "12310000425000000"])
def test_made_codes_validate(prefix: str) -> None:
    code = make_credit_code(prefix)
    assert len(code) == 18 and code.startswith(prefix)
    assert validate_credit_code(code) == code
