"""`jiliang demo-data` loads the demo through the CLI, prints the summary and the demo logins."""

from __future__ import annotations

from typer.testing import CliRunner

from jiliang.cli import app
from jiliang.demo import LOGINS


def test_demo_data_command_prints_summary_and_logins(settings, monkeypatch):
    monkeypatch.setenv("JILIANG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(app, ["demo-data", "--instruments", "30", "--seed", "3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # Rich wraps lines at the terminal width
    assert "demo data (seed 3)" in text and "30 器具 instruments" in text
    for username in ("demo-owner", "demo-verifier", "demo-checker", "demo-approver", "demo-regulator-city"):
        assert username in result.output
    lines = result.output.splitlines()  # not a terminal (a log, a pipe): each login whole on its own line
    for login in LOGINS:
        row = "\t".join(
            (login.username, login.password, login.role, f"{login.description_zh} / {login.description_en}")
        )
        assert row in lines, row
    again = CliRunner().invoke(app, ["demo-data", "--instruments", "30"])
    assert again.exit_code != 0  # a second load is refused, not duplicated
