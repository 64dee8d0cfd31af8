"""Semantic checks on a loaded procedure that a JSON schema cannot express: edition overlap,
duplicate ids, dangling point/zone references, ambiguous rules, unconfirmed low-confidence rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jiliang.measurement.procedure import Edition, MpeRule, Procedure

__all__ = ["check_procedure", "comparison_unit"]

_KIND_UNIT = {"multiple_of_e": "e", "relative_percent": "%", "percent_of_full_scale": "%FS"}


def check_procedure(procedure: Procedure) -> Iterator[tuple[str, str]]:
    """Yield (field path, message) for every semantic problem, first problem first."""
    yield from _check_parameters(procedure)
    yield from _check_editions(procedure)
    seen_rule_ids: dict[str, str] = {}
    for i, edition in enumerate(procedure.editions):
        yield from _check_points(edition, f"editions[{i}]")
        yield from _check_tests(procedure, edition, f"editions[{i}]")
        for j, rule in enumerate(edition.rules):
            where = f"editions[{i}].rules[{j}]"
            if rule.id in seen_rule_ids:
                yield f"{where}.id", f"rule id '{rule.id}' is already used at {seen_rule_ids[rule.id]}"
            seen_rule_ids[rule.id] = where
            yield from _check_rule(procedure, edition, rule, where)
        yield from _check_ambiguous(edition, f"editions[{i}]")
        yield from _check_uncertainty(edition, f"editions[{i}]")
        yield from _check_environment(procedure, edition, f"editions[{i}]")


def comparison_unit(rule: MpeRule, point_unit: str) -> str:
    """The unit an error is compared in: % for relative rules, the point's unit for multiples of e."""
    if rule.kind == "relative_percent":
        return "%"
    return point_unit if rule.kind in ("multiple_of_e", "percent_of_full_scale") else rule.unit


def _check_uncertainty(edition: Edition, where: str) -> Iterator[tuple[str, str]]:
    model = edition.uncertainty
    if model is None:
        if edition.decision_rule.kind == "guarded":
            yield f"{where}.decision_rule", "guarded acceptance needs an uncertainty budget"
        return
    if len(model.template.measurands) != 1:
        yield f"{where}.uncertainty.budget.measurands", "the budget of a point's error has exactly one measurand"
        return
    if edition.decision_rule.kind == "jjf1094" and model.probability != 0.95:
        yield f"{where}.uncertainty.budget.probability", "JJF 1094 compares U95: the probability must be 0.95"
    known = {p.id for p in edition.points}
    for name in model.points or ():
        if name not in known:
            yield f"{where}.uncertainty.points", f"no point '{name}' in this edition"
            return
    for j, rule in enumerate(edition.rules):
        for p in edition.points:
            if not model.covers(p.id):
                continue
            if rule.applies_to.covers(p.id, p.zone) and comparison_unit(rule, p.unit) != model.unit:
                yield (
                    f"{where}.uncertainty.budget.measurands[0].unit",
                    f"'{model.unit}' differs from the unit '{comparison_unit(rule, p.unit)}' rule "
                    f"'{rule.id}' (rules[{j}]) compares the error in",
                )
                return


def environment_parameters(procedure: Procedure, edition: Edition) -> tuple[str, ...]:
    """The budget's parameters the record's environment supplies: neither the reading, the standard's
    U and k nor an instrument parameter (e.g. a bath's uniformity)."""
    if edition.uncertainty is None:
        return ()
    given = {"reference", "indication", "standard_U", "standard_k"} | {p.name for p in procedure.instrument_parameters}
    return tuple(p for p in edition.uncertainty.template.parameters if p not in given)


def _check_environment(procedure: Procedure, edition: Edition, where: str) -> Iterator[tuple[str, str]]:
    names = [q.name for q in procedure.environment]
    for k, name in enumerate(names):
        if name in names[:k]:
            yield "environment", f"'{name}' is declared twice (temperature and humidity are always there)"
            return
    for name in environment_parameters(procedure, edition):
        if name not in names:
            yield (
                f"{where}.uncertainty.budget.parameters",
                f"'{name}' comes with the record's environment: declare it under environment with its names and unit",
            )
            return


def _check_parameters(procedure: Procedure) -> Iterator[tuple[str, str]]:
    names: set[str] = set()
    for k, param in enumerate(procedure.instrument_parameters):
        if param.name in names:
            yield f"instrument_parameters[{k}].name", f"parameter '{param.name}' is declared twice"
        names.add(param.name)
        if param.kind == "choice" and not param.choices:
            yield f"instrument_parameters[{k}].choices", "a choice parameter needs a list of choices"


def _check_editions(procedure: Procedure) -> Iterator[tuple[str, str]]:
    indexed = list(enumerate(procedure.editions))
    for i, e in indexed:
        if e.effective_from and e.effective_until and e.effective_until < e.effective_from:
            yield f"editions[{i}].effective_until", "ends before it takes effect"
    ordered = sorted(indexed, key=lambda ie: ie[1].effective_from or date.min)
    for (_, a), (j, b) in zip(ordered, ordered[1:], strict=False):
        a_end = a.effective_until or date.max
        b_start = b.effective_from or date.min
        if b_start <= a_end:
            yield (
                f"editions[{j}].effective_from",
                f"{b.regulation} overlaps {a.regulation}: two editions would be in force on "
                f"{max(b_start, a.effective_from or date.min).isoformat()}",
            )


def _check_points(edition: Edition, where: str) -> Iterator[tuple[str, str]]:
    ids: set[str] = set()
    for k, point in enumerate(edition.points):
        if point.id in ids:
            yield f"{where}.points[{k}].id", f"point id '{point.id}' is declared twice"
        ids.add(point.id)


def _check_tests(procedure: Procedure, edition: Edition, where: str) -> Iterator[tuple[str, str]]:
    if not edition.declared_tests:
        return
    point_ids = {p.id for p in edition.points}
    seen: set[str] = set()
    zero_points = 0
    for k, test in enumerate(edition.declared_tests):
        at = f"{where}.tests[{k}]"
        if test.id in seen:
            yield f"{at}.id", f"test id '{test.id}' is declared twice"
        seen.add(test.id)
        for name in test.points:
            if name not in point_ids:
                yield f"{at}.points", f"unknown point '{name}' (points: {sorted(point_ids)})"
        if test.method == "changeover" and procedure.parameter("e") is None:
            yield f"{at}.method", "the changeover-point method needs an instrument parameter named 'e'"
        if (test.corrected or test.zero_point) and test.method != "changeover":
            yield f"{at}.method", "E0 and its correction belong to the changeover-point method"
        if test.zero_point is not None:
            zero_points += 1
            if test.zero_point not in test.points:
                yield f"{at}.zero_point", f"'{test.zero_point}' is not one of this test's points"
        if (test.criterion == "discrimination") != (test.extra_load_d is not None):
            yield f"{at}.extra_load_d", "a discrimination test, and only it, states its extra load in units of d"
        if test.positions and test.criterion != "error":
            yield f"{at}.positions", "positions belong to a test of each reading's error (eccentricity)"
    if zero_points > 1:
        yield f"{where}.tests", "only one test may name the point of the error at zero E0"
    for name in sorted(point_ids - {p for t in edition.declared_tests for p in t.points}):
        yield f"{where}.tests", f"point '{name}' belongs to no test"
    for j, rule in enumerate(edition.rules):
        for name in rule.applies_to.tests or ():
            if name not in seen:
                yield f"{where}.rules[{j}].applies_to.tests", f"unknown test '{name}' (tests: {sorted(seen)})"


def _check_rule(procedure: Procedure, edition: Edition, rule: MpeRule, where: str) -> Iterator[tuple[str, str]]:
    if rule.confidence == "low" and rule.confirmed:
        yield f"{where}.confirmed", "a low-confidence rule must ship confirmed: false"
    if rule.mpe_lower > rule.mpe_upper:
        yield f"{where}.mpe", "lower limit is above upper limit"
    at = rule.applies_to
    point_ids = {p.id for p in edition.points}
    zones = {p.zone for p in edition.points if p.zone}
    for name in at.points or ():
        if name not in point_ids:
            yield f"{where}.applies_to.points", f"unknown point '{name}' (points: {sorted(point_ids)})"
    for name in at.zones or ():
        if name not in zones:
            yield f"{where}.applies_to.zones", f"no point is in zone '{name}' (zones: {sorted(zones)})"
    if at.load_e is not None and at.load_e[0] >= at.load_e[1]:
        yield f"{where}.applies_to.load_e", "lower must be below upper"
    if rule.kind == "percent_of_full_scale" and procedure.parameter("full_scale") is None:
        yield f"{where}.kind", "rules in %FS need an instrument parameter named 'full_scale'"
    if (rule.kind == "multiple_of_e" or at.load_e is not None) and procedure.parameter("e") is None:
        yield f"{where}.kind", "rules in units of e need an instrument parameter named 'e'"
    expected = _KIND_UNIT.get(rule.kind)
    if expected and rule.unit != expected:
        yield f"{where}.unit", f"a {rule.kind} rule has unit '{expected}', not '{rule.unit}'"
    if rule.kind == "absolute":
        targets = [p for p in edition.points if rule.applies_to.covers(p.id, p.zone)]
        for p in targets:
            if p.unit != rule.unit:
                yield f"{where}.unit", f"unit '{rule.unit}' differs from point '{p.id}' unit '{p.unit}'"
    if rule.accuracy_class is not None:
        yield from _check_value(procedure, "accuracy_class", rule.accuracy_class, f"{where}.accuracy_class")
    for name, value in rule.conditions:
        yield from _check_value(procedure, name, value, f"{where}.conditions.{name}")


def _check_value(procedure: Procedure, name: str, value: str, where: str) -> Iterator[tuple[str, str]]:
    param = procedure.parameter(name)
    if param is None:
        yield where, f"no instrument parameter named '{name}' is declared"
    elif param.choices is not None and value not in param.choices:
        yield where, f"'{value}' is not one of {list(param.choices)}"


def _overlap(a: MpeRule, b: MpeRule, edition: Edition) -> bool:
    if not (a.stage == b.stage or "any" in (a.stage, b.stage)):
        return False
    if a.accuracy_class and b.accuracy_class and a.accuracy_class != b.accuracy_class:
        return False
    cond_a, cond_b = dict(a.conditions), dict(b.conditions)
    if any(cond_b.get(k, v) != v for k, v in cond_a.items()):
        return False
    if not any(a.applies_to.covers(p.id, p.zone) and b.applies_to.covers(p.id, p.zone) for p in edition.points):
        return False
    tests_a, tests_b = a.applies_to.tests, b.applies_to.tests
    if tests_a is not None and tests_b is not None and not set(tests_a) & set(tests_b):
        return False
    band_a, band_b = a.applies_to.load_e, b.applies_to.load_e
    if band_a and band_b:
        return max(band_a[0], band_b[0]) < min(band_a[1], band_b[1])
    return True


def _check_ambiguous(edition: Edition, where: str) -> Iterator[tuple[str, str]]:
    rules = edition.rules
    for j, b in enumerate(rules):
        for a in rules[:j]:
            if _overlap(a, b, edition):
                yield (
                    f"{where}.rules[{j}].applies_to",
                    f"rules '{a.id}' and '{b.id}' both apply to the same reading",
                )
                return
