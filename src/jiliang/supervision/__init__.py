"""Supervision 监管: the regulator's dashboard queries — coverage of mandatory verification, the
overdue drill-down, certificates issued per month. Read-only; scoped to the actor's jurisdiction."""

from __future__ import annotations

from .coverage import CoverageCount, CoverageTable, District, ItemName, UnknownPeriodCount, coverage
from .issuance import CertificateSeries, InstitutionSeries, certificates_per_month
from .overdue import OverdueInstrument, OverduePage, UncoveredStatus, overdue, overdue_page
from .standing import PeriodClass, Standing

__all__ = [
    "CertificateSeries",
    "CoverageCount",
    "CoverageTable",
    "District",
    "InstitutionSeries",
    "ItemName",
    "OverdueInstrument",
    "OverduePage",
    "PeriodClass",
    "Standing",
    "UncoveredStatus",
    "UnknownPeriodCount",
    "certificates_per_month",
    "coverage",
    "overdue",
    "overdue_page",
]
