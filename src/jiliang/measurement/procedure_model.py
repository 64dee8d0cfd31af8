"""A verification procedure as data: an instrument item, its regulation's editions, their measurement
points, the tests each regulation prescribes, and the MPE rules with their source and confidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from jiliang.measurement.correction_curve import CorrectionCurveSpec
from jiliang.measurement.decision import DecisionRule
from jiliang.measurement.point_uncertainty import UncertaintyModel

__all__ = [
    "STAGES",
    "AMBIENT",
    "ambient",
    "AppliesTo",
    "Edition",
    "EnvironmentQuantity",
    "InstrumentParameter",
    "MeasurementPoint",
    "MpeRule",
    "NoEditionInForce",
    "Position",
    "PrescribedTest",
    "Procedure",
]

STAGES: tuple[str, ...] = ("initial", "subsequent", "in_service")

Stage = Literal["initial", "subsequent", "in_service", "any"]
Kind = Literal["multiple_of_e", "relative_percent", "percent_of_full_scale", "absolute"]
Confidence = Literal["high", "medium", "low"]
_CONFIDENCE_ORDER: tuple[Confidence, ...] = ("low", "medium", "high")


class NoEditionInForce(ValueError):
    """No edition of the item's regulation is in force on the requested date."""


@dataclass(frozen=True)
class InstrumentParameter:
    name: str
    label_zh: str
    label_en: str
    kind: Literal["number", "choice"]
    unit: str | None
    required: bool
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EnvironmentQuantity:
    """A quantity recorded with the environment of a verification (环境条件), named and with its unit."""

    name: str
    label_zh: str
    label_en: str
    unit: str

    def shown(self, value: str) -> str:
        """A value as recorded, with the unit when it was typed as a bare number ("20.5" → "20.5 °C")."""
        try:
            bare = Decimal(value.strip()).is_finite()
        except ArithmeticError:
            bare = False
        return f"{value} {self.unit}" if bare else value


# what every record's environment may state; a procedure declares more (e.g. a bath's uniformity)
AMBIENT = (
    EnvironmentQuantity("temperature", "环境温度", "ambient temperature", "°C"),
    EnvironmentQuantity("humidity", "相对湿度", "relative humidity", "%RH"),
)


def ambient(name: str) -> EnvironmentQuantity | None:
    return next((q for q in AMBIENT if q.name == name), None)


@dataclass(frozen=True)
class MeasurementPoint:
    id: str
    label_zh: str
    label_en: str
    nominal: str
    unit: str
    zone: str | None = None


@dataclass(frozen=True)
class Position:
    """Where a load is placed on the load receptor (eccentricity test)."""

    id: str
    label_zh: str
    label_en: str


Criterion = Literal["error", "range", "discrimination"]
Method = Literal["reading", "changeover"]


@dataclass(frozen=True)
class PrescribedTest:
    """A test the regulation prescribes (检定项目), judged on its own and named on the record:

    - error: each reading's error lies within the MPE rule for its point (and load);
    - range: the range of the errors of one point's repeated readings is at most |MPE| of that
      point's rule (repeatability: OIML R 76-1 3.6.1; JJG 443 repeatability);
    - discrimination: adding `extra_load_d`·d changes the indication by at least d (R 76-1 3.8).

    method changeover: errors before rounding by the changeover-point method (闪变点法, OIML R 76-1
    A.4.4.3), applied when the instrument's d equals e; `corrected`: less the error at zero E0,
    read at `zero_point` (a point of the weighing test, not judged itself)."""

    id: str
    name_zh: str
    name_en: str
    criterion: Criterion
    points: tuple[str, ...]
    required_in: tuple[str, ...]  # stages in which the record must hold this test
    source: str
    confidence: Confidence
    method: Method = "reading"
    corrected: bool = False
    zero_point: str | None = None
    min_readings: int = 1  # per point (range: per series)
    positions: tuple[Position, ...] = ()
    extra_load_d: Decimal | None = None

    def position(self, position_id: str) -> Position | None:
        return next((p for p in self.positions if p.id == position_id), None)


@dataclass(frozen=True)
class PointTests:
    """A point's tests and what they ask of each reading there, worked out once per edition."""

    tests: tuple[PrescribedTest, ...]
    changeover: bool  # a test here takes errors by the changeover-point method (when d = e)
    positioned: tuple[PrescribedTest, ...]  # tests that name where the load stands
    discriminating: bool  # the discrimination test: the indication after the extra load is given
    error_test: PrescribedTest | None  # the test judging each reading's error against its MPE

    @classmethod
    def of(cls, tests: tuple[PrescribedTest, ...]) -> PointTests:
        return cls(
            tests,
            any(t.method == "changeover" for t in tests),
            tuple(t for t in tests if t.positions),
            any(t.criterion == "discrimination" for t in tests),
            next((t for t in tests if t.criterion == "error"), None),
        )


@dataclass(frozen=True)
class AppliesTo:
    """Where a rule applies: named points, named zones, named tests and/or a load band in units of e."""

    points: tuple[str, ...] | None = None
    zones: tuple[str, ...] | None = None
    load_e: tuple[Decimal, Decimal] | None = None
    tests: tuple[str, ...] | None = None

    def covers(self, point_id: str, zone: str | None) -> bool:
        """The rule names this point (or every point) and its zone (or every zone)."""
        in_points = self.points is None or point_id in self.points
        return in_points and (self.zones is None or (zone is not None and zone in self.zones))

    def in_test(self, test_id: str | None) -> bool:
        return self.tests is None or test_id in self.tests

    def band_contains(self, m: Decimal) -> bool:
        """Load band lower < m <= upper; the first band (lower 0) also includes m = 0."""
        if self.load_e is None:
            return True
        lower, upper = self.load_e
        return (lower < m or (lower == 0 and m == 0)) and m <= upper


@dataclass(frozen=True)
class MpeRule:
    id: str
    stage: Stage
    accuracy_class: str | None
    quantity: str
    applies_to: AppliesTo
    kind: Kind
    mpe_lower: Decimal
    mpe_upper: Decimal
    unit: str
    source: str
    confidence: Confidence
    confirmed: bool
    conditions: tuple[tuple[str, str], ...] = ()

    def matches_stage(self, stage: str) -> bool:
        return self.stage == "any" or self.stage == stage


@dataclass(frozen=True)
class Edition:
    regulation: str
    title_zh: str
    effective_from: date | None
    effective_until: date | None
    points: tuple[MeasurementPoint, ...]
    rules: tuple[MpeRule, ...]
    decision_rule: DecisionRule = DecisionRule()
    uncertainty: UncertaintyModel | None = None
    declared_tests: tuple[PrescribedTest, ...] = ()
    correction_curve: CorrectionCurveSpec | None = None  # a calibration's least-squares correction line
    title_en: str = ""  # the procedure's English name when empty
    regulation_en: str = ""  # for a regulation named in words rather than by its number

    @cached_property
    def tests(self) -> tuple[PrescribedTest, ...]:
        """The tests of the edition; one indication-error test over every point when it lists none."""
        if self.declared_tests:
            return self.declared_tests
        # its standing is no stronger than the weakest of the rules it applies ("low" with none)
        levels: list[Confidence] = [r.confidence for r in self.rules] or ["low"]
        weakest = min(levels, key=_CONFIDENCE_ORDER.index)
        return (
            PrescribedTest(
                "indication",
                "示值误差",
                "indication error",
                "error",
                tuple(p.id for p in self.points),
                STAGES,
                self.regulation,  # each point's error against its rule: the regulation is the source
                weakest,
            ),
        )

    def tests_of(self, point_id: str) -> tuple[PrescribedTest, ...]:
        found = self._tests_by_point.get(point_id)
        return () if found is None else found.tests

    def point_tests(self, point_id: str) -> PointTests | None:
        """What the tests at this point ask of each reading there (None: not a point of the edition)."""
        return self._tests_by_point.get(point_id)

    @cached_property
    def _tests_by_point(self) -> dict[str, PointTests]:
        return {p.id: PointTests.of(tuple(t for t in self.tests if p.id in t.points)) for p in self.points}

    def rules_at(self, point_id: str, test_id: str | None) -> tuple[MpeRule, ...]:
        """The rules, in file order, whose points, zones and tests admit a reading at this point in this
        test (stage, class, conditions and load band are left to the caller); computed once per pair."""
        key = (point_id, test_id)
        found = self._rules_at.get(key)
        if found is None:
            point = self.point(point_id)
            zone = point.zone if point else None
            found = self._rules_at[key] = tuple(
                r for r in self.rules if r.applies_to.covers(point_id, zone) and r.applies_to.in_test(test_id)
            )
        return found

    @cached_property
    def _rules_at(self) -> dict[tuple[str, str | None], tuple[MpeRule, ...]]:
        return {}

    @cached_property
    def rule_memo(self) -> dict[object, MpeRule | None]:
        """The rule found for a reading, by its stage, parameters, point, load and test
        (prescribed_tests.PrescribedTestJudge.rule)."""
        return {}

    @cached_property
    def zero_point(self) -> str | None:
        """The point whose changeover error is E0 (OIML R 76-1 A.4.4.3), if a test names one."""
        return next((t.zero_point for t in self.tests if t.zero_point), None)

    def in_force_on(self, on: date) -> bool:
        after_start = self.effective_from is None or self.effective_from <= on
        return after_start and (self.effective_until is None or on <= self.effective_until)

    def point(self, point_id: str) -> MeasurementPoint | None:
        return self._points_by_id.get(point_id)

    @cached_property
    def _points_by_id(self) -> dict[str, MeasurementPoint]:
        return {p.id: p for p in self.points}


@dataclass(frozen=True)
class Procedure:
    item_code: str
    name_zh: str
    name_en: str
    catalogue_item_zh: str
    instrument_types_zh: tuple[str, ...]
    instrument_parameters: tuple[InstrumentParameter, ...]
    editions: tuple[Edition, ...]
    path: Path | None = field(default=None, compare=False)
    purpose: Literal["verification", "calibration"] = "verification"
    declared_environment: tuple[EnvironmentQuantity, ...] = ()

    def parameter(self, name: str) -> InstrumentParameter | None:
        return next((p for p in self.instrument_parameters if p.name == name), None)

    @property
    def environment(self) -> tuple[EnvironmentQuantity, ...]:
        """What a record's environment states: the ambient temperature and humidity, and what the
        procedure declares (a budget's quantities the verifier measures, e.g. a bath's uniformity)."""
        return AMBIENT + self.declared_environment

    def environment_quantity(self, name: str) -> EnvironmentQuantity | None:
        return next((q for q in self.environment if q.name == name), None)

    def edition_on(self, on: date) -> Edition:
        for edition in self.editions:
            if edition.in_force_on(on):
                return edition
        spans = "; ".join(
            f"{e.regulation} {e.effective_from or '…'} – {e.effective_until or '…'}" for e in self.editions
        )
        raise NoEditionInForce(
            f"{self.name_zh} ({self.item_code}): no regulation edition in force on {on.isoformat()} (editions: {spans})"
        )
