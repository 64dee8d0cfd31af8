"""Registry tables: districts, regulators, institutions, staff, standards, catalogue, owners, instruments."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from ..db import metadata
from ..types import UtcDateTime

__all__ = [
    "account_locks",
    "districts",
    "regulators",
    "jurisdictions",
    "institutions",
    "institution_seals",
    "authorisations",
    "users",
    "qualifications",
    "standards",
    "standard_items",
    "standard_calibrations",
    "standard_calibration_ranges",
    "catalogue_items",
    "catalogue_types",
    "owners",
    "instruments",
    "api_tokens",
    "second_factors",
    "rule_confirmations",
]

districts = Table(
    "districts",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("name_zh", String(32), nullable=False),
    Column("name_en", String(64), nullable=False),
)

regulators = Table(
    "regulators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name_zh", String(128), nullable=False),
    Column("name_en", String(128), nullable=False),
    Column("level", String(16), nullable=False),  # city | district | special
)

# A regulator sees instruments in its districts, or in its special zone (Lingang, airport);
# a row with neither set means the whole city.
jurisdictions = Table(
    "jurisdictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("regulator_id", ForeignKey("regulators.id"), nullable=False, index=True),
    Column("district_code", ForeignKey("districts.code")),
    Column("zone", String(16)),
)

institutions = Table(
    "institutions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name_zh", String(128), nullable=False),
    Column("name_en", String(128), nullable=False),
    Column("district_code", ForeignKey("districts.code")),  # None: city-wide institute
    Column("cross_district", Boolean, nullable=False, default=False),
    Column("signing_algorithm", String(16), nullable=False, default="Ed25519"),
    Column("signing_kid", String(64)),
    # 计量授权证书 number, printed on every certificate ("未登记" until an administrator records it)
    Column("authorisation_no", String(64)),
)

# the institution's 检定专用章 as the PNG its administrator uploaded, printed on its PDF certificates
institution_seals = Table(
    "institution_seals",
    metadata,
    Column("institution_id", ForeignKey("institutions.id"), primary_key=True),
    Column("png", LargeBinary, nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("uploaded_by", ForeignKey("users.id"), nullable=False),
)

authorisations = Table(
    "authorisations",
    metadata,
    Column("institution_id", ForeignKey("institutions.id"), primary_key=True),
    Column("item_code", ForeignKey("catalogue_items.code"), primary_key=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("display_name", String(64), nullable=False),
    Column("roles", String(128), nullable=False),  # space-separated role names
    Column("institution_id", ForeignKey("institutions.id"), index=True),
    Column("regulator_id", ForeignKey("regulators.id")),
    Column("owner_id", ForeignKey("owners.id"), index=True),
    Column("active", Boolean, nullable=False, default=True),
)

# consecutive wrong passwords (login or signing) and the lock they lead to; volatile, so kept beside
# the user rather than in it: the lock and its lifting are audit events
account_locks = Table(
    "account_locks",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("label", String(64)),  # None: a login session; named: an API token its user made
    Column("scope", String(8), nullable=False, server_default="write"),  # read | write
    Column("created_at", UtcDateTime),
    Column("seal", String(64)),  # HMAC under the ledger key: a row written without it is refused
)

# a user's second factor (TOTP, RFC 6238): pending until a first code confirms it
second_factors = Table(
    "second_factors",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("last_step", BigInteger),  # the time step of the last code accepted: no code is used twice
)

qualifications = Table(
    "qualifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("item_code", ForeignKey("catalogue_items.code"), nullable=False),
    Column("certificate_no", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
)

standards = Table(
    "standards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("institution_id", ForeignKey("institutions.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("examination_certificate_no", String(64), nullable=False),
    Column("examination_valid_until", Date, nullable=False),
    # current calibration, kept equal to the latest row of standard_calibrations
    Column("calibrated_by", String(128)),
    Column("calibration_certificate_no", String(64)),
    Column("calibration_due", Date),
)

standard_items = Table(
    "standard_items",
    metadata,
    Column("standard_id", ForeignKey("standards.id"), primary_key=True),
    Column("item_code", ForeignKey("catalogue_items.code"), primary_key=True),
)

standard_calibrations = Table(
    "standard_calibrations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("standard_id", ForeignKey("standards.id"), nullable=False, index=True),
    Column("calibrated_by", String(128), nullable=False),
    Column("certificate_no", String(64), nullable=False),
    Column("calibrated_on", Date, nullable=False),
    Column("due", Date, nullable=False),
    Column("in_tolerance", Boolean, nullable=False, default=True),
    # the certificate's expanded uncertainty U with k, in uncertainty_unit ("%" = relative); a
    # procedure's budget reads it as standard_U / standard_k (NULL: not recorded)
    Column("expanded_uncertainty", String(32)),
    Column("coverage_factor", String(8)),
    Column("uncertainty_unit", String(16)),
    # a certificate imported as a DCC (migration 0013): the file as imported, its signature's outcome
    # (unsigned | valid | trusted) and who signed it (the X.509 subject); NULL: entered by hand
    Column("dcc_xml", LargeBinary),
    Column("dcc_signature", String(16)),
    Column("dcc_signed_by", Text),
)

# The U a calibration certificate states per range or point (migration 0013): the range [lower, upper]
# (lower = upper: a point; both NULL: the certificate does not say where) in `unit`, and U with k in
# uncertainty_unit, as the exact decimal text of the certificate. A budget takes the U of the ranges
# that hold its reference value, else the largest recorded (verification.model.budget_context).
standard_calibration_ranges = Table(
    "standard_calibration_ranges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("calibration_id", ForeignKey("standard_calibrations.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("quantity", String(128), nullable=False),
    Column("lower", String(32)),
    Column("upper", String(32)),
    Column("unit", String(32)),
    Column("expanded_uncertainty", String(32), nullable=False),
    Column("coverage_factor", String(8), nullable=False),
    Column("uncertainty_unit", String(32), nullable=False),
)

catalogue_items = Table(
    "catalogue_items",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name_zh", String(64), nullable=False),
    Column("types_zh", Text, nullable=False, default=""),
    Column("scope", String(64), nullable=False, default=""),
    Column("mode", String(64), nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("confidence", String(8), nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

# Verification periods per instrument type; period_months NULL = the data gives no period (unknown).
catalogue_types = Table(
    "catalogue_types",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_code", ForeignKey("catalogue_items.code"), nullable=False, index=True),
    Column("name_zh", String(64), nullable=False),
    Column("name_en", String(128), nullable=False, default=""),
    Column("regulation", String(64), nullable=False, default=""),
    Column("mode", String(32), nullable=False),
    Column("period_months", Integer),
    Column("service_life_months", Integer),
    Column("note", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("confidence", String(8), nullable=False),
    Column("version", Integer, nullable=False, default=1),
)

owners = Table(
    "owners",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("district_code", ForeignKey("districts.code"), nullable=False),
    Column("address", String(256), nullable=False, default=""),
    Column("status", String(16), nullable=False),  # pending | approved | rejected
    Column("registered_at", UtcDateTime, nullable=False),
)

instruments = Table(
    "instruments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", ForeignKey("owners.id"), nullable=False, index=True),
    Column("item_code", ForeignKey("catalogue_items.code")),  # None: outside the catalogue (calibration)
    Column("type_id", ForeignKey("catalogue_types.id")),
    Column("procedure_code", String(32)),
    Column("name", String(128), nullable=False),
    Column("manufacturer", String(128), nullable=False, default=""),
    Column("model", String(64), nullable=False, default=""),
    Column("serial_no", String(64), nullable=False),
    Column("software_version", String(64)),
    Column("software_checksum", String(128)),
    Column("parameters", JSON, nullable=False, default=dict),
    Column("district_code", ForeignKey("districts.code"), nullable=False),
    Column("zone", String(16)),
    Column("location", String(256), nullable=False, default=""),
    Column("use", String(16), nullable=False),  # trade | safety | medical | environment
    Column("status", String(16), nullable=False, default="in_use"),  # in_use | scrapped
    Column("barred", Boolean, nullable=False, default=False),
    Column("label_token", String(32), nullable=False, unique=True),
    Column("registered_at", UtcDateTime, nullable=False),
    # kept current in the same transaction as each verification, so dashboards never scan history
    Column("last_verified_on", Date),
    Column("last_conclusion", String(16)),
    Column("valid_until", Date),
    Column("replace_by", Date),
    Index("ix_instruments_district_item", "district_code", "item_code"),
    # what the passing days change in the coverage counts, and what a type's correction restates
    Index("ix_instruments_valid_until", "valid_until"),
    Index("ix_instruments_replace_by", "replace_by"),
    Index("ix_instruments_type", "type_id"),
)

# The coverage counts the regulator's dashboard reads, derived from the instruments and kept current by
# supervision/counts.py (which says how): eligible instruments per district, zone, item, period class and
# standing on the basis day.
coverage_counts = Table(
    "coverage_counts",
    metadata,
    Column("district_code", String(6), primary_key=True),
    Column("zone", String(16), primary_key=True),  # '' outside a special zone (a key column is never null)
    Column("item_code", String(32), primary_key=True),
    Column("period", String(16), primary_key=True),  # supervision.standing.PeriodClass
    Column("standing", String(16), primary_key=True),  # supervision.standing.Standing on the basis day
    Column("n", Integer, nullable=False),
)

coverage_basis = Table(
    "coverage_basis",
    metadata,
    Column("id", Integer, primary_key=True),  # one row, id 1
    Column("counted_on", Date, nullable=False),
)

rule_confirmations = Table(
    "rule_confirmations",
    metadata,
    Column("procedure_code", String(32), primary_key=True),
    Column("rule_id", String(64), primary_key=True),
    Column("confirmed_by", ForeignKey("users.id"), nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=False),
)
