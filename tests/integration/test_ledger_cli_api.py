"""The ledger from outside: the exported certificate carries its proof and `jiliang cert verify` checks
it with no database; `jiliang audit` exits 1 and names findings; public proof endpoints answer with
proofs that verify by the RFC 9162 algorithms."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from jiliang.certificates.tables import certificates
from jiliang.cli import app
from jiliang.ledger import merkle
from jiliang.ledger.checkpoints import issue_checkpoint
from jiliang.ledger.note import parse_note
from jiliang.verification.tables import measurement_points
from tests.support import tamper, world


@pytest.fixture
def cli(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("JILIANG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def issued(platform) -> str:
    return world.issued_certificate(platform)[1]


@pytest.fixture
def exported(cli, issued, tmp_path) -> tuple[Path, Path]:
    out, keys = tmp_path / "cert.json", tmp_path / "keys.json"
    assert cli("cert", "export", issued, "-o", str(out)).exit_code == 0
    assert cli("keys", "-o", str(keys)).exit_code == 0
    return out, keys


def test_export_carries_the_proof_and_verifies_offline(exported, issued) -> None:
    out, keys = exported
    doc = json.loads(out.read_text(encoding="utf-8"))
    ledger = doc["ledger"]
    assert ledger["format"] == "jiliang-ledger-proof/1" and ledger["checkpoint_number"] == 1  # signed on export
    assert json.loads(ledger["leaf"])["id"] == issued
    result = CliRunner().invoke(
        app, ["cert", "verify", str(out), "--keys", str(keys)], env={"JILIANG_DATA_DIR": "/nonexistent"}
    )
    assert result.exit_code == 0, result.output
    assert f"leaf {ledger['index']} in checkpoint 1" in result.output


def _grown(note: str) -> str:
    """The same checkpoint claiming one more leaf."""
    origin, size, rest = note.split("\n", 2)
    return f"{origin}\n{int(size) + 1}\n{rest}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["ledger"]["inclusion_proof"].__setitem__(0, base64.b64encode(b"\0" * 32).decode()),
            "inclusion proof",
        ),
        (
            lambda d: d["ledger"].__setitem__("leaf", d["ledger"]["leaf"].replace('"valid"', '"revoked"')),
            "inclusion proof",
        ),
        (lambda d: d["ledger"].__setitem__("checkpoint", _grown(d["ledger"]["checkpoint"])), "not signed"),
        (lambda d: d["ledger"].__setitem__("index", d["ledger"]["index"] - 1), "inclusion proof"),
        (lambda d: d.pop("ledger"), "no ledger proof"),
    ],
)
def test_a_tampered_proof_fails_offline(exported, change, message) -> None:
    out, keys = exported
    doc = json.loads(out.read_text(encoding="utf-8"))
    change(doc)
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["cert", "verify", str(out), "--keys", str(keys)], env={"JILIANG_DATA_DIR": "/nonexistent"}
    )
    assert result.exit_code == 1
    assert message in result.output


def test_audit_command_exits_1_and_names_the_finding(cli, platform, issued) -> None:
    issue_checkpoint(platform)
    clean = cli("audit")
    assert clean.exit_code == 0 and "no findings" in clean.output
    tamper.sql(platform, update(certificates).where(certificates.c.number == issued).values(status="revoked"))
    result = cli("audit")
    assert result.exit_code == 1
    assert "changed" in result.output and "certificates" in result.output and issued in result.output


def test_prove_and_consistency_commands_give_proofs_that_verify(cli, platform, issued) -> None:
    issue_checkpoint(platform)
    world.make_owner(platform, "310105")
    issue_checkpoint(platform)
    bundle = json.loads(cli("ledger", "prove", "--certificate", issued).output)
    cp, _ = parse_note(bundle["checkpoint"])
    proof = [base64.b64decode(p) for p in bundle["inclusion_proof"]]
    assert merkle.verify_inclusion(
        merkle.leaf_hash(bundle["leaf"].encode()), bundle["index"], cp.size, proof, cp.root_hash
    )
    c = json.loads(cli("ledger", "consistency", "1", "2").output)
    first, _ = parse_note(cli("ledger", "show", "1").output)
    assert merkle.verify_consistency(
        c["first_size"], c["second_size"], [base64.b64decode(p) for p in c["proof"]], first.root_hash, cp.root_hash
    )


def test_public_proof_endpoints(client, platform, issued) -> None:
    with platform.engine.connect() as c:
        token = c.execute(select(certificates.c.public_token).where(certificates.c.number == issued)).scalar_one()
    pending = client.get(f"/public/certificates/{issued}/proof", params={"token": token}).json()
    assert "pending" in pending["ledger"] and "inclusion_proof" not in pending["ledger"]
    assert client.get("/public/ledger/checkpoints/latest").status_code == 404
    issue_checkpoint(platform)
    world.make_owner(platform, "310105")
    issue_checkpoint(platform)
    note = client.get("/public/ledger/checkpoints/latest")
    assert note.headers["content-type"].startswith("text/plain")
    second, _ = parse_note(note.text)
    first, _ = parse_note(client.get("/public/ledger/checkpoints/1").text)
    proof = client.get(f"/public/certificates/{issued}/proof", params={"token": token}).json()
    assert proof["payload"].startswith("{") and proof["ledger"]["checkpoint_number"] == 2
    index = proof["ledger"]["index"]
    inc = client.get("/public/ledger/proofs/inclusion", params={"index": index, "checkpoint": 1}).json()
    leaf = merkle.leaf_hash(proof["ledger"]["leaf"].encode())
    assert merkle.verify_inclusion(
        leaf, index, first.size, [base64.b64decode(p) for p in inc["proof"]], first.root_hash
    )
    cons = client.get("/public/ledger/proofs/consistency", params={"first": 1, "second": 2}).json()
    assert merkle.verify_consistency(
        first.size, second.size, [base64.b64decode(p) for p in cons["proof"]], first.root_hash, second.root_hash
    )
    listed = client.get("/public/ledger/checkpoints").json()
    assert [c["number"] for c in listed] == [1, 2]
    assert (
        client.get("/public/ledger/proofs/inclusion", params={"index": second.size, "checkpoint": 1}).status_code == 422
    )
    assert client.get(f"/public/certificates/{issued}/proof", params={"token": "wrong"}).status_code == 404
    with platform.engine.connect() as c:
        points = c.execute(select(measurement_points.c.id)).all()
    assert points  # the proofs carry hashes only: no record data leaks without the certificate's token
    assert "indication" not in json.dumps(cons) + json.dumps(inc)


def test_checkpoints_on_demand_need_an_admin(client, platform, issued) -> None:
    from tests.conftest import ADMIN_PASSWORD, login

    assert client.post("/api/ledger/checkpoints").status_code == 401
    r = client.post("/api/ledger/checkpoints", headers=login(client, "admin", ADMIN_PASSWORD))
    assert r.status_code == 201 and r.json()["number"] == 1
