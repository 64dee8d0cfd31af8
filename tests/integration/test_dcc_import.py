"""DCC 3.3.0 both ways (issue 15, point 3): every shipped procedure's certificate exports a schema-valid
DCC that reads back to exactly its signed payload; a DCC is imported as the calibration certificate of
a standard (the lab, number and date it names; the institution's interval; its U per range feeding the
budgets), its enveloped signature verified; bad input is refused with nothing written.

Expected numbers come from the stored payloads and the DCC files' own text (read here with lxml), never
from the parser under test."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from jiliang.audit import audit_events
from jiliang.certificates.dcc import dcc_schema
from jiliang.certificates.dcc_import import DccError, read_dcc, unit_text
from jiliang.certificates.printed import certificate_dcc
from jiliang.certificates.tables import certificates
from jiliang.demo.readings import verification_readings
from jiliang.errors import InvalidInput, NotFound
from jiliang.ledger.tables import ledger_leaves
from jiliang.platform import shanghai_today
from jiliang.registry import dcc_calibration
from jiliang.registry import service as registry
from jiliang.registry.dcc_calibration import import_dcc_calibration
from jiliang.registry.periods import add_months
from jiliang.registry.tables import standard_calibration_ranges, standard_calibrations, standards
from jiliang.verification import service as workflow
from jiliang.verification.tables import measurement_points, tasks
from tests.conftest import missing_service
from tests.integration.test_cli import cli  # noqa: F401  (fixture)
from tests.support import world
from tests.support.owner_pages import page_login
from tests.support.uncertainty_world import budget_standards, register_ev_charger, register_thermometer, thermometer_u

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dcc"
EXAMPLES = REFERENCE / "examples"
UNSIGNED = EXAMPLES / "dcclib_valid_temperature_v3.3.0.xml"
SIGNED = EXAMPLES / "dcclib_valid_signature_temperature_v3.3.0.xml"
NS = {"dcc": "https://ptb.de/dcc", "si": "https://ptb.de/si"}
BATH = {"temperature": "20.5 °C", "bath_uniformity": "0.01", "bath_stability": "0.005"}


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    if not (REFERENCE / "dcc.xsd").exists():
        missing_service(f"the DCC reference schemas are not at {REFERENCE}")
    return dcc_schema(REFERENCE)


def _payload(platform, number: str) -> dict:  # type: ignore[no-untyped-def]
    import json

    with platform.engine.connect() as c:
        return json.loads(c.execute(select(certificates.c.payload).where(certificates.c.number == number)).scalar())


def _export(platform, number: str) -> bytes:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        cert = c.execute(select(certificates).where(certificates.c.number == number)).one()
    return certificate_dcc(platform, cert)


def _record(platform, lab, task, readings, standard_ids, stage="subsequent", environment=None) -> int:  # type: ignore[no-untyped-def]
    return workflow.record_results(
        platform.uow(),
        world.confirm(platform, lab.verifier),
        task,
        workflow.ResultsInput(
            performed_on=shanghai_today(),
            standard_ids=standard_ids,
            readings=readings,
            stage=stage,
            environment=environment or {"temperature": "20.5 °C"},
        ),
    )


def _issue(platform, lab, task, readings, standard_ids, stage="subsequent", environment=None) -> str:  # type: ignore[no-untyped-def]
    rid = _record(platform, lab, task, readings, standard_ids, stage, environment)
    workflow.check_record(platform.uow(), world.confirm(platform, lab.checker), rid)
    return workflow.approve_record(platform.uow(), world.confirm(platform, lab.approver), rid)


def _register(platform, owner, item, type_name, procedure, params) -> int:  # type: ignore[no-untyped-def]
    return registry.register_instrument(
        platform.uow(),
        owner,
        registry.InstrumentRegistration(
            item_code=item,
            name=f"{procedure} 器具",
            serial_no=f"DCC-{procedure}-{random.randrange(10**9)}",
            use="trade",
            type_id=world.type_id(platform, item, type_name) if type_name else None,
            procedure_code=procedure,
            parameters=params,
        ),
    )


# (procedure, catalogue item, type, parameters, (point, reference) pairs, stage)
VERIFIED = (
    ("energy_meter", "energy_meter", "电子式交流电能表", {"accuracy_class": "2", "resolution": "0.0001"},
     (("pf1_low", "1.0000"), ("pf1", "10.0000"), ("pf05_low", "1.0000"), ("pf05", "5.0000")), "initial"),
    ("ev_charger_dc", "ev_charger", "电动汽车非车载充电机", {"accuracy_class": "1", "resolution": "0.01"},
     (("energy", "10.00"),), "subsequent"),
    ("fuel_dispenser", "fuel_dispenser", "燃油加油机", {"resolution": "0.01"},
     (("volume", "20.00"),) * 3, "subsequent"),
    ("gas_detector", "gas_detector", None, {"full_scale": "100", "resolution": "1"},
     (("concentration", "20"), ("concentration", "50")), "subsequent"),
    ("gas_meter", "gas_meter", "膜式燃气表 (天然气)", {"accuracy_class": "1.5", "resolution": "0.1"},
     (("qmin", "20.0"), ("qt", "50.0"), ("qmax", "100.0")), "initial"),
    ("sphygmomanometer", "sphygmomanometer", "血压计和血压表", {"resolution": "0.1"},
     (("zero", "0.0"), ("indication", "8.0"), ("indication", "16.0"), ("indication", "32.0")), "subsequent"),
    ("taximeter", "taximeter", None, {"resolution": "0.001"},
     (("distance", "1.000"), ("distance", "3.000")), "in_service"),
    ("water_meter", "water_meter", "饮用冷水水表 DN<=25",
     {"accuracy_class": "2", "resolution": "0.01", "water_temperature": "0.1-30"},
     (("Q1", "10.00"), ("Q2", "20.00"), ("Q3", "100.00")), "initial"),
)  # fmt: skip


def _issue_every_procedure(platform) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One certificate per shipped procedure: the district institute verifies what it is authorised for,
    the city institute the rest (and calibrates the thermometer)."""
    owner = world.make_owner(platform, "310104")
    city = world.make_lab(platform, "SIMT", ["energy_meter", "ev_charger", "gas_detector", "gas_meter"])
    district = world.make_lab(
        platform, "D310104", ["nawi", "fuel_dispenser", "sphygmomanometer", "water_meter", "taximeter"]
    )
    labs = {lab.institution_id: lab for lab in (city, district)}
    budget = budget_standards(platform, city)  # a standard meter with relative U, a standard thermometer
    procedures, on, rng = platform.procedures, shanghai_today(), random.Random(15)
    out = {}

    def issue(iid, readings, stage="subsequent", standards=None, **kw):  # type: ignore[no-untyped-def]
        [task] = workflow.apply(platform.uow(), owner, [iid], **kw)
        with platform.engine.connect() as c:
            lab = labs[c.execute(select(tasks.c.institution_id).where(tasks.c.id == task)).scalar_one()]
        environment = BATH if kw else None
        return _issue(platform, lab, task, readings, standards or [lab.standard_id], stage, environment)

    for code, item, type_name, params, points, stage in VERIFIED:
        readings = verification_readings(procedures[code], on, stage, params, points, True, rng)
        out[code] = issue(_register(platform, owner, item, type_name, code, params), readings, stage)
    for code in ("nawi", "price_scale"):
        out[code] = issue(world.scale(platform, owner, procedure_code=code), world.SCALE_PASS)
    ev = register_ev_charger(platform, owner, "EV-DCC-1")
    out["ev_charger_ac"] = issue(ev, [workflow.ReadingInput("energy", "10.000", "10.02")], standards=[budget["energy"]])
    readings = [
        workflow.ReadingInput("t1", "20.000", "20.03"),
        workflow.ReadingInput("t3", "50.000", "49.98"),
        workflow.ReadingInput("t5", "90.000", "90.05"),
    ]
    thermometer = register_thermometer(platform, owner, "TH-DCC-1")
    out["thermometer_calibration"] = issue(
        thermometer, readings, None, [budget["thermometer"]], kind="calibration", conformity_statement=False
    )
    return out


def _by_ref(quantities, ref: str):  # type: ignore[no-untyped-def]
    found = [q for q in quantities if ref in q.ref_type.split()]
    assert len(found) <= 1, [q.name for q in found]
    return found[0] if found else None


def test_every_shipped_procedures_certificate_exports_a_valid_dcc_that_reads_back_to_its_payload(
    platform, schema
) -> None:
    numbers = _issue_every_procedure(platform)
    assert set(numbers) == set(platform.procedures), set(platform.procedures) ^ set(numbers)
    with_u = 0
    for code, number in sorted(numbers.items()):
        xml = _export(platform, number)
        schema.validate(xml.decode())
        payload = _payload(platform, number)
        dcc = read_dcc(xml, schema=schema)
        assert dcc.unique_identifier == number and dcc.signature.status == "unsigned", code
        results = {}
        for q in dcc.quantities:
            results.setdefault(q.result, []).append(q)
        points = sorted(payload["points"], key=lambda p: int(p["seq"]))
        assert len(results) == len(points), code
        for point, (title, quantities) in zip(points, results.items(), strict=True):
            where = f"{code} point {point['seq']}"
            label = platform.procedures[code].edition_on(shanghai_today()).point(point["point_id"]).label_zh
            assert title == f"{int(point['seq']) + 1}. {label}", where  # the point's name, not its code
            reference, indication = (
                _by_ref(quantities, "basic_referenceValue"),
                _by_ref(quantities, "basic_measuredValue"),
            )
            assert [v.value for v in reference.values] == [point["reference"]], where
            assert [v.value for v in indication.values] == [point["indication"]], where
            assert reference.name == "标准值" and indication.name == "示值", where  # the DCC's Chinese names
            assert "\\" not in reference.values[0].unit, where
            error = _by_ref(quantities, "basic_measurementError")
            assert error.values[0].value == (point.get("corrected_error") or point["error"]), where
            relative = _by_ref(quantities, "basic_relativeMeasurementError")
            if relative is not None:
                assert relative.values[0].value == point["relative_error_percent"], where
            if point.get("mpe_lower") is not None:
                assert _by_ref(quantities, "basic_toleranceLimitLower").values[0].value == point["mpe_lower"], where
                assert _by_ref(quantities, "basic_toleranceLimitUpper").values[0].value == point["mpe_upper"], where
            stated = [(v.expanded_uncertainty, v.coverage_factor) for q in quantities for v in q.uncertain]
            if point.get("expanded_uncertainty") is not None:
                with_u += 1
                assert stated == [(point["expanded_uncertainty"], point["coverage_factor"])], where
                [holder] = [v for q in quantities for v in q.uncertain]
                assert holder.applies_to is not None and holder.applies_to.lower == point["reference"], where
            else:
                assert stated == [], where
    assert with_u >= 4  # the EV charger's and the thermometer's points carry U


# --- a DCC made for these tests: U per temperature range --------------------------------------------

RANGED = """<?xml version="1.0" encoding="UTF-8"?>
<dcc:digitalCalibrationCertificate xmlns:dcc="https://ptb.de/dcc" xmlns:si="https://ptb.de/si" schemaVersion="3.3.0">
  <dcc:administrativeData>
    <dcc:dccSoftware><dcc:software><dcc:name><dcc:content>test</dcc:content></dcc:name>
      <dcc:release>1</dcc:release></dcc:software></dcc:dccSoftware>
    <dcc:coreData>
      <dcc:countryCodeISO3166_1>CN</dcc:countryCodeISO3166_1>
      <dcc:usedLangCodeISO639_1>en</dcc:usedLangCodeISO639_1>
      <dcc:usedLangCodeISO639_1>zh</dcc:usedLangCodeISO639_1>
      <dcc:mandatoryLangCodeISO639_1>zh</dcc:mandatoryLangCodeISO639_1>
      <dcc:uniqueIdentifier>{number}</dcc:uniqueIdentifier>
      <dcc:beginPerformanceDate>{begin}</dcc:beginPerformanceDate>
      <dcc:endPerformanceDate>{end}</dcc:endPerformanceDate>
      <dcc:performanceLocation>laboratory</dcc:performanceLocation>
    </dcc:coreData>
    <dcc:items><dcc:item><dcc:name><dcc:content>二等标准铂电阻温度计</dcc:content></dcc:name>
      <dcc:identifications><dcc:identification><dcc:issuer>manufacturer</dcc:issuer><dcc:value>PT-7</dcc:value>
      </dcc:identification></dcc:identifications></dcc:item></dcc:items>
    <dcc:calibrationLaboratory><dcc:contact>
      <dcc:name><dcc:content lang="en">National Institute of Metrology, China</dcc:content>
        <dcc:content lang="zh">中国计量科学研究院</dcc:content></dcc:name>
      <dcc:location><dcc:city>北京</dcc:city></dcc:location></dcc:contact></dcc:calibrationLaboratory>
    <dcc:respPersons><dcc:respPerson><dcc:person><dcc:name><dcc:content>张三</dcc:content></dcc:name></dcc:person>
      </dcc:respPerson></dcc:respPersons>
    <dcc:customer><dcc:name><dcc:content>上海市计量测试技术研究院</dcc:content></dcc:name>
      <dcc:location><dcc:city>上海</dcc:city></dcc:location></dcc:customer>
  </dcc:administrativeData>
  <dcc:measurementResults><dcc:measurementResult>
    <dcc:name><dcc:content>校准结果</dcc:content></dcc:name>
    <dcc:results><dcc:result>
      <dcc:name><dcc:content lang="en">Corrections</dcc:content><dcc:content lang="zh">修正值</dcc:content></dcc:name>
      <dcc:data><dcc:list>
        <dcc:quantity refType="basic_validityRangeMin"><dcc:name><dcc:content>min</dcc:content></dcc:name>
          <si:realListXMLList><si:valueXMLList>0 50</si:valueXMLList>
          <si:unitXMLList>\\degreecelsius</si:unitXMLList></si:realListXMLList></dcc:quantity>
        <dcc:quantity refType="basic_validityRangeMax"><dcc:name><dcc:content>max</dcc:content></dcc:name>
          <si:realListXMLList><si:valueXMLList>50 100</si:valueXMLList>
          <si:unitXMLList>\\degreecelsius</si:unitXMLList></si:realListXMLList></dcc:quantity>
        <dcc:quantity refType="basic_measurementError">
          <dcc:name><dcc:content lang="en">error</dcc:content><dcc:content lang="zh">示值误差</dcc:content></dcc:name>
          <si:realListXMLList><si:valueXMLList>0.01 -0.02</si:valueXMLList>
            <si:unitXMLList>\\degreecelsius</si:unitXMLList>
            <si:measurementUncertaintyUnivariateXMLList><si:expandedMUXMLList>
              <si:valueExpandedMUXMLList>{u_low} {u_high}</si:valueExpandedMUXMLList>
              <si:coverageFactorXMLList>2</si:coverageFactorXMLList>
              <si:coverageProbabilityXMLList>0.95</si:coverageProbabilityXMLList>
            </si:expandedMUXMLList></si:measurementUncertaintyUnivariateXMLList>
          </si:realListXMLList></dcc:quantity>
      </dcc:list></dcc:data>
    </dcc:result></dcc:results>
  </dcc:measurementResult></dcc:measurementResults>
</dcc:digitalCalibrationCertificate>
"""


def _ranged(number: str = "NIM-2026-0042", u_low: str = "0.02", u_high: str = "0.06", days_ago: int = 1) -> bytes:
    on = shanghai_today() - timedelta(days=days_ago)
    text = RANGED.format(number=number, begin=on - timedelta(days=1), end=on, u_low=u_low, u_high=u_high)
    return text.encode()


def _state(platform, sid: int) -> tuple:  # type: ignore[no-untyped-def]
    """Everything an import writes: the standard's row, its calibrations and ranges, the audit trail, the ledger."""
    with platform.engine.connect() as c:
        return (
            tuple(c.execute(select(standards).where(standards.c.id == sid)).one()),
            c.execute(select(func.count()).select_from(standard_calibrations)).scalar(),
            c.execute(select(func.count()).select_from(standard_calibration_ranges)).scalar(),
            c.execute(select(func.count()).select_from(audit_events)).scalar(),
            c.execute(select(func.count()).select_from(ledger_leaves)).scalar(),
        )


def _thermometer_lab(platform):  # type: ignore[no-untyped-def]
    lab = world.make_lab(platform, "SIMT", [])
    return lab, world.make_owner(platform, "310104")


def test_a_dcc_with_u_per_range_feeds_each_points_budget_and_the_largest_outside_them(platform, schema) -> None:
    lab, owner = _thermometer_lab(platform)
    data = _ranged()
    schema.validate(data.decode())  # the test's own DCC is a valid one
    done = import_dcc_calibration(platform.uow(), lab.manager, lab.standard_id, data, 12)
    on = shanghai_today() - timedelta(days=1)
    assert (done.calibrated_by, done.certificate_no, done.calibrated_on) == ("中国计量科学研究院", "NIM-2026-0042", on)
    assert done.due == add_months(on, 12) - timedelta(days=1) and done.current and done.signature.status == "unsigned"
    with platform.engine.connect() as c:
        cal = c.execute(select(standard_calibrations).where(standard_calibrations.c.id == done.calibration_id)).one()
        rows = c.execute(
            select(standard_calibration_ranges).where(standard_calibration_ranges.c.calibration_id == cal.id)
        ).all()
        std = c.execute(select(standards).where(standards.c.id == lab.standard_id)).one()
        event = c.execute(select(audit_events).order_by(audit_events.c.id.desc())).first()
    assert [(r.quantity, r.lower, r.upper, r.unit, r.expanded_uncertainty, r.coverage_factor) for r in rows] == [
        ("示值误差", "0", "50", "°C", "0.02", "2"),
        ("示值误差", "50", "100", "°C", "0.06", "2"),
    ]
    # the whole calibration keeps the largest U; the standard's current calibration is this one
    assert (cal.expanded_uncertainty, cal.coverage_factor, cal.uncertainty_unit) == ("0.06", "2", "°C")
    assert cal.dcc_xml == data and cal.dcc_signature == "unsigned" and cal.dcc_signed_by is None
    assert (std.calibrated_by, std.calibration_certificate_no, std.calibration_due) == (
        "中国计量科学研究院",
        "NIM-2026-0042",
        done.due,
    )
    assert event.action == "standard.dcc_imported" and event.record_id == str(lab.standard_id)
    # a thermometer calibrated at 20 °C takes U = 0.02 °C, at 80 °C 0.06 °C, at 150 °C (outside) the largest
    [task] = workflow.apply(
        platform.uow(), owner, [register_thermometer(platform, owner, "TH-R1")], kind="calibration",
        conformity_statement=False,
    )  # fmt: skip
    readings = [
        workflow.ReadingInput("t1", "20.000", "20.03"),
        workflow.ReadingInput("t2", "80.000", "80.02"),
        workflow.ReadingInput("t3", "150.000", "150.04"),
    ]
    rid = _record(platform, lab, task, readings, [lab.standard_id], None, BATH)
    with platform.engine.connect() as c:
        points = c.execute(
            select(measurement_points).where(measurement_points.c.record_id == rid).order_by(measurement_points.c.seq)
        ).all()
    expected = [thermometer_u("0.01", u, "2", "0.01", "0.005") for u in ("0.02", "0.06", "0.06")]
    assert expected[0] < expected[1]
    assert [Decimal(p.expanded_uncertainty) for p in points] == expected
    assert [p.uncertainty.get("note") is not None for p in points] == [False, False, True]
    note = points[2].uncertainty["note"]
    assert "150.000 °C" in note and "0.06 °C" in note and "largest" in note


def test_an_exported_certificate_imports_onto_a_standard_at_its_points(platform) -> None:
    """The platform's own DCC (a thermometer calibrated at three points) recorded on another lab's
    standard: a row per point with the payload's U and k, the error's Chinese name, °C."""
    numbers = {}
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "SIMT", [])
    thermo = budget_standards(platform, lab)["thermometer"]
    [task] = workflow.apply(
        platform.uow(), owner, [register_thermometer(platform, owner, "TH-X1")], kind="calibration",
        conformity_statement=False,
    )  # fmt: skip
    readings = [workflow.ReadingInput("t1", "20.000", "20.03"), workflow.ReadingInput("t4", "70.000", "69.97")]
    numbers["t"] = _issue(platform, lab, task, readings, [thermo], None, BATH)
    payload = _payload(platform, numbers["t"])
    other = world.make_lab(platform, "SQI", ["nawi"])
    done = import_dcc_calibration(platform.uow(), other.manager, other.standard_id, _export(platform, numbers["t"]), 24)
    assert done.calibrated_by == payload["issuer"]["name"] and done.certificate_no == numbers["t"]
    assert [(r.lower, r.upper, r.unit, r.expanded_uncertainty, r.coverage_factor, r.quantity) for r in done.ranges] == [
        (p["reference"], p["reference"], "°C", p["expanded_uncertainty"], p["coverage_factor"], "误差")
        for p in sorted(payload["points"], key=lambda p: int(p["seq"]))
    ]


def _example_text(path: Path) -> dict:
    """What the example states, read with lxml: its identifier, lab, date, and the error's U and k."""
    doc = etree.parse(str(path))
    [error] = doc.xpath("//dcc:quantity[@refType='basic_measurementError']", namespaces=NS)
    return {
        "number": doc.findtext(".//dcc:coreData/dcc:uniqueIdentifier", namespaces=NS),
        "lab": doc.findtext(".//dcc:calibrationLaboratory/dcc:contact/dcc:name/dcc:content", namespaces=NS),
        "date": doc.findtext(".//dcc:coreData/dcc:endPerformanceDate", namespaces=NS),
        "U": error.findtext(".//si:uncertaintyXMLList", namespaces=NS),
        "k": error.findtext(".//si:coverageFactorXMLList", namespaces=NS),
        "refs": doc.xpath(
            "//dcc:quantity[@refType='basic_referenceValue']/si:hybrid/si:realListXMLList[1]/si:valueXMLList/text()",
            namespaces=NS,
        )[0].split(),
    }


def _said(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join((result.stdout + result.stderr).split())


def test_both_examples_import_and_the_signature_is_verified_and_shown(platform, cli) -> None:  # noqa: F811
    lab = world.make_lab(platform, "SIMT", [])
    ev = world.make_lab(platform, "SIMT", ["ev_charger"])  # its budgets want the standard's U in %
    before = _state(platform, lab.standard_id)
    for path, sid in ((UNSIGNED, lab.standard_id), (SIGNED, ev.standard_id)):
        stated = _example_text(path)
        r = cli("cert", "import-dcc", str(path), "--standard", str(sid), "--interval-months", "12")
        assert r.exit_code == 0, _said(r)
        out = _said(r)
        assert stated["lab"] in out and stated["date"] in out and "1958-08-12" in out  # + 12 months − 1 day
        assert "\\kelvin" not in out and "basic_" not in out and f"{stated['U']} K" in out
        with platform.engine.connect() as c:
            cal = c.execute(
                select(standard_calibrations)
                .where(standard_calibrations.c.standard_id == sid)
                .order_by(standard_calibrations.c.id.desc())
            ).first()
            rows = c.execute(
                select(standard_calibration_ranges)
                .where(standard_calibration_ranges.c.calibration_id == cal.id)
                .order_by(standard_calibration_ranges.c.seq)
            ).all()
        assert (cal.certificate_no, cal.calibrated_by, str(cal.calibrated_on)) == (
            stated["number"],
            stated["lab"],
            stated["date"],
        )
        assert (cal.expanded_uncertainty, cal.coverage_factor, cal.uncertainty_unit) == (stated["U"], stated["k"], "K")
        # one U for the list applies at each of its five calibration points
        assert [(r.lower, r.upper, r.unit) for r in rows] == [(v, v, "K") for v in stated["refs"]]
        assert {(r.expanded_uncertainty, r.coverage_factor, r.quantity) for r in rows} == {
            (stated["U"], stated["k"], "Measurement error")
        }
        assert "earlier than a recorded calibration" in out  # 1957: the standard's current calibration stays
        if path == UNSIGNED:
            assert "未签名 / unsigned" in out and cal.dcc_signature == "unsigned" and cal.dcc_signed_by is None
            assert _state(platform, sid)[0] == before[0]
        else:
            assert cal.dcc_signature == "valid" and "CN=cert" in cal.dcc_signed_by and "O=PTB" in cal.dcc_signed_by
            assert "the signature is valid" in out and "not checked against a trusted root" in out
            assert "E=example@ptb.de,CN=cert,OU=1.24,O=PTB" in out
            assert "states U in K, the standard is used in %" in out  # recorded in its own unit
            assert "recalibration date 1959-10-22" in out  # the customer's date, shown, not used
    again = cli("cert", "import-dcc", str(UNSIGNED), "--standard", str(lab.standard_id), "--interval-months", "12")
    assert again.exit_code == 2 and "already recorded" in _said(again)


def test_a_signed_dcc_changed_by_one_byte_is_refused_and_nothing_is_written(platform) -> None:
    lab = world.make_lab(platform, "SIMT", [])
    data = SIGNED.read_bytes()
    assert data.count(b">0.061<") == 1
    forged = data.replace(b">0.061<", b">0.062<")  # still a valid DCC, no longer the signed one
    before = _state(platform, lab.standard_id)
    with pytest.raises(InvalidInput, match="signature does not verify"):
        import_dcc_calibration(platform.uow(), lab.manager, lab.standard_id, forged, 12)
    assert _state(platform, lab.standard_id) == before


def _ca(name: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def cert(subject, issuer, key, signer, ca: bool):  # type: ignore[no-untyped-def]
        now = datetime.now(UTC)
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(not ca, False, False, False, False, ca, ca, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        )
        return b.sign(signer, hashes.SHA256())

    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root")])
    leaf_name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, name), x509.NameAttribute(NameOID.COMMON_NAME, "校准签名")]
    )
    root = cert(root_name, root_name, root_key, root_key, True)
    leaf = cert(leaf_name, root_name, leaf_key, root_key, False)
    return root, leaf, leaf_key


def _sign(data: bytes, leaf, key) -> bytes:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding
    from signxml import XMLSigner

    signer = XMLSigner(signature_algorithm="ecdsa-sha256", c14n_algorithm="http://www.w3.org/2006/12/xml-c14n11")
    signed = signer.sign(etree.fromstring(data), key=key, cert=[leaf.public_bytes(Encoding.PEM).decode()])
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def test_a_trust_root_is_checked_when_given(platform, client, schema) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    lab = world.make_lab(platform, "SIMT", [])
    root, leaf, key = _ca("中国计量科学研究院")
    stranger, _, _ = _ca("another CA")
    signed = _sign(_ranged("NIM-T-1"), leaf, key)
    schema.validate(signed.decode())
    before = _state(platform, lab.standard_id)
    with pytest.raises(InvalidInput, match="does not chain to the given trust root"):
        import_dcc_calibration(
            platform.uow(), lab.manager, lab.standard_id, signed, 12, stranger.public_bytes(Encoding.PEM)
        )
    with pytest.raises(InvalidInput, match="a trust root was given but the DCC is not signed"):
        import_dcc_calibration(platform.uow(), lab.manager, lab.standard_id, _ranged("NIM-T-2"), 12, b"x")
    assert _state(platform, lab.standard_id) == before
    done = import_dcc_calibration(
        platform.uow(), lab.manager, lab.standard_id, signed, 12, root.public_bytes(Encoding.PEM)
    )
    assert done.signature.status == "trusted" and "CN=校准签名" in done.signature.subject
    assert "chains to the given trust root" in done.signature.text()
    page_login(client, lab.manager.username)  # the lab's standards page says who signed the DCC
    page = client.get("/lab/standards").text
    assert "DCC 已签名，可追溯至可信根证书：CN=校准签名,O=中国计量科学研究院" in page


def test_bad_input_is_refused_by_name_with_nothing_written(platform, schema, monkeypatch) -> None:
    lab = world.make_lab(platform, "SIMT", [])
    other = world.make_lab(platform, "D310104", ["nawi"])
    good = _ranged()
    no_version = good.replace(b'schemaVersion="3.3.0"', b'schemaVersion="3.2.1"')
    no_identifier = re.sub(rb"<dcc:uniqueIdentifier>[^<]*</dcc:uniqueIdentifier>", b"", good)
    no_u = re.sub(
        rb"<si:measurementUncertaintyUnivariateXMLList>.*?</si:measurementUncertaintyUnivariateXMLList>",
        b"",
        good,
        flags=re.S,
    )
    assert not schema.is_valid(no_identifier.decode()) and schema.is_valid(no_u.decode())
    before = _state(platform, lab.standard_id)
    cases = [
        (lab.manager, lab.standard_id, b"not xml at all", 12, DccError, "not a well-formed XML file"),
        (lab.manager, lab.standard_id, b"<a/>", 12, DccError, "not a DCC: the root element is a"),
        (lab.manager, lab.standard_id, no_version, 12, DccError, "schemaVersion 3.2.1 is not read"),
        (lab.manager, lab.standard_id, no_identifier, 12, DccError, "does not follow schema 3.3.0.*uniqueIdentifier"),
        (lab.manager, lab.standard_id, no_u, 12, DccError, "states no expanded uncertainty"),
        (lab.manager, 999999, good, 12, NotFound, "no such standard: 999999"),
        (other.manager, lab.standard_id, good, 12, NotFound, f"no such standard: {lab.standard_id}"),  # not theirs
        (lab.manager, lab.standard_id, good, None, InvalidInput, "carries no due date.*interval"),
        (lab.manager, lab.standard_id, good, 0, InvalidInput, "interval must be 1 to 120 months"),
    ]
    for actor, sid, data, months, error, says in cases:
        with pytest.raises(error, match=says):
            import_dcc_calibration(platform.uow(), actor, sid, data, months)
    assert _state(platform, lab.standard_id) == before
    # a failure after the rows are written (the audit record) takes them all back: one transaction
    monkeypatch.setattr(dcc_calibration, "record_event", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        import_dcc_calibration(platform.uow(), lab.manager, lab.standard_id, good, 12)
    assert _state(platform, lab.standard_id) == before


def test_the_cli_names_what_is_missing(platform, cli, tmp_path) -> None:  # noqa: F811
    lab = world.make_lab(platform, "SIMT", [])
    path = tmp_path / "nim.xml"
    path.write_bytes(_ranged())
    r = cli("cert", "import-dcc", str(path), "--standard", str(lab.standard_id))
    assert r.exit_code == 2 and "--interval-months" in _said(r) and "JJF 1139" in _said(r)
    r = cli("cert", "import-dcc", str(path), "--standard", str(lab.standard_id), "--interval-months", "12",
            "--institution", "D310104")  # fmt: skip
    assert r.exit_code == 2 and f"standard {lab.standard_id} is not one of that institution's" in _said(r)
    r = cli("cert", "import-dcc", str(tmp_path / "missing.xml"), "--standard", "1", "--interval-months", "12")
    assert r.exit_code == 2 and "cannot read" in _said(r)
    r = cli("cert", "import-dcc", str(path), "--standard", str(lab.standard_id), "--interval-months", "12",
            "--institution", "SIMT")  # fmt: skip
    assert r.exit_code == 0, _said(r)
    out = _said(r)
    assert "示值误差" in out and "0 ~ 50 °C" in out and "0.06 °C" in out and "未签名 / unsigned" in out


def test_units_are_shown_as_users_write_them() -> None:
    assert unit_text(r"\degreecelsius") == "°C" and unit_text(r"\kelvin") == "K"
    assert unit_text(r"\kilo\watt\hour") == "kWh" and unit_text(r"\milli\kelvin") == "mK"
    assert unit_text(r"\metre\second\tothe{-1}") == "m·s⁻¹" and unit_text(r"\percent") == "%"
    assert unit_text("furlong") == "furlong"  # outside the D-SI vocabulary: as written


def test_the_shipped_dcc_schemas_are_copies_of_the_reference(schema) -> None:
    """The import validates against the schemas shipped in the package: byte for byte the reference set."""
    import jiliang

    shipped = Path(jiliang.__file__).parent / "reference" / "dcc"
    for name in ("dcc.xsd", "SI_Format.xsd", "quantitykind.xsd", "xmldsig-core-schema.xsd"):
        assert (shipped / name).read_bytes() == (REFERENCE / name).read_bytes(), name
