"""Correlated input quantities: coefficients stated in the budget, computed from simultaneous readings
(JCGM 100 §5.2.3 and C.3.6, the method of Annex H.2) or from a curve fit, and grouped into the sets
that must be propagated and sampled together. A set with finite degrees of freedom is one ensemble in
GTC's sense (Willink, Metrologia 44 (2007) 340, §4.1.1: the inputs come from one multivariate sample),
so its members must share ν."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import BudgetError

if TYPE_CHECKING:
    from .budget import InputQuantity

__all__ = ["Correlation", "CorrelatedSet", "correlated_sets", "simultaneous"]

Origin = Literal["stated", "readings", "curve"]


@dataclass(frozen=True)
class Correlation:
    a: str
    b: str
    r: float
    origin: Origin = "stated"
    field: str = "correlations"  # where it comes from in the file


@dataclass(frozen=True)
class CorrelatedSet:
    """Inputs linked by correlations, directly or through others, with their correlation matrix."""

    symbols: tuple[str, ...]
    dof: float  # the shared ν (math.inf when all are infinite)
    matrix: np.ndarray
    field: str  # the first correlation that made the set, for errors


def simultaneous(inputs: Mapping[str, InputQuantity], symbols: Sequence[str], field: str) -> list[Correlation]:
    """r between the means of readings taken together, n of each (JCGM 100 eq. (17)); with n − 1 in
    both the covariance and the variances it is the sample correlation of the readings."""
    for s in symbols:
        if s not in inputs:
            raise BudgetError(field, f"'{s}' is not an input")
        if inputs[s].readings is None:
            raise BudgetError(field, f"'{s}' has no readings: simultaneous inputs are type A, stated by their readings")
    if len(set(symbols)) != len(symbols):
        raise BudgetError(field, "an input is named twice")
    lengths = {len(inputs[s].readings or ()) for s in symbols}
    if len(lengths) != 1:
        raise BudgetError(field, "simultaneous readings must be as many for every input (one set per observation)")
    data = np.array([inputs[s].readings for s in symbols], dtype=float)
    if (data.std(axis=1) == 0).any():
        constant = [s for s, row in zip(symbols, data, strict=True) if row.std() == 0]
        raise BudgetError(field, f"the readings of {', '.join(constant)} do not vary: no correlation can be computed")
    r = np.corrcoef(data)
    return [
        Correlation(symbols[i], symbols[j], float(r[i, j]), "readings", field)
        for i in range(len(symbols))
        for j in range(i + 1, len(symbols))
    ]


def correlated_sets(
    inputs: Mapping[str, InputQuantity], correlations: Sequence[Correlation]
) -> tuple[CorrelatedSet, ...]:
    """The connected sets of correlated inputs, checked: one ν per set, a positive semi-definite matrix."""
    parent: dict[str, str] = {}

    def root(s: str) -> str:
        while parent.setdefault(s, s) != s:
            s = parent[s]
        return s

    for c in correlations:
        ra, rb = root(c.a), root(c.b)
        if ra != rb:
            parent[ra] = rb
    members: dict[str, list[str]] = {}
    for s in inputs:  # budget order
        if s in parent:
            members.setdefault(root(s), []).append(s)
    sets = []
    for head, symbols in members.items():
        field = next(c.field for c in correlations if root(c.a) == head)
        dofs = {inputs[s].dof for s in symbols}
        if len(dofs) > 1:
            stated = ", ".join(f"{s}: ν = {_nu(inputs[s].dof)}" for s in symbols)
            raise BudgetError(
                field,
                f"correlated inputs must share their degrees of freedom ({stated}): with finite ν they are one "
                "ensemble, the means of one set of simultaneous observations (Willink 2007)",
            )
        index = {s: i for i, s in enumerate(symbols)}
        matrix = np.eye(len(symbols))
        for c in correlations:
            if c.a in index and c.b in index:
                matrix[index[c.a], index[c.b]] = matrix[index[c.b], index[c.a]] = c.r
        if np.linalg.eigvalsh(matrix).min() < -1e-9:
            raise BudgetError(
                field,
                f"the correlation coefficients between {', '.join(symbols)} are impossible together "
                "(the matrix is not positive semi-definite)",
            )
        sets.append(CorrelatedSet(tuple(symbols), dofs.pop(), matrix, field))
    return tuple(sets)


def _nu(dof: float) -> str:
    return "∞" if math.isinf(dof) else f"{dof:g}"
