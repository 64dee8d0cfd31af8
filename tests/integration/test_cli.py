"""The `jiliang` command line on the test database: listing, showing, exporting and checking certificates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiliang.certificates.document import sign_payload
from jiliang.certificates.signing import generate_key, load_signer
from jiliang.cli import app
from jiliang.verification import service as workflow
from tests.support import world


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("JILIANG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("JILIANG_PROCEDURES_DIR", raising=False)
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def issued(platform) -> str:
    owner = world.make_owner(platform, "310104")
    lab = world.make_lab(platform, "D310104", ["nawi"])
    [task] = workflow.apply(platform.uow(), owner, [world.scale(platform, owner)])
    return world.verify(platform, lab, task)


@pytest.fixture
def exported(cli, issued, tmp_path) -> Path:
    out = tmp_path / "cert.json"
    r = cli("cert", "export", issued, "--format", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    return out


def _said(result) -> str:  # type: ignore[no-untyped-def]
    """stderr with Rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _altered(doc: dict) -> dict:
    """The same document with one character of the first reading changed."""
    changed = json.loads(json.dumps(doc))
    point = changed["payload"]["points"][0]
    point["indication"] = point["indication"][:-1] + ("1" if point["indication"][-1] != "1" else "2")
    return changed


def test_cert_list_json_lists_the_issued_certificate(cli, issued):
    r = cli("cert", "list", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["number"] for row in rows] == [issued]
    assert rows[0]["kind"] == "verification" and rows[0]["current_status"] == "valid"


def test_cert_list_filters_by_institution(cli, issued):
    assert [x["number"] for x in json.loads(cli("cert", "list", "--json", "--institution", "D310104").stdout)] == [
        issued
    ]
    assert json.loads(cli("cert", "list", "--json", "--institution", "D310101").stdout) == []


def test_cert_show_json_gives_the_payload_and_a_valid_signature(cli, issued):
    r = cli("cert", "show", issued, "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["number"] == issued and shown["signature_valid"] is True
    assert shown["payload"]["number"] == issued
    assert shown["payload"]["issuer"]["code"] == "D310104"


def test_exported_certificate_verifies_against_the_local_platform_keys(cli, exported, issued):
    doc = json.loads(exported.read_text(encoding="utf-8"))
    assert doc["format"] == "jiliang-certificate/1" and doc["payload"]["number"] == issued
    r = cli("cert", "verify", str(exported))
    assert r.exit_code == 0, r.output
    assert issued in r.stdout and "D310104" in r.stdout


def test_exported_certificate_verifies_against_an_exported_key_file(cli, exported, tmp_path):
    keys = tmp_path / "keys.json"
    r = cli("keys", "-o", str(keys))
    assert r.exit_code == 0, r.output
    assert {k["owner"] for k in json.loads(keys.read_text())["keys"]} >= {"D310104", "SIMT"}
    r = cli("cert", "verify", str(exported), "--keys", str(keys))
    assert r.exit_code == 0, r.output


def test_changing_one_character_of_a_reading_makes_the_file_invalid(cli, exported, tmp_path):
    doc = json.loads(exported.read_text(encoding="utf-8"))
    r = cli("cert", "verify", str(_write(tmp_path / "altered.json", _altered(doc))))
    assert r.exit_code == 1
    assert "INVALID" in _said(r) and "altered" in _said(r)


def test_changing_one_character_of_the_conclusion_makes_the_file_invalid(cli, exported, tmp_path):
    doc = json.loads(exported.read_text(encoding="utf-8"))
    doc["payload"]["conclusion"] = doc["payload"]["conclusion"].replace("合格", "含格", 1)
    r = cli("cert", "verify", str(_write(tmp_path / "altered.json", doc)))
    assert r.exit_code == 1 and "altered" in _said(r)


@pytest.mark.parametrize(("where", "field"), [((), "conclusion"), ((), "status"), (("signature",), "note")])
def test_an_unsigned_field_beside_the_signed_certificate_makes_the_file_invalid(cli, exported, tmp_path, where, field):
    doc = json.loads(exported.read_text(encoding="utf-8"))
    target = doc
    for key in where:
        target = target[key]
    target[field] = "不合格 / does not conform"  # contradicts the signed conclusion, signs nothing
    r = cli("cert", "verify", str(_write(tmp_path / "extra.json", doc)))
    assert r.exit_code == 1
    assert "INVALID" in _said(r) and field in _said(r)


def test_altered_file_re_signed_with_an_attackers_key_is_invalid(cli, exported, tmp_path):
    doc = _altered(json.loads(exported.read_text(encoding="utf-8")))
    attacker_dir = tmp_path / "attacker"
    info = generate_key(attacker_dir, "D310104", "Ed25519")  # claims to be the institution
    forged = sign_payload(doc["payload"], load_signer(attacker_dir, info.kid))
    r = cli("cert", "verify", str(_write(tmp_path / "forged.json", forged)))
    assert r.exit_code == 1
    assert "not in the published key set" in _said(r)


def test_attackers_signature_under_the_real_kid_is_invalid(cli, exported, tmp_path):
    real = json.loads(exported.read_text(encoding="utf-8"))
    doc = _altered(real)
    attacker_dir = tmp_path / "attacker"
    info = generate_key(attacker_dir, "D310104", "Ed25519")
    forged = sign_payload(doc["payload"], load_signer(attacker_dir, info.kid))
    forged["signature"]["kid"] = real["signature"]["kid"]
    r = cli("cert", "verify", str(_write(tmp_path / "forged.json", forged)))
    assert r.exit_code == 1 and "altered" in _said(r)
    # even over the untouched content, a signature the institution did not make does not count
    honest = sign_payload(real["payload"], load_signer(attacker_dir, info.kid))
    honest["signature"]["kid"] = real["signature"]["kid"]
    assert cli("cert", "verify", str(_write(tmp_path / "forged2.json", honest))).exit_code == 1


def test_a_keys_file_that_is_not_json_exits_2(cli, exported, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text("this is not a key set", encoding="utf-8")
    r = cli("cert", "verify", str(exported), "--keys", str(keys))
    assert r.exit_code == 2
    assert "key set" in _said(r)


def test_a_keys_file_without_the_signing_key_makes_the_certificate_invalid(cli, exported, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": []}), encoding="utf-8")
    assert cli("cert", "verify", str(exported), "--keys", str(keys)).exit_code == 1


def test_a_certificate_file_that_is_not_json_exits_2(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    r = cli("cert", "verify", str(bad))
    assert r.exit_code == 2 and "line 1" in _said(r)


def test_export_of_an_unknown_number_exits_2_and_writes_nothing(cli, issued, tmp_path):
    out = tmp_path / "none.json"
    r = cli("cert", "export", "D310104-1999-999999", "--format", "json", "-o", str(out))
    assert r.exit_code == 2
    assert "D310104-1999-999999" in _said(r)
    assert not out.exists()
    assert cli("cert", "show", "D310104-1999-999999").exit_code == 2


def test_export_in_an_unsupported_format_exits_2(cli, issued, tmp_path):
    r = cli("cert", "export", issued, "--format", "docx", "-o", str(tmp_path / "x.docx"))
    assert r.exit_code == 2 and "docx" in _said(r) and not (tmp_path / "x.docx").exists()
