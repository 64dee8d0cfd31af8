"""Model equations as text (`l_s + d - l_s*(d_alpha*theta + alpha_s*d_theta)`): parsed once into a
whitelisted Python expression and evaluated with either GTC uncertain numbers (GUM) or NumPy arrays
(Monte Carlo), so both methods propagate through exactly the same equation."""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any

import numpy as np

__all__ = [
    "FLOAT_NAMESPACE",
    "FUNCTIONS",
    "GTC_NAMESPACE",
    "NUMPY_NAMESPACE",
    "RESERVED",
    "Expression",
    "ExpressionError",
    "parse_expression",
]

# The functions a model may call. `mul2` is GTC's product with second-order terms (GUM 5.1.2 note,
# H.1.7); Monte Carlo needs no such help, so there it is the plain product.
FUNCTIONS = ("sqrt", "exp", "log", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "pow", "abs", "mul2")
CONSTANTS = {"pi": math.pi, "e": math.e}

_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
)


class ExpressionError(ValueError):
    """A model equation that cannot be used: bad syntax, a forbidden construct or an unknown name."""


@dataclass(frozen=True)
class Expression:
    text: str
    names: frozenset[str]  # symbols it reads (functions and constants excluded)
    code: CodeType

    def evaluate(self, namespace: Mapping[str, Any]) -> Any:
        return eval(self.code, {"__builtins__": {}}, namespace)  # noqa: S307 - whitelisted AST only


class _FloatConstants(ast.NodeTransformer):
    """Integer literals become floats, so 9**9**9**9 overflows at once instead of computing forever."""

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if type(node.value) is int:
            try:
                return ast.copy_location(ast.Constant(float(node.value)), node)
            except OverflowError:
                return ast.copy_location(ast.Constant(math.inf), node)
        return node


def parse_expression(text: str, where: str = "expression") -> Expression:
    """Parse `text`; only numbers, names, + − × ÷ ** and the listed functions are accepted. Parsed
    once per text: a procedure's budget is bound again for every point."""
    try:
        return _parse(text)
    except ExpressionError as exc:
        raise ExpressionError(f"{where}: {exc}") from None


@lru_cache(maxsize=4096)
def _parse(text: str) -> Expression:
    try:
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid equation: {text!r} ({exc.msg})") from None
    tree = ast.fix_missing_locations(_FloatConstants().visit(tree))
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"'{type(node).__name__}' is not allowed in an equation: {text!r}")
        if isinstance(node, ast.Constant) and type(node.value) is not float:
            raise ExpressionError(f"only numbers may appear as constants: {text!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise ExpressionError(f"unknown function '{name}' (allowed: {', '.join(FUNCTIONS)})")
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in CONSTANTS:
            names.add(node.id)
    return Expression(text, frozenset(names), compile(tree, "<equation>", "eval"))


def _gtc_functions() -> dict[str, Any]:
    import GTC

    return {
        **{name: getattr(GTC, name) for name in ("sqrt", "exp", "log", "log10", "sin", "cos", "tan")},
        **{name: getattr(GTC, name) for name in ("asin", "acos", "atan", "atan2", "pow")},
        "abs": abs,
        "mul2": lambda a, b: GTC.fn.mul2(a, b),
        **CONSTANTS,
    }


def _numpy_functions() -> dict[str, Any]:
    return {
        "sqrt": np.sqrt,
        "exp": np.exp,
        "log": np.log,
        "log10": np.log10,
        "sin": np.sin,
        "cos": np.cos,
        "tan": np.tan,
        "asin": np.arcsin,
        "acos": np.arccos,
        "atan": np.arctan,
        "atan2": np.arctan2,
        "pow": np.power,
        "abs": np.abs,
        "mul2": np.multiply,
        **CONSTANTS,
    }


def _float_functions() -> dict[str, Any]:
    names = ("sqrt", "exp", "log", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "pow")
    return {**{name: getattr(math, name) for name in names}, "abs": abs, "mul2": lambda a, b: a * b, **CONSTANTS}


GTC_NAMESPACE = _gtc_functions()
FLOAT_NAMESPACE = _float_functions()  # plain numbers: a budget's parameter equations
NUMPY_NAMESPACE = _numpy_functions()
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS)
