"""The model's equations (intermediates and measurands) in the order they can be evaluated: an equation
may use inputs, curve coefficients and any other equation, earlier or later in the file; an equation
that depends on itself, directly or through others, is refused naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

from .errors import BudgetError
from .expression import RESERVED, Expression, ExpressionError, parse_expression

__all__ = ["Equation", "ModelEquations", "model_equations"]


@dataclass(frozen=True)
class Equation:
    symbol: str
    expression: Expression
    unit: str = ""
    description: str = ""
    field: str = ""  # where it is in the file, e.g. measurands[1]


@dataclass(frozen=True)
class ModelEquations:
    intermediates: tuple[Equation, ...]
    measurands: tuple[Equation, ...]
    order: tuple[Equation, ...]  # every equation after those it uses
    uses: Mapping[str, tuple[str, ...]]  # symbol → the equations it depends on, directly or not, in order
    used: frozenset[str]  # the equations some other equation uses


def new_symbol(symbol: str, field: str, known: set[str]) -> None:
    """Register a symbol, refusing a second definition or the name of a function or constant."""
    if symbol in known:
        raise BudgetError(field, f"symbol '{symbol}' is defined twice")
    if symbol in RESERVED:
        raise BudgetError(field, f"'{symbol}' is the name of a function or constant")
    known.add(symbol)


def _parsed(raw: list[dict[str, Any]], part: str, known: set[str]) -> list[Equation]:
    out = []
    for i, eq in enumerate(raw):
        where = f"{part}[{i}]"
        try:
            expr = parse_expression(eq["expression"], f"{where}.expression")
        except ExpressionError as exc:
            raise BudgetError(f"{where}.expression", str(exc)) from None
        new_symbol(eq["symbol"], f"{where}.symbol", known)
        out.append(Equation(eq["symbol"], expr, eq.get("unit", ""), eq.get("description", ""), where))
    return out


def model_equations(data: Mapping[str, Any], known: set[str]) -> ModelEquations:
    """Parse the intermediates and measurands; `known` holds the inputs' and curves' symbols."""
    intermediates = _parsed(data.get("intermediates", []), "intermediates", known)
    measurands = _parsed(data["measurands"], "measurands", known)
    by_symbol = {eq.symbol: eq for eq in (*intermediates, *measurands)}
    graph: dict[str, set[str]] = {}
    for eq in by_symbol.values():
        unknown = sorted(eq.expression.names - known)
        if unknown:
            raise BudgetError(f"{eq.field}.expression", f"unknown symbol(s) {', '.join(unknown)}")
        graph[eq.symbol] = {name for name in eq.expression.names if name in by_symbol}
    try:
        order = tuple(by_symbol[s] for s in TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = exc.args[1]  # [a, b, …, a]
        first = by_symbol[cycle[0]]
        path = " → ".join(cycle)
        raise BudgetError(f"{first.field}.expression", f"equations depend on each other in a cycle: {path}") from None
    position = {eq.symbol: i for i, eq in enumerate(order)}
    uses: dict[str, tuple[str, ...]] = {}
    for eq in order:  # each equation's own uses are known before it
        closure = set(graph[eq.symbol]).union(*(uses[d] for d in graph[eq.symbol]))
        uses[eq.symbol] = tuple(sorted(closure, key=position.__getitem__))
    used = frozenset(name for deps in graph.values() for name in deps)
    return ModelEquations(tuple(intermediates), tuple(measurands), order, uses, used)
