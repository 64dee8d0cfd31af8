"""DCC 3.3.0 both ways (issue 15, point 3): every shipped procedure's certificate exports a schema-valid
DCC that reads back to exactly its signed payload.

Expected numbers come from the stored payloads, never from the parser under test."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from jiliang.certificates.dcc import dcc_schema
from jiliang.certificates.dcc_import import read_dcc, unit_text
from jiliang.certificates.printed import certificate_dcc
from jiliang.certificates.tables import certificates
from jiliang.demo.readings import verification_readings
from jiliang.platform import shanghai_today
from jiliang.registry import service as registry
from jiliang.verification import service as workflow
from jiliang.verification.tables import tasks
from tests.conftest import missing_service
from tests.support import world
from tests.support.uncertainty_world import budget_standards, register_ev_charger, register_thermometer

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dcc"
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
