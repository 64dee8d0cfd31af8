"""Verification workflow tables: applications, tasks, records with their points, sign-offs."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from ..db import metadata
from ..types import UtcDateTime

__all__ = ["applications", "tasks", "verification_records", "measurement_points", "record_standards", "signoffs"]

applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", ForeignKey("owners.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # verification | calibration
    Column("created_by", ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("conformity_statement", Boolean, nullable=False, default=True),
    Column("note", Text, nullable=False, default=""),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", ForeignKey("applications.id"), nullable=False, index=True),
    Column("instrument_id", ForeignKey("instruments.id"), nullable=False, index=True),
    Column("institution_id", ForeignKey("institutions.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    # assigned (its current record, if any, says how far it got: recorded / checked) -> issued
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

verification_records = Table(
    "verification_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", ForeignKey("tasks.id"), nullable=False, index=True),
    # recorded -> checked -> approved; returned (by the checker) keeps the record for the history
    Column("status", String(16), nullable=False),
    Column("instrument_id", ForeignKey("instruments.id"), nullable=False, index=True),
    Column("institution_id", ForeignKey("institutions.id"), nullable=False),
    Column("verifier_id", ForeignKey("users.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("stage", String(16)),  # initial | subsequent | in_service (None for calibration)
    Column("performed_on", Date, nullable=False),
    Column("procedure_code", String(32)),
    Column("regulation", String(64), nullable=False),
    Column("environment", JSON, nullable=False, default=dict),
    Column("decision_rule", Text, nullable=False),
    Column("verdict", String(16)),  # pass | fail | unknown | None (calibration without statement)
    Column("advisory", Boolean, nullable=False, default=False),
    Column("valid_until", Date),
    Column("replace_by", Date),
    Column("period_note", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    # each test the regulation prescribes: [{id, name_zh, name_en, verdict, seqs, value, limit, unit, problem}]
    Column("tests", JSON),
    # a calibration's least-squares correction line (migration 0007): {b0, u_b0, b1, u_b1, r, …} or {problem}
    Column("correction_curve", JSON),
)

measurement_points = Table(
    "measurement_points",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", ForeignKey("verification_records.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("point_id", String(32), nullable=False),
    Column("unit", String(16), nullable=False, default=""),
    # Decimal values kept as their exact decimal strings
    Column("reference", String(64), nullable=False),
    Column("indication", String(64), nullable=False),
    Column("error", String(64), nullable=False),
    Column("relative_error_percent", String(64)),
    Column("mpe_lower", String(64)),
    Column("mpe_upper", String(64)),
    Column("mpe_unit", String(16)),
    Column("rule_id", String(64)),
    Column("conforms", Boolean),
    Column("advisory", Boolean, nullable=False, default=False),
    Column("expanded_uncertainty", String(32)),
    Column("coverage_factor", String(8)),
    # from the procedure's budget: {U, k, p, dof, u_c, unit, largest} or {problem}; NULL: no budget
    Column("uncertainty", JSON),
    # the decision rule's numbers: {rule, zone, acceptance_lower/upper, guard_band, ratio, note}
    Column("decision", JSON),
    # the changeover-point method (OIML R 76-1 A.4.4.3): ΔL, and Ec = E − E0 where the test corrects by E0
    Column("added_load", String(64)),
    Column("corrected_error", String(64)),
    Column("position", String(16)),  # eccentricity: where on the load receptor
    Column("indication_after", String(64)),  # discrimination: the indication after the extra load
    Column("rule_source", Text),  # where the rule's MPE comes from, and how far it is confirmed
    Column("rule_confidence", String(8)),
)

record_standards = Table(
    "record_standards",
    metadata,
    Column("record_id", ForeignKey("verification_records.id"), primary_key=True),
    Column("standard_id", ForeignKey("standards.id"), primary_key=True),
)

# Each step's person confirms with their password; the row says who signed which content hash.
signoffs = Table(
    "signoffs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("record_id", ForeignKey("verification_records.id"), nullable=False),  # indexed by uq_signoffs_record_step
    Column("step", String(16), nullable=False),  # verify | check | approve
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    UniqueConstraint("record_id", "step", name="uq_signoffs_record_step"),
)
