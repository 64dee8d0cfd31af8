"""Setting up from the command line, as an operator whose output goes to a log: `jiliang init` on an SQLite
file outside the data dir keeps the new admin's password out of the output, in a file only the server's
user may read; every later command opens that same file (they looked for $JILIANG_DATA_DIR/jiliang.db and
refused), and one naming a file that is not there says which."""

from __future__ import annotations

import stat

from typer.testing import CliRunner

from jiliang.auth import authenticate
from jiliang.cli import ADMIN_PASSWORD_FILE, app
from jiliang.platform import Platform
from jiliang.settings import Settings


def test_init_elsewhere_keeps_the_admin_password_out_of_the_log_and_later_commands_find_the_file(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    data_dir, database = tmp_path / "data", tmp_path / "databases" / "platform.sqlite"
    database.parent.mkdir()
    monkeypatch.setenv("JILIANG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("JILIANG_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("JILIANG_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("JILIANG_PROCEDURES_DIR", raising=False)
    runner = CliRunner()

    init = runner.invoke(app, ["init"])
    assert init.exit_code == 0, init.output
    kept = data_dir / ADMIN_PASSWORD_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    password = kept.read_text(encoding="utf-8").strip()
    assert len(password) >= 12 and password not in init.output  # the output is not a terminal: a log
    assert str(kept) in init.output  # it says where the password is, on one line
    assert database.exists() and not (data_dir / "jiliang.db").exists()
    platform = Platform(Settings.from_env())
    try:
        _, admin = authenticate(platform, "admin", password, 5)  # the kept password is the admin's
        assert admin.has("admin")
    finally:
        platform.engine.dispose()

    for command in (["audit"], ["cert", "list", "--json"]):  # they open the platform on that file
        r = runner.invoke(app, command)
        assert r.exit_code == 0 and "jiliang init" not in r.output, (command, r.output)
    assert runner.invoke(app, ["init"]).exit_code == 0 and kept.read_text(encoding="utf-8").strip() == password

    missing = tmp_path / "databases" / "typo.sqlite"
    monkeypatch.setenv("JILIANG_DATABASE_URL", f"sqlite:///{missing}")
    r = runner.invoke(app, ["audit"])
    assert r.exit_code == 2 and str(missing) in "".join(r.stderr.split()) and "jiliang init" in r.stderr
    assert not missing.exists()  # refused before anything made an empty database there
