"""Measurement uncertainty: budgets as data, the GUM method through GTC, Monte Carlo in NumPy, and
the report both print (CLI table, API JSON)."""

from .budget import (
    Budget,
    BudgetError,
    BudgetTemplate,
    Correlation,
    CurveFit,
    Equation,
    InputQuantity,
    MonteCarloSettings,
    budget_schema,
    load_budget,
    parse_budget,
)
from .coverage import coverage_factor
from .gum import Contribution, GumEvaluation, GumResult, OutputCorrelation, evaluate_gum
from .mcm import McmEvaluation, McmResult, Validation, evaluate_mcm, numerical_tolerance, validate_gum
from .report import METHODS, evaluate_report

__all__ = [
    "METHODS",
    "Budget",
    "BudgetError",
    "BudgetTemplate",
    "Contribution",
    "Correlation",
    "CurveFit",
    "Equation",
    "GumEvaluation",
    "GumResult",
    "InputQuantity",
    "McmEvaluation",
    "McmResult",
    "MonteCarloSettings",
    "OutputCorrelation",
    "Validation",
    "budget_schema",
    "coverage_factor",
    "evaluate_gum",
    "evaluate_mcm",
    "evaluate_report",
    "load_budget",
    "numerical_tolerance",
    "parse_budget",
    "validate_gum",
]
