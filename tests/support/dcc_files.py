"""The PTB example DCC 3.3.0 files in the shared reference set (../shared/reference/dcc/examples): the
same temperature calibration unsigned and with an enveloped signature (a PTB test certificate)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXAMPLES", "SIGNED", "UNSIGNED"]

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dcc" / "examples"
UNSIGNED = EXAMPLES / "dcclib_valid_temperature_v3.3.0.xml"
SIGNED = EXAMPLES / "dcclib_valid_signature_temperature_v3.3.0.xml"
