"""The two sides of the authorisation matrices (tests/integration/test_authorisation_matrix*.py): tenant A in
Xuhui (district 310104, institution D310104) with its objects, and every kind of user of another district
(Changning, 310105: its institution's staff, an owner there, its district bureau), who must never learn
whether one of A's ids exists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from jiliang import tokens
from jiliang.auth import Actor
from jiliang.platform import Platform
from jiliang.registry.tables import instruments
from jiliang.verification.tables import verification_records
from tests.support import world
from tests.support.owner_pages import make_regulator

# a value for each path parameter that names an object, naming nothing
MISSING = {
    "instrument_id": "987654",
    "task_id": "987654",
    "record_id": "987654",
    "number": "D310104-2026-987654",
    "standard_id": "987654",
    "owner_id": "987654",
    "user_id": "987654",
    "token_id": "0123456789abcdef",  # an API token's id: the start of its SHA-256, in hex
    "institution_code": "D987654",
    # global reference data an administrator corrects: a catalogue type, a procedure's MPE rule
    "type_id": "987654",
    "procedure_code": "no_such_procedure",
    "rule_id": "no_such_rule",
}


def hidden_like_missing(elsewhere: Any, missing: Any, real: str, made_up: str) -> None:
    """An object that exists outside the caller's tenancy or jurisdiction answers exactly as one that does
    not exist: 404, and the same body once the made-up id reads as the real one (API and pages alike)."""
    assert elsewhere.status_code == missing.status_code == 404, (elsewhere.status_code, missing.status_code)
    assert elsewhere.text == missing.text.replace(made_up, real), (elsewhere.text, missing.text)


def tenant_a(platform: Platform) -> tuple[world.Lab, dict[str, str]]:
    """An owner's scale verified end to end by D310104: the lab, and the ids of the instrument, its task,
    record and certificate, the lab's standard and verifier, the owner, an API token of the verifier's,
    and the institution's code (its authorisation number and seal are its lab manager's to set)."""
    lab, number = world.issued_certificate(platform, "310104", "D310104")
    _, token = tokens.create_api_token(platform, lab.verifier, "矩阵 / matrix", "write", 30)
    with platform.engine.connect() as c:
        record = c.execute(select(verification_records).order_by(verification_records.c.id.desc())).first()
        assert record is not None
        owner_id = c.execute(select(instruments.c.owner_id).where(instruments.c.id == record.instrument_id)).scalar()
    return lab, {
        "instrument_id": str(record.instrument_id),
        "task_id": str(record.task_id),
        "record_id": str(record.id),
        "number": number,
        "standard_id": str(lab.standard_id),
        "owner_id": str(owner_id),
        "user_id": str(lab.verifier.user_id),
        "token_id": token["id"],
        "institution_code": "D310104",
    }


def other_district(platform: Platform) -> dict[str, Actor]:
    """Each kind of user of district 310105, by role: an owner, its institution's verifier, checker,
    approver and lab manager, and its district bureau's regulator."""
    lab = world.make_lab(platform, "D310105", ["nawi"])
    return {
        "owner": world.make_owner(platform, "310105"),
        "verifier": lab.verifier,
        "checker": lab.checker,
        "approver": lab.approver,
        "lab_manager": lab.manager,
        "regulator": make_regulator(platform, "310105"),
    }
