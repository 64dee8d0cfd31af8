"""Measurement: verification procedures and MPE rules as data, uncertainty budgets (GUM, Monte Carlo;
`uncertainty/`), and conformity decisions on readings under a stated decision rule."""

from jiliang.measurement.conformity import (
    Evaluation,
    PointReading,
    PointResult,
    ReadingError,
    evaluate,
    round_to_resolution,
)
from jiliang.measurement.procedure import (
    STAGES,
    AppliesTo,
    Edition,
    InstrumentParameter,
    MeasurementPoint,
    MpeRule,
    NoEditionInForce,
    Procedure,
    ProcedureFileError,
    load_procedure_file,
    load_procedures,
)

__all__ = [
    "STAGES",
    "AppliesTo",
    "Edition",
    "Evaluation",
    "InstrumentParameter",
    "MeasurementPoint",
    "MpeRule",
    "NoEditionInForce",
    "PointReading",
    "PointResult",
    "Procedure",
    "ProcedureFileError",
    "ReadingError",
    "evaluate",
    "load_procedure_file",
    "load_procedures",
    "round_to_resolution",
]
