"""The reference tables shipped in the package, and the test vectors in tests/reference/, are
byte-identical copies of shared/reference/."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_REFERENCE = REPO_ROOT / "src" / "jiliang" / "reference"
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
COPIES = sorted(PACKAGE_REFERENCE.glob("*.csv")) + sorted((REPO_ROOT / "tests" / "reference").glob("*.json"))


def test_the_package_ships_reference_tables() -> None:
    assert COPIES, f"no CSV files in {PACKAGE_REFERENCE}"


@pytest.mark.parametrize("copy", COPIES, ids=[p.name for p in COPIES])
def test_shipped_copy_is_byte_identical_to_shared_reference(copy: Path) -> None:
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(f"{SHARED_REFERENCE} is absent: cannot compare the shipped copies with their originals")
    original = SHARED_REFERENCE / copy.name
    assert original.is_file(), f"{copy.name} has no original in {SHARED_REFERENCE}"
    assert copy.read_bytes() == original.read_bytes(), (
        f"{copy.name} differs from {original}: copy the original again, do not edit the copy"
    )
