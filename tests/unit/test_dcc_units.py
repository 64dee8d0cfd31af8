"""Every measurement point of every shipped procedure has a unit the DCC export can write in D-SI, so
any certificate the platform issues exports (a unit without a D-SI form would be refused, 409)."""

from __future__ import annotations

import pytest

from jiliang.certificates.dcc import DSI_UNITS, _dsi
from jiliang.errors import RuleViolation
from jiliang.measurement.procedure import load_procedures


def test_every_shipped_points_unit_has_a_dsi_form() -> None:
    procedures = load_procedures()
    assert len(procedures) >= 12
    units = {p.unit.strip() for proc in procedures.values() for ed in proc.editions for p in ed.points}
    assert units and units <= DSI_UNITS.keys(), units - DSI_UNITS.keys()


def test_a_unit_without_a_dsi_form_is_refused_by_name() -> None:
    assert _dsi("kWh") == r"\kilo\watt\hour" and _dsi(" °C ") == r"\degreecelsius"
    with pytest.raises(RuleViolation, match="furlong"):
        _dsi("furlong")
