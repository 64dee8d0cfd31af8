"""The fast canonical-JSON path must give exactly the bytes of the reference RFC 8785 implementation."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from jiliang.certificates.canonical import canonical_json

_scalars = st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_canonical_json_equals_rfc8785_reference(value):
    try:
        expected = rfc8785.dumps(value)
    except Exception:  # noqa: BLE001 - e.g. lone surrogates: both must refuse
        try:
            canonical_json(value)
        except Exception:  # noqa: BLE001
            return
        raise AssertionError("canonical_json accepted what RFC 8785 refuses") from None
    assert canonical_json(value) == expected


def test_keys_outside_the_bmp_sort_by_utf16_code_units():
    # U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16 order, after it by code point
    value = {"\ufb33": 1, "\U0001f600": 2}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U0001f600".encode()) < canonical_json(value).index("\ufb33".encode())
