"""Measurement: verification procedures and MPE rules as data, and conformity decisions on readings."""

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
