"""Uncertainty budgets as data (JJF 1059.1 / JCGM 100): the model equation, its input quantities with
their type A or type B evaluation, correlations and the coverage probability. A budget file is checked
against `budget_schema.json`; a template's numbers may be equations over named parameters, bound per
measurement point (`BudgetTemplate.bind`)."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..field_path import field_path
from .correlation import CorrelatedSet, Correlation, correlated_sets, simultaneous
from .coverage import coverage_factor
from .curves import CurveFit, fit_line
from .equations import Equation, ModelEquations, model_equations, new_symbol
from .errors import BudgetError
from .expression import FLOAT_NAMESPACE, Expression, ExpressionError, parse_expression

__all__ = [
    "SCHEMA_PATH",
    "Budget",
    "BudgetError",
    "BudgetTemplate",
    "Correlation",
    "CurveFit",
    "Equation",
    "InputQuantity",
    "MonteCarloSettings",
    "budget_schema",
    "load_budget",
    "parse_budget",
]

SCHEMA_PATH = Path(__file__).parent / "budget_schema.json"  # format 2
SCHEMA_1_PATH = Path(__file__).parent / "budget_schema_1.json"  # format 1, as published
FORMAT = "jiliang.uncertainty-budget/2"
FORMAT_1 = "jiliang.uncertainty-budget/1"
Distribution = Literal["normal", "student_t", "rectangular", "triangular", "arcsine", "curvilinear_trapezoid"]
# u = a / divisor for a distribution of half-width a (JJF 1059.1 §4.3.3.4, table 2)
_DIVISOR = {"rectangular": math.sqrt(3), "triangular": math.sqrt(6), "arcsine": math.sqrt(2)}
_SPECS = ("standard_uncertainty", "half_width", "expanded", "scale")
_SCALE_OF_V1 = "_scale_of_v1"  # internal mark: format 1's `standard_uncertainty` of a t input is its scale


class InputQuantity(NamedTuple):  # a tuple: a procedure's budget makes one per input per point
    symbol: str
    estimate: float  # x_i
    standard_uncertainty: float  # u(x_i)
    dof: float  # ν_i, math.inf when not stated
    distribution: Distribution
    evaluation: Literal["A", "B"]
    stated: tuple[Any, ...]  # how u(x_i) was stated: ("A", n, s), ("expanded", U, k, p), ("half_width", a, d), ("u",)
    description: str = ""
    unit: str = ""
    half_width: float | None = None  # a, for the Monte Carlo distribution
    half_width_uncertainty: float | None = None  # d of a curvilinear trapezoid
    readings: tuple[float, ...] | None = None  # type A
    relative: bool = False
    t_scale: float | None = None  # a Student t input's scale s in Monte Carlo: t_ν(x, s²)

    @property
    def t_convention(self) -> Literal["scale", "standard_deviation"] | None:
        """How a Student t input was stated: by its scale (JCGM 101 §6.4.9, u = s) or by its standard
        deviation u (NIST TN1900, the NIST Uncertainty Machine: s = u·√((ν − 2)/ν))."""
        if self.t_scale is None:
            return None
        return "standard_deviation" if self.stated[0] == "u" else "scale"

    @property
    def draw(self) -> str:
        """The distribution Monte Carlo draws, in words."""
        if self.t_convention == "scale":
            return f"Student t, ν = {self.dof:g}, scale = u (JCGM 101 §6.4.9)"
        if self.t_convention == "standard_deviation":
            return f"Student t, ν = {self.dof:g}, standard deviation = u (NIST TN1900)"
        if self.distribution == "normal":
            return "normal, standard deviation = u"
        return self.distribution.replace("_", " ")

    @property
    def how(self) -> str:
        """How u(x_i) was obtained, for the budget table (formatted only when shown)."""
        kind, *rest = self.stated
        if kind == "A":
            return f"A, n = {rest[0]}, s = {rest[1]:.4g}"
        if kind == "fit":
            return f"A, least-squares line, n = {rest[0]}" + (", weighted" if rest[1] else "")
        if kind == "expanded":
            value, k, level = rest
            text = (
                f"B, U = {value:.4g}, k = {k:g}"
                if level is None
                else f"B, U = {value:.4g}, p = {level:g} → k = {k:.4g}"
            )
        elif kind == "half_width" and self.distribution == "curvilinear_trapezoid":
            text = f"B, trapezoid a = {rest[0]:.4g}, d = {rest[1]:.4g}"
        elif kind == "half_width":
            text = f"B, {self.distribution} a = {rest[0]:.4g}"
        elif kind == "scale":
            text = f"B, Student t scale = {rest[0]:.4g}"
        else:
            text = f"B, {self.distribution}"
        return text + (" (relative)" if self.relative else "")


@dataclass(frozen=True)
class MonteCarloSettings:
    trials: int | None = None  # None: the adaptive procedure (JCGM 101 §7.9)
    significant_digits: int = 2
    seed: int | None = None


@dataclass(frozen=True)
class Budget:
    title: str
    probability: float
    inputs: tuple[InputQuantity, ...]
    correlations: tuple[Correlation, ...]
    intermediates: tuple[Equation, ...]
    measurands: tuple[Equation, ...]
    monte_carlo: MonteCarloSettings
    source: str = ""
    title_zh: str = ""
    id: str = ""
    coverage_factor: float | None = None  # a fixed k; None: k = t_p(ν_eff)
    order: tuple[Equation, ...] = ()  # intermediates and measurands, each after those it uses
    uses: Mapping[str, tuple[str, ...]] | None = None  # equation → the equations it depends on
    reused: frozenset[str] = frozenset()  # intermediates, and measurands other equations use
    correlated: tuple[CorrelatedSet, ...] = ()
    curves: tuple[CurveFit, ...] = ()
    format: str = FORMAT


@cache
def budget_schema(version: int = 2) -> dict[str, Any]:
    path = SCHEMA_1_PATH if version == 1 else SCHEMA_PATH
    return dict(json.loads(path.read_text(encoding="utf-8")))


@cache
def _validator(version: int) -> Draft202012Validator:
    return Draft202012Validator(budget_schema(version))


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if name else where


class _Binder:
    """Turns a field written as a number or as an equation over the parameters into a float."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.names = values.keys()
        self.namespace = {**FLOAT_NAMESPACE, **values}

    def number(self, raw: Any, where: str, name: str = "") -> float:
        """The field `where.name` as a float (its path is only spelt out in an error)."""
        if type(raw) is float and math.isfinite(raw):
            return raw
        if type(raw) is Expression and raw.names <= self.names:  # the common case, without the checks below
            try:
                value = raw.evaluate(self.namespace)
            except (ArithmeticError, ValueError, TypeError):
                value = None
            if type(value) is float and math.isfinite(value):
                return value
        return self._checked(raw, where, name)

    def _checked(self, raw: Any, where: str, name: str) -> float:
        try:
            if type(raw) is float:
                value: Any = raw
            elif isinstance(raw, Expression | str):
                expr = raw if isinstance(raw, Expression) else parse_expression(raw, "equation")
                if not expr.names <= self.values.keys():
                    missing = ", ".join(sorted(expr.names - self.values.keys()))
                    raise BudgetError(_field(where, name), f"needs parameter(s) {missing} that were not given")
                value = expr.evaluate(self.namespace)
            else:
                value = raw
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BudgetError(_field(where, name), f"must be a finite number, got {value!r}")
            return float(value)
        except ExpressionError as exc:
            raise BudgetError(_field(where, name), str(exc)) from None
        except (ArithmeticError, ValueError, TypeError) as exc:  # OverflowError included
            text = raw.text if isinstance(raw, Expression) else raw
            raise BudgetError(_field(where, name), f"{text!r} cannot be evaluated: {exc}") from None

    def readings(self, raw: Any, field: str) -> tuple[float, ...]:
        if isinstance(raw, str):
            if raw not in self.values:
                raise BudgetError(field, f"needs the list parameter '{raw}' that was not given")
            raw = self.values[raw]
        if not isinstance(raw, list | tuple):
            raise BudgetError(field, f"readings must be a list of numbers, got {raw!r}")
        values = tuple(self.number(v, f"{field}[{i}]") for i, v in enumerate(raw))
        if len(values) < 2:
            raise BudgetError(field, "a type A evaluation needs at least two readings")
        return values


def _type_a(readings: tuple[float, ...]) -> tuple[float, float, float, tuple[Any, ...]]:
    """JJF 1059.1 §4.3.2.2: x̄, u = s/√n with the Bessel s, ν = n − 1."""
    n, s = len(readings), statistics.stdev(readings)
    return statistics.fmean(readings), s / math.sqrt(n), float(n - 1), ("A", n, s)


_NUMBERS = (
    "estimate",
    "standard_uncertainty",
    "half_width",
    "half_width_uncertainty",
    "expanded",
    "coverage_factor",
    "scale",
)


def _prepared(raw: dict[str, Any], i: int, version: int) -> dict[str, Any]:
    """An input with its equations parsed and its numbers made floats once, when the template is read,
    so that binding it for every measurement point only evaluates them. A format-1 input that is normal
    with finite ν (or type A) was drawn as a t distribution scaled by its u: it keeps that meaning."""
    out = dict(raw)
    if version == 1 and raw.get("distribution", "normal") == "normal":
        if "readings" in raw or raw.get("dof") is not None:
            out["distribution"] = "student_t"
            out[_SCALE_OF_V1] = True
        if "readings" in raw:
            out.pop("dof", None)  # format 1 let the readings' n − 1 override a stated ν
    for name in (*_NUMBERS, "dof"):
        value = raw.get(name)
        try:
            if isinstance(value, str):
                out[name] = parse_expression(value, "equation")
            elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                out[name] = float(value)
        except ExpressionError as exc:
            raise BudgetError(f"inputs[{i}].{name}", str(exc)) from None
        except OverflowError:
            pass  # left as it is: binding names the field
    return out


def _fixed_part(raw: dict[str, Any], i: int) -> InputQuantity | None:
    """The input evaluated once, when nothing but (at most) its estimate depends on the parameters and
    its uncertainty is not relative to the estimate; None when it must be evaluated at every binding."""
    varies = [name for name in (*_NUMBERS, "dof") if isinstance(raw.get(name), Expression)]
    if "readings" in raw or raw.get("relative") or any(name != "estimate" for name in varies):
        return None
    if not isinstance(raw.get("estimate"), Expression | float):
        return None  # missing or not a usable number: binding names the field
    try:
        return _input({**raw, "estimate": 0.0}, i, _Binder({}))
    except BudgetError:
        return None  # the same error is raised, with its field, at binding


def _with_estimate(fixed: InputQuantity, raw: dict[str, Any], i: int, bind: _Binder) -> InputQuantity:
    estimate = raw["estimate"]
    if type(estimate) is not float or not math.isfinite(estimate):
        estimate = bind.number(estimate, f"inputs[{i}]", "estimate")
    # InputQuantity(symbol, estimate, …) with the rest as evaluated once: a plain tuple copy, no checks
    return tuple.__new__(InputQuantity, (fixed[0], estimate, *fixed[2:]))


def _input(raw: dict[str, Any], i: int, bind: _Binder) -> InputQuantity:
    where = f"inputs[{i}]"
    symbol = raw["symbol"]
    dist: Distribution = raw.get("distribution", "student_t" if "readings" in raw else "normal")
    given = [k for k in _SPECS if k in raw]
    dof_raw = raw.get("dof")
    dof = math.inf if dof_raw is None or dof_raw == math.inf else bind.number(dof_raw, where, "dof")
    if dof < 1:
        raise BudgetError(f"{where}.dof", "degrees of freedom must be at least 1")
    half, half_u, t_scale = None, None, None
    readings = None
    if "readings" in raw:
        if given or "estimate" in raw:
            raise BudgetError(where, f"'{symbol}' has readings (type A): give no estimate or uncertainty beside them")
        if dist not in ("student_t", "normal"):
            raise BudgetError(
                f"{where}.distribution", "readings are drawn as a Student t (JCGM 101 §6.4.9) or a normal"
            )
        if dof_raw is not None:
            raise BudgetError(f"{where}.dof", f"'{symbol}' has readings: ν = n − 1 follows from them")
        readings = bind.readings(raw["readings"], f"{where}.readings")
        estimate, u, dof, stated = _type_a(readings)
        t_scale = u if dist == "student_t" else None
        evaluation: Literal["A", "B"] = "A"
    else:
        if "estimate" not in raw:
            raise BudgetError(f"{where}.estimate", f"'{symbol}' needs an estimate (or readings for type A)")
        if len(given) != 1:
            got = ", ".join(given) or "none"
            raise BudgetError(
                where, f"'{symbol}' needs one of standard_uncertainty, half_width, expanded, scale ({got})"
            )
        estimate = bind.number(raw["estimate"], where, "estimate")
        evaluation = "B"
        spec = given[0]
        if dist == "student_t" and math.isinf(dof):
            raise BudgetError(f"{where}.dof", f"'{symbol}' is a Student t input: it needs its degrees of freedom ν")
        if spec == "scale" and dist != "student_t":
            raise BudgetError(f"{where}.scale", f"'{symbol}': a scale belongs to a Student t input")
        value = bind.number(raw[spec], where, spec)
        if value < 0:
            raise BudgetError(f"{where}.{spec}", "must not be negative")
        if spec == "expanded":
            u, stated = _expanded(raw, value, dof, where, bind)
        elif spec == "half_width":
            if dist in ("normal", "student_t"):
                raise BudgetError(f"{where}.distribution", f"'{symbol}': a half-width needs a bounded distribution")
            half = value
            if dist == "curvilinear_trapezoid":
                half_u = bind.number(raw.get("half_width_uncertainty", 0), where, "half_width_uncertainty")
                if not 0 <= half_u <= half:
                    raise BudgetError(f"{where}.half_width_uncertainty", "must lie between 0 and the half-width")
                u = math.hypot(half / math.sqrt(3), half_u / 3)  # u² = a²/3 + d²/9, JCGM 101 §6.4.3.3
            else:
                u = half / _DIVISOR[dist]
            stated = ("half_width", half, half_u)
        elif spec == "scale" or raw.get(_SCALE_OF_V1):
            u, stated = value, ("scale", value)
        else:
            u, stated = value, ("u",)
        if half is None and dist in _DIVISOR:  # stated by u or U: Monte Carlo still needs the half-width
            half = u * _DIVISOR[dist]
        elif dist == "curvilinear_trapezoid" and half is None:
            raise BudgetError(f"{where}.half_width", f"'{symbol}': give a curvilinear trapezoid by its half-width")
        if dist == "student_t":
            t_scale = _t_scale(symbol, u, dof, stated, where)
        if raw.get("relative"):
            scale = abs(estimate)
            u = u * scale
            half = None if half is None else half * scale
            half_u = None if half_u is None else half_u * scale
            t_scale = None if t_scale is None else t_scale * scale
    if not all(math.isfinite(v) for v in (u, half or 0.0, half_u or 0.0, t_scale or 0.0)):
        raise BudgetError(where, f"'{symbol}': its uncertainty is out of the range of numbers")
    return InputQuantity(
        symbol=symbol,
        estimate=estimate,
        standard_uncertainty=u + 0.0,  # never −0.0, which NumPy refuses as a spread
        dof=dof,
        distribution=dist,
        evaluation=evaluation,
        stated=stated,
        description=raw.get("description", ""),
        unit=raw.get("unit", ""),
        half_width=half,
        half_width_uncertainty=half_u,
        readings=readings,
        relative=bool(raw.get("relative")),
        t_scale=t_scale,
    )


def _expanded(
    raw: dict[str, Any], value: float, dof: float, where: str, bind: _Binder
) -> tuple[float, tuple[Any, ...]]:
    """u = U/k from a certificate's U with k, or with p (k = t_p(ν))."""
    if ("coverage_factor" in raw) == ("level" in raw):
        raise BudgetError(where, f"'{raw['symbol']}': give U with either coverage_factor or level")
    if "coverage_factor" in raw:
        k = bind.number(raw["coverage_factor"], where, "coverage_factor")
        if k <= 0:
            raise BudgetError(f"{where}.coverage_factor", "must be positive")
        return value / k, ("expanded", value, k, None)
    k = coverage_factor(dof, raw["level"])
    return value / k, ("expanded", value, k, raw["level"])


def _t_scale(symbol: str, u: float, dof: float, stated: tuple[Any, ...], where: str) -> float:
    """The scale s of a Student t input: u itself when u was stated as a scale or as U/k (JCGM 101
    §6.4.9.7), u·√((ν − 2)/ν) when u is its standard deviation, which a t with ν ≤ 2 does not have."""
    if stated[0] != "u":
        return u
    if dof <= 2:
        raise BudgetError(
            f"{where}.dof",
            f"'{symbol}': a Student t with ν = {dof:g} has no finite standard deviation, so u cannot be one; "
            "state its scale instead (JCGM 101 §6.4.9)",
        )
    return u * math.sqrt((dof - 2) / dof)


class BudgetTemplate:
    """A checked budget file whose parameters (if any) are filled in by `bind`."""

    def __init__(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise BudgetError("", "a budget is a JSON object")
        version = 1 if data.get("format") == FORMAT_1 else 2
        error = best_match(_validator(version).iter_errors(data))
        if error is not None:
            raise BudgetError(field_path(error.absolute_path) or "(top level)", error.message)
        if not data["inputs"] and not data.get("curves"):
            raise BudgetError("inputs", "a budget needs at least one input quantity (or a curve)")
        self.data = data
        self.format = data["format"]
        self._inputs = [_prepared(raw, i, version) for i, raw in enumerate(data["inputs"])]
        self._fixed = [_fixed_part(raw, i) for i, raw in enumerate(self._inputs)]
        self.parameters = tuple(p["name"] for p in data.get("parameters", ()))
        known: set[str] = set()
        for i, raw in enumerate(data["inputs"]):
            new_symbol(raw["symbol"], f"inputs[{i}].symbol", known)
        for i, curve in enumerate(data.get("curves", ())):
            for name in ("intercept", "slope"):
                new_symbol(curve[name], f"curves[{i}].{name}", known)
        self.input_symbols = frozenset(known)
        for i, c in enumerate(data.get("correlations", ())):
            kind = "between" if "between" in c else "simultaneous"
            for s in c[kind]:
                if s not in self.input_symbols:
                    raise BudgetError(f"correlations[{i}].{kind}", f"'{s}' is not an input")
            if len(set(c[kind])) != len(c[kind]):
                raise BudgetError(f"correlations[{i}].{kind}", "an input cannot be correlated with itself")
        self.equations: ModelEquations = model_equations(data, known)
        self.intermediates = self.equations.intermediates
        self.measurands = self.equations.measurands
        mc = data.get("monte_carlo", {})
        self.monte_carlo = MonteCarloSettings(mc.get("trials"), mc.get("significant_digits", 2), mc.get("seed"))

    def bind(self, values: Mapping[str, Any] | None = None) -> Budget:
        """The budget with its parameters filled in; every number checked."""
        values = dict(values or {})
        missing = [p for p in self.parameters if p not in values]
        if missing:
            raise BudgetError("parameters", f"no value given for {', '.join(missing)}")
        bind = _Binder(values)
        data = self.data
        inputs = [
            _input(raw, i, bind) if fixed is None else _with_estimate(fixed, raw, i, bind)
            for i, (raw, fixed) in enumerate(zip(self._inputs, self._fixed, strict=True))
        ]
        curves = tuple(_curve(raw, i, bind) for i, raw in enumerate(data["curves"])) if "curves" in data else ()
        correlations = _correlations_of(data, bind, inputs, curves) if curves or "correlations" in data else []
        equations = self.equations
        return Budget(
            title=data["title"],
            probability=data.get("probability", 0.95),
            inputs=tuple(inputs),
            correlations=tuple(correlations),
            intermediates=equations.intermediates,
            measurands=equations.measurands,
            monte_carlo=self.monte_carlo,
            source=data.get("source", ""),
            title_zh=data.get("title_zh", ""),
            id=data.get("id", ""),
            coverage_factor=data.get("coverage_factor"),
            order=equations.order,
            uses=equations.uses,
            reused=equations.used | {eq.symbol for eq in equations.intermediates},
            correlated=correlated_sets({q.symbol: q for q in inputs}, correlations) if correlations else (),
            curves=curves,
            format=self.format,
        )


def _correlations_of(
    data: dict[str, Any], bind: _Binder, inputs: list[InputQuantity], curves: tuple[CurveFit, ...]
) -> list[Correlation]:
    """Every correlation the budget holds: its curves' coefficients (adding them to the inputs), the
    coefficients it states and those computed from simultaneous readings."""
    correlations = []
    for i, fit in enumerate(curves):
        inputs.extend(_coefficients(fit))
        correlations.append(Correlation(fit.intercept, fit.slope, fit.r, "curve", f"curves[{i}]"))
    by_symbol = {q.symbol: q for q in inputs}
    for i, c in enumerate(data.get("correlations", ())):
        where = f"correlations[{i}]"
        if "simultaneous" in c:
            correlations.extend(simultaneous(by_symbol, c["simultaneous"], f"{where}.simultaneous"))
            continue
        r = bind.number(c["r"], where, "r")
        if not -1 <= r <= 1:
            raise BudgetError(f"{where}.r", "a correlation coefficient lies between −1 and 1")
        correlations.append(Correlation(c["between"][0], c["between"][1], r, "stated", where))
    return correlations


def _curve(raw: dict[str, Any], i: int, bind: _Binder) -> CurveFit:
    where = f"curves[{i}]"
    x = bind.readings(raw["x"], f"{where}.x")
    y = bind.readings(raw["y"], f"{where}.y")
    u_y = bind.readings(raw["u_y"], f"{where}.u_y") if "u_y" in raw else None
    x0 = bind.number(raw.get("x_offset", 0.0), where, "x_offset")
    return fit_line(
        x, y, u_y, x0, (raw["intercept"], raw["slope"]), where, raw.get("description", ""), raw.get("unit", "")
    )


def _coefficients(fit: CurveFit) -> tuple[InputQuantity, InputQuantity]:
    """The fitted a and b as input quantities: a bivariate t with ν = n − 2 (scale: their standard
    uncertainties) for an ordinary fit, normal for a fit weighted by stated u(y)."""
    dist: Distribution = "normal" if fit.weighted else "student_t"
    stated = ("fit", fit.n, fit.weighted)
    return tuple(
        InputQuantity(
            symbol=symbol,
            estimate=value,
            standard_uncertainty=u,
            dof=fit.dof,
            distribution=dist,
            evaluation="A",
            stated=stated,
            description=f"{fit.description} ({name})".strip(),
            unit=unit,
            t_scale=None if fit.weighted else u,
        )
        for symbol, value, u, name, unit in (
            (fit.intercept, fit.a, fit.u_a, "intercept", fit.unit),
            (fit.slope, fit.b, fit.u_b, "slope", ""),
        )
    )  # type: ignore[return-value]


def parse_budget(data: Any, parameters: Mapping[str, Any] | None = None) -> Budget:
    return BudgetTemplate(data).bind(parameters)


def load_budget(path: Path | str, parameters: Mapping[str, Any] | None = None) -> Budget:
    """Read a budget file (JSON) and bind its parameters."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BudgetError("", f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from exc
    except json.JSONDecodeError as exc:
        raise BudgetError("", f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from exc
    return parse_budget(data, parameters)
