"""Verification procedures as data: one YAML file per instrument item (the model is procedure_model.py),
read, schema-validated and checked on load; values come from reference/mpe_rules.csv or cited_rules.csv."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from jiliang.measurement.correction_curve import CorrectionCurveSpec
from jiliang.measurement.decision import DecisionRule
from jiliang.measurement.field_path import field_path
from jiliang.measurement.point_uncertainty import UncertaintyModel
from jiliang.measurement.procedure_checks import check_procedure
from jiliang.measurement.procedure_model import (
    AMBIENT,
    STAGES,
    AppliesTo,
    Edition,
    EnvironmentQuantity,
    InstrumentParameter,
    MeasurementPoint,
    MpeRule,
    NoEditionInForce,
    Position,
    PrescribedTest,
    Procedure,
)
from jiliang.measurement.uncertainty import BudgetError, BudgetTemplate

__all__ = [
    "SHIPPED_DIR",
    "STAGES",
    "AppliesTo",
    "Edition",
    "InstrumentParameter",
    "MeasurementPoint",
    "MpeRule",
    "NoEditionInForce",
    "Position",
    "PrescribedTest",
    "Procedure",
    "ProcedureFileError",
    "load_procedure_file",
    "load_procedures",
]

SHIPPED_DIR = Path(__file__).parent / "procedures"
SCHEMA_PATH = Path(__file__).parent / "procedure_schema.json"


class ProcedureFileError(ValueError):
    """A procedure file is malformed; names the file and the field path (e.g. editions[0].rules[2].mpe)."""

    def __init__(self, path: Path | str, field: str, message: str) -> None:
        self.path = Path(path)
        self.field = field
        self.message = message
        where = f"field '{field}'" if field else "file"
        super().__init__(f"{self.path}: {where}: {message}")


# ---------------------------------------------------------------- loading


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _schema_error(path: Path, error: ValidationError) -> ProcedureFileError:
    parts: list[str | int] = list(error.absolute_path)
    message = error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing:
            parts.append(missing[0])
            message = "required field is missing"
    elif error.validator == "pattern" and error.schema.get("pattern", "").startswith("^[+-]?[0-9]"):
        message = f"{error.instance!r} is not a number"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [p for p in error.instance if p not in allowed]
        if extra:
            parts.append(extra[0])
            message = "unknown field"
    return ProcedureFileError(path, field_path(parts) or "(top level)", message)


def _plain(value: Any) -> Any:
    """Turn YAML dates into ISO strings so the JSON schema sees JSON types only."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _build_rule(raw: dict[str, Any]) -> MpeRule:
    mpe = raw["mpe"]
    if isinstance(mpe, dict):
        lower, upper = _dec(mpe["lower"]), _dec(mpe["upper"])
    else:
        upper = abs(_dec(mpe))
        lower = -upper
    at = raw["applies_to"]
    band = at.get("load_e")
    return MpeRule(
        id=raw["id"],
        stage=raw["stage"],
        accuracy_class=raw["accuracy_class"],
        quantity=raw["quantity"],
        applies_to=AppliesTo(
            points=tuple(at["points"]) if "points" in at else None,
            zones=tuple(at["zones"]) if "zones" in at else None,
            load_e=(_dec(band["lower"]), _dec(band["upper"])) if band else None,
            tests=tuple(at["tests"]) if "tests" in at else None,
        ),
        kind=raw["kind"],
        mpe_lower=lower,
        mpe_upper=upper,
        unit=raw["unit"],
        source=raw["source"],
        confidence=raw["confidence"],
        confirmed=raw["confirmed"],
        conditions=tuple(sorted(raw.get("conditions", {}).items())),
    )


def _uncertainty(
    path: Path, raw: dict[str, Any] | None, where: str, names: dict[str, tuple[str, str]]
) -> UncertaintyModel | None:
    if raw is None:
        return None
    try:
        template = BudgetTemplate(raw["budget"])
    except BudgetError as exc:
        field = f"{where}.budget" + (f".{exc.field}" if exc.field else "")
        raise ProcedureFileError(path, field, exc.message) from None
    points = tuple(raw["points"]) if "points" in raw else None
    return UncertaintyModel(template, raw["source"], raw.get("standard_unit"), points, names)


def _correction_curve(raw: dict[str, Any] | None) -> CorrectionCurveSpec | None:
    return None if raw is None else CorrectionCurveSpec(float(raw["x_offset"]), raw["unit"], raw["source"])


def _decision_rule(raw: dict[str, Any] | None) -> DecisionRule:
    if raw is None:
        return DecisionRule()
    return DecisionRule(raw["kind"], _dec(raw.get("guard_band", 1)))


def _build_test(raw: dict[str, Any]) -> PrescribedTest:
    extra = raw.get("extra_load_d")
    return PrescribedTest(
        id=raw["id"],
        name_zh=raw["name_zh"],
        name_en=raw["name_en"],
        criterion=raw["criterion"],
        points=tuple(raw["points"]),
        required_in=tuple(raw["required_in"]),
        source=raw["source"],
        confidence=raw["confidence"],
        method=raw.get("method", "reading"),
        corrected=raw.get("corrected", False),
        zero_point=raw.get("zero_point"),
        min_readings=raw.get("min_readings", 1),
        positions=tuple(Position(p["id"], p["label_zh"], p["label_en"]) for p in raw.get("positions", [])),
        extra_load_d=None if extra is None else _dec(extra),
    )


def _build(path: Path, data: dict[str, Any]) -> Procedure:
    environment = tuple(
        EnvironmentQuantity(q["name"], q["label_zh"], q["label_en"], q["unit"]) for q in data.get("environment", [])
    )
    # a budget's parameters as people name them: the instrument's parameters, the environment's quantities
    names = {p["name"]: (p["label_zh"], p["label_en"]) for p in data["instrument_parameters"]}
    names |= {q.name: (q.label_zh, q.label_en) for q in AMBIENT + environment}
    editions = tuple(
        Edition(
            regulation=e["regulation"],
            title_zh=e["title_zh"],
            effective_from=date.fromisoformat(e["effective_from"]) if e["effective_from"] else None,
            effective_until=date.fromisoformat(e["effective_until"]) if e["effective_until"] else None,
            points=tuple(
                MeasurementPoint(p["id"], p["label_zh"], p["label_en"], p["nominal"], p["unit"], p.get("zone"))
                for p in e["points"]
            ),
            rules=tuple(_build_rule(r) for r in e["rules"]),
            decision_rule=_decision_rule(e.get("decision_rule")),
            uncertainty=_uncertainty(path, e.get("uncertainty"), f"editions[{i}].uncertainty", names),
            declared_tests=tuple(_build_test(t) for t in e.get("tests", [])),
            correction_curve=_correction_curve(e.get("correction_curve")),
            title_en=e.get("title_en", ""),
            regulation_en=e.get("regulation_en", ""),
        )
        for i, e in enumerate(data["editions"])
    )
    params = tuple(
        InstrumentParameter(
            name=p["name"],
            label_zh=p["label_zh"],
            label_en=p["label_en"],
            kind=p["kind"],
            unit=p.get("unit"),
            required=p["required"],
            choices=tuple(p["choices"]) if "choices" in p else None,
        )
        for p in data["instrument_parameters"]
    )
    return Procedure(
        item_code=data["item_code"],
        name_zh=data["name_zh"],
        name_en=data["name_en"],
        catalogue_item_zh=data["catalogue_item_zh"],
        instrument_types_zh=tuple(data["instrument_types_zh"]),
        instrument_parameters=params,
        editions=editions,
        path=path,
        purpose=data.get("purpose", "verification"),
        declared_environment=environment,
    )


def load_procedure_file(path: Path | str) -> Procedure:
    """Read, schema-validate and semantically check one procedure file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProcedureFileError(path, "", f"not valid YAML{where}: {problem}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ProcedureFileError(path, "", f"cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ProcedureFileError(path, "(top level)", "must be a mapping of fields")
    data = _plain(data)
    error = best_match(_validator().iter_errors(data))
    if error is not None:
        raise _schema_error(path, error)
    procedure = _build(path, data)
    for where, message in check_procedure(procedure):
        raise ProcedureFileError(path, where, message)
    return procedure


def _load_dir(folder: Path) -> dict[str, Procedure]:
    found: dict[str, Procedure] = {}
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for file in files:
        procedure = load_procedure_file(file)
        if procedure.item_code in found:
            other = found[procedure.item_code].path
            raise ProcedureFileError(file, "item_code", f"'{procedure.item_code}' is also defined in {other}")
        found[procedure.item_code] = procedure
    return found


def load_procedures(extra_dir: Path | None = None) -> dict[str, Procedure]:
    """Shipped procedures plus an admin-configured folder.

    A file in `extra_dir` with the same item_code replaces the shipped one; a new item_code adds an item.
    """
    procedures = _load_dir(SHIPPED_DIR)
    if extra_dir is not None:
        if not Path(extra_dir).is_dir():
            raise ProcedureFileError(extra_dir, "", "procedure folder does not exist")
        procedures.update(_load_dir(Path(extra_dir)))
    return dict(sorted(procedures.items()))
