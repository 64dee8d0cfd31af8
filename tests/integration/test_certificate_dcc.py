"""Certificates as PTB DCC 3.3.0 XML, validated offline against the reference schemas in
../shared/reference/dcc (xmlschema, local files only), with the values held against the signed payload."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from jiliang.certificates.dcc import dcc_schema
from jiliang.verification import service as workflow
from tests.conftest import login, missing_service
from tests.integration.test_cli import cli, issued  # noqa: F401  (fixtures)
from tests.support import world
from tests.support.uncertainty_world import ev_charger_task

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dcc"
NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    if not (REFERENCE / "dcc.xsd").exists():
        missing_service(f"the DCC reference schemas are not at {REFERENCE}")
    return dcc_schema(REFERENCE)


def _dcc(client, headers, number: str):  # type: ignore[no-untyped-def]
    r = client.get(f"/api/certificates/{number}/document", params={"format": "dcc"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.dcc.xml"'
    return r.content


def _quantity(result, ref: str):  # type: ignore[no-untyped-def]
    [q] = result.xpath(f".//dcc:quantity[@refType='{ref}']", namespaces=NS)
    return q


def _value(q) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return q.findtext("si:real/si:value", namespaces=NS), q.findtext("si:real/si:unit", namespaces=NS)


def test_a_verification_certificate_is_a_schema_valid_dcc_with_its_readings(platform, client, schema) -> None:
    lab, number = world.issued_certificate(platform)
    h = login(client, lab.approver.username, world.PASSWORD)
    xml = _dcc(client, h, number)
    schema.validate(xml.decode())  # raises with the first error
    payload = client.get(f"/api/certificates/{number}", headers=h).json()["payload"]
    doc = etree.fromstring(xml)
    assert doc.get("schemaVersion") == "3.3.0"
    assert doc.findtext(".//dcc:coreData/dcc:uniqueIdentifier", namespaces=NS) == number
    assert doc.findtext(".//dcc:statement/dcc:conformity", namespaces=NS) == "pass"
    assert doc.findtext(".//dcc:statement/dcc:norm", namespaces=NS) == "JJG 539-2016"
    results = doc.xpath("//dcc:results/dcc:result", namespaces=NS)
    assert len(results) == len(payload["points"])
    for point, result in zip(sorted(payload["points"], key=lambda p: int(p["seq"])), results, strict=True):
        names = result.xpath("dcc:name/dcc:content", namespaces=NS)
        assert [n.get("lang") for n in names] == ["zh", "en"] and point["point_id"] not in names[0].text
        assert _value(_quantity(result, "basic_referenceValue")) == (point["reference"], r"\kilogram")
        assert _value(_quantity(result, "basic_measuredValue")) == (point["indication"], r"\kilogram")
        error = _quantity(result, "basic_measurementError")
        assert _value(error)[0] == (point.get("corrected_error") or point["error"])
        if point["mpe_lower"] is not None:
            assert _value(_quantity(result, "basic_toleranceLimitLower")) == (point["mpe_lower"], r"\kilogram")
            assert _value(_quantity(result, "basic_toleranceLimitUpper"))[0] == point["mpe_upper"]
        verdict = error.findtext(".//dcc:conformity", namespaces=NS)
        assert verdict == (None if point["conforms"] is None else ("pass" if point["conforms"] else "fail"))


def test_an_ev_chargers_error_carries_its_expanded_uncertainty(platform, client, schema) -> None:
    ev = ev_charger_task(platform)
    number = world.verify(platform, ev.lab, ev.task_id, [workflow.ReadingInput("energy", "10.000", "10.02")])
    h = login(client, ev.lab.approver.username, world.PASSWORD)
    xml = _dcc(client, h, number)
    schema.validate(xml.decode())
    [point] = client.get(f"/api/certificates/{number}", headers=h).json()["payload"]["points"]
    assert point["expanded_uncertainty"] is not None  # the budget gave U
    [result] = etree.fromstring(xml).xpath("//dcc:results/dcc:result", namespaces=NS)
    assert _value(_quantity(result, "basic_referenceValue")) == ("10.000", r"\kilo\watt\hour")
    # the error in energy; the relative error (what JJG 1148 limits, in %) carries U, k, the MPE and the verdict
    error = _quantity(result, "basic_measurementError")
    assert _value(error) == (point["error"], r"\kilo\watt\hour") and error.find(".//si:expandedMU", NS) is None
    relative = _quantity(result, "basic_relativeMeasurementError")
    assert _value(relative) == (point["relative_error_percent"], r"\percent")
    assert point["mpe_unit"] == point["uncertainty"]["unit"] == "%"
    mu = relative.find("si:real/si:measurementUncertaintyUnivariate/si:expandedMU", NS)
    assert mu.findtext("si:valueExpandedMU", namespaces=NS) == point["expanded_uncertainty"]
    assert mu.findtext("si:coverageFactor", namespaces=NS) == point["coverage_factor"]
    assert _value(_quantity(result, "basic_toleranceLimitUpper")) == (point["mpe_upper"], r"\percent")
    assert relative.findtext(".//dcc:conformity", namespaces=NS) == "pass"


def test_a_broken_dcc_is_caught_by_the_schema(platform, client, schema) -> None:
    """The validation the tests rely on refuses what the schema forbids (not a schema that passes all)."""
    lab, number = world.issued_certificate(platform)
    doc = etree.fromstring(_dcc(client, login(client, lab.approver.username, world.PASSWORD), number))
    core = doc.find(".//dcc:coreData", NS)
    core.remove(core.find("dcc:uniqueIdentifier", NS))
    assert not schema.is_valid(etree.tostring(doc).decode())


def test_the_cli_exports_the_dcc(cli, issued, schema, tmp_path) -> None:  # noqa: F811
    out = tmp_path / "c.xml"
    r = cli("cert", "export", issued, "--format", "dcc", "-o", str(out))
    assert r.exit_code == 0, r.output
    schema.validate(out.read_text(encoding="utf-8"))
