"""Each test a regulation prescribes, judged on its own (procedure.PrescribedTest): the errors of its
readings, the range of a repeated load (OIML R 76-1 3.6.1), the discrimination test (R 76-1 3.8), whether the
record holds every reading, position and test the stage requires; and the record's verdict as their
conjunction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from jiliang.measurement.limits import compared_error, limits_of, rule_for
from jiliang.measurement.procedure import Edition, MeasurementPoint, MpeRule, PrescribedTest
from jiliang.measurement.reading import PointReading, round_to_resolution

__all__ = [
    "STAGE_TEXT",
    "PrescribedTestResult",
    "ReadingUnderTest",
    "PrescribedTestJudge",
    "Verdict",
    "record_verdict",
    "verdict_of",
]

Verdict = Literal["pass", "fail", "unknown"]

STAGE_TEXT = {
    "initial": ("initial verification", "首次检定"),
    "subsequent": ("subsequent verification", "后续检定"),
    "in_service": ("in-service inspection", "使用中检查"),
}


@dataclass(slots=True)
class ReadingUnderTest:
    """One reading on its way through the tests."""

    seq: int
    raw: PointReading
    point: MeasurementPoint
    tests: tuple[PrescribedTest, ...]
    indication: Decimal
    error: Decimal
    changeover: bool
    corrected: Decimal | None = None  # Ec = E − E0

    @property
    def judged_error(self) -> Decimal:
        """The error compared with the limits: Ec where its test corrects by E0, else E."""
        return self.error if self.corrected is None else self.corrected


@dataclass(slots=True)
class PrescribedTestResult:  # not frozen: several for every record
    test: PrescribedTest
    verdict: Verdict
    seqs: tuple[int, ...]  # the positions of its readings in the record
    value: Decimal | None = None  # range: the largest range of a series; discrimination: the smallest change
    limit: Decimal | None = None  # range: |MPE| of the series' rule; discrimination: d
    unit: str | None = None
    problem: str | None = None  # why the test is incomplete ("中文 / English")


_UNSEEN = object()
_RULE_MEMO_SIZE = 20_000  # entries per edition before it starts afresh


class PrescribedTestJudge:
    """Judges the tests of one edition at one stage, given each reading's verdict against its MPE."""

    def __init__(self, edition: Edition, stage: str, params: Mapping[str, str | Decimal], resolution: Decimal) -> None:
        self.edition, self.stage, self.params, self.resolution = edition, stage, params, resolution
        self._rule_key = (stage, *params.items())

    def rule(self, point: MeasurementPoint, reference: Decimal, test_id: str) -> MpeRule | None:
        """limits.rule_for, remembered by the edition for the same stage, parameters, point, load and
        test: a batch of instruments of one kind asks about the same few loads again and again."""
        key = (self._rule_key, point.id, test_id, reference)
        memo = self.edition.rule_memo
        found = memo.get(key, _UNSEEN)
        if found is _UNSEEN:
            if len(memo) >= _RULE_MEMO_SIZE:
                memo.clear()
            found = memo[key] = rule_for(self.edition, self.stage, self.params, point, reference, test_id)
        return found  # type: ignore[return-value]

    def test_result(
        self, test: PrescribedTest, readings: Sequence[ReadingUnderTest], conforms: Sequence[bool | None]
    ) -> PrescribedTestResult:
        """`readings`: the test's own readings; `conforms`: every reading's verdict against its MPE, by seq."""
        mine = [(r, conforms[r.seq]) for r in readings]
        seqs = tuple(r.seq for r, _ in mine)
        if not mine:
            if self.stage in test.required_in:
                stage_en, stage_zh = STAGE_TEXT[self.stage]
                return PrescribedTestResult(
                    test,
                    "unknown",
                    seqs,
                    problem=f"{stage_zh}须做「{test.name_zh}」，记录中没有 / {stage_en} requires the "
                    f"{test.name_en}, which the record lacks",
                )
            return PrescribedTestResult(test, "unknown", seqs)  # not done; left out of the verdict
        own = [r for r, _ in mine]
        problem = self._incomplete(test, own)
        if test.criterion == "range":
            return self._range(test, own, seqs, problem)
        if test.criterion == "discrimination":
            return self._discrimination(test, own, seqs, problem)
        judged = [c for r, c in mine if r.point.id != self.edition.zero_point]
        if (
            problem is None
            and test.corrected
            and any(r.changeover and r.corrected is None for r, _ in mine if r.point.id != self.edition.zero_point)
        ):
            problem = "未测零点误差 E0 / the error at zero E0 is not measured"
        return PrescribedTestResult(test, verdict_of(judged, problem), seqs, problem=problem)

    def _incomplete(self, test: PrescribedTest, mine: Sequence[ReadingUnderTest]) -> str | None:
        counts: dict[str, int] = defaultdict(int)
        for r in mine:
            counts[r.point.id] += 1
        for point_id in test.points:
            if point_id == test.zero_point:
                continue
            # a declared test needs every one of its points; the implicit one only those measured
            needed = counts[point_id] > 0 or any(t is test for t in self.edition.declared_tests)
            if needed and counts[point_id] < test.min_readings:
                point = self.edition.point(point_id)
                assert point is not None
                return (
                    f"「{test.name_zh}」{point.label_zh}至少需要 {test.min_readings} 次读数 / the {test.name_en} needs "
                    f"at least {test.min_readings} readings at {point.label_en}"
                )
        if test.positions:
            seen: set[str] = set()
            for r in mine:
                if r.raw.position in seen:
                    return f"位置 {r.raw.position} 重复 / position {r.raw.position} is given twice"
                seen.add(r.raw.position or "")
            missing = [p for p in test.positions if p.id not in seen]
            if missing:
                return (
                    f"「{test.name_zh}」缺少位置：{'、'.join(p.label_zh for p in missing)} / the {test.name_en} lacks "
                    f"the positions {', '.join(p.label_en for p in missing)}"
                )
        return None

    def _range(
        self,
        test: PrescribedTest,
        readings: Sequence[ReadingUnderTest],
        seqs: tuple[int, ...],
        problem: str | None,
    ) -> PrescribedTestResult:
        """OIML R 76-1 3.6.1: the difference between results of several weighings of the same load is at
        most |MPE| at that load (JJG 443: the range of the relative errors at most the repeatability limit)."""
        series: dict[str, list[ReadingUnderTest]] = defaultdict(list)
        for r in readings:
            series[r.point.id].append(r)
        worst: tuple[Decimal, Decimal, str] | None = None
        verdicts: list[bool | None] = []
        for group in series.values():
            first = group[0]
            load = Decimal(first.raw.reference)
            if any(Decimal(r.raw.reference) != load for r in group):
                problem = problem or (
                    f"「{test.name_zh}」同一组读数的载荷须相同 / the {test.name_en} repeats one load: the reference "
                    "values of a series must be equal"
                )
            rule = self.rule(first.point, load, test.id)
            if rule is None:
                verdicts.append(None)
                continue
            lower, upper, unit = limits_of(rule, self.params, first.point)
            values = [compared_error(rule, r.point, r.judged_error, load) for r in group]
            spread, limit = max(values) - min(values), max(abs(lower), abs(upper))
            verdicts.append(spread <= limit)
            if worst is None or spread - limit > worst[0] - worst[1]:
                worst = (spread, limit, unit)
        verdict = verdict_of(verdicts, problem)
        if worst is None:
            return PrescribedTestResult(test, verdict, seqs, problem=problem)
        return PrescribedTestResult(test, verdict, seqs, worst[0], worst[1], worst[2], problem)

    def _discrimination(
        self,
        test: PrescribedTest,
        readings: Sequence[ReadingUnderTest],
        seqs: tuple[int, ...],
        problem: str | None,
    ) -> PrescribedTestResult:
        """OIML R 76-1 3.8 / A.4.12: an extra load of 1.4 d changes the indication by at least d."""
        d = self.resolution
        changes = []
        for r in readings:
            assert r.raw.indication_after is not None
            changes.append(round_to_resolution(Decimal(r.raw.indication_after), d) - r.indication)
        smallest = min(changes)
        verdict = verdict_of([c >= d for c in changes], problem)
        unit = readings[0].point.unit
        return PrescribedTestResult(test, verdict, seqs, smallest, d, unit, problem)


def verdict_of(conforms: Sequence[bool | None], problem: str | None = None) -> Verdict:
    if any(c is False for c in conforms):
        return "fail"
    if problem is not None or any(c is None for c in conforms):
        return "unknown"
    return "pass"


def record_verdict(tests: Sequence[PrescribedTestResult]) -> Verdict:
    done = [t for t in tests if t.seqs or t.problem]
    if any(t.verdict == "fail" for t in done):
        return "fail"
    if not done or any(t.verdict == "unknown" for t in done):
        return "unknown"
    return "pass"
