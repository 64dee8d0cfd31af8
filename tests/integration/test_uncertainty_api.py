"""The uncertainty engine from the outside: POST /api/uncertainty/evaluate and the published budget
schema over the real HTTP app, `jiliang uncertainty evaluate` through the real command line, and a
standard's calibration certificate U recorded over HTTP.

Expected numbers come from /work/shared/reference/validation-cases-public.md (cases PUB-GUM-H1 and
PUB-GUM-WS), never from the code under test."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from typer.testing import CliRunner

from jiliang.cli import app
from jiliang.ledger.tables import ledger_leaves
from jiliang.measurement.routes import API_MAX_TRIALS
from jiliang.platform import shanghai_today
from jiliang.registry.tables import standard_calibrations, standards
from tests.conftest import ADMIN_PASSWORD, login
from tests.support import world

BUDGETS = Path(__file__).resolve().parents[2] / "docs" / "budgets"
EVALUATE = "/api/uncertainty/evaluate"
SCHEMA = "/public/schemas/uncertainty-budget-2.json"
SCHEMA_1 = "/public/schemas/uncertainty-budget-1.json"
FORMAT = "jiliang.uncertainty-budget/1"
FORMAT_2 = "jiliang.uncertainty-budget/2"


def _budget(name: str) -> dict:
    return json.loads((BUDGETS / name).read_text(encoding="utf-8"))


def _measurand(report: dict, symbol: str, method: str = "gum") -> dict:
    [m] = [m for m in report[method]["measurands"] if m["symbol"] == symbol]
    return m


@pytest.fixture
def admin(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return login(client, "admin", ADMIN_PASSWORD)


# --- POST /api/uncertainty/evaluate and the public schema -------------------------------------------


def test_evaluate_needs_a_login(client) -> None:
    body = {"budget": _budget("ws-two-term.json")}
    assert client.post(EVALUATE, json=body).status_code == 401
    assert client.post(EVALUATE, json=body, headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_budget_schema_is_public_and_is_the_json_schema_of_the_format(client) -> None:
    r = client.get(SCHEMA)  # no login
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    schema = r.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["format"]["const"] == FORMAT_2
    Draft202012Validator.check_schema(schema)  # a well-formed JSON Schema …
    validator = Draft202012Validator(schema)
    for path in sorted(BUDGETS.glob("*.json")):  # … that every published example budget satisfies
        assert list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8")))) == [], path.name
    assert list(validator.iter_errors({**_budget("ws-two-term.json"), "format": "other/1"}))


def test_format_1_schema_is_still_published_and_format_1_budgets_are_still_read(client) -> None:
    schema = client.get(SCHEMA_1).json()
    assert schema["properties"]["format"]["const"] == FORMAT
    assert "student_t" not in schema["$defs"]["input"]["properties"]["distribution"]["enum"]
    budget = {
        "format": FORMAT,
        "title": "format 1",
        "inputs": [{"symbol": "a", "estimate": 0, "standard_uncertainty": 1, "dof": 3}],
        "measurands": [{"symbol": "y", "expression": "a"}],
    }
    Draft202012Validator(schema).validate(budget)


def test_gum_h1_end_gauge_matches_the_published_result(client, admin) -> None:
    """PUB-GUM-H1 (validation-cases-public.md; JCGM 100:2008 Annex H.1): u_c(l) = 32 nm and
    ν_eff(l) = 16 (published, to 1 nm and to the integer); the GTC cross-check there gives
    l = 50 000 838 nm, k = t₀.₉₉(16) = 2.9208, U₉₉ = 92.5 nm, u(d) = 9.68 nm and the contributions
    l_s 25, δθ 16.599, d₂ 6.7, d̄ 5.8, d₁ 3.9, δα 2.887 nm."""
    r = client.post(EVALUATE, headers=admin, json={"budget": _budget("gum-h1-end-gauge.json")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert "mcm" not in report and "validation" not in report  # method defaults to gum
    gauge = _measurand(report, "l")
    assert round(gauge["standard_uncertainty"]) == 32
    assert math.floor(gauge["dof"]) == 16
    # l = l_s + d̄ − l_s(δα·θ̄ + α_s·δθ) at the estimates = 50 000 623.6 + 215 − 0 nm, printed as 50.000 838 mm
    assert gauge["value"] == pytest.approx(50_000_838.6, abs=1e-6)
    assert gauge["probability"] == 0.99
    assert gauge["coverage_factor"] == pytest.approx(2.9208, abs=1e-4)
    assert gauge["expanded"] == pytest.approx(92.5, abs=0.05)
    contributions = {c["symbol"]: abs(c["contribution"]) for c in gauge["contributions"]}
    expected = {"l_s": 25, "d_theta": 16.599, "d_2": 6.7, "d_bar": 5.8, "d_1": 3.9, "d_alpha": 2.887}
    for symbol, value in expected.items():
        assert contributions[symbol] == pytest.approx(value, abs=0.001), symbol
    assert contributions["alpha_s"] == pytest.approx(0, abs=1e-9)  # estimate of δθ is 0
    [d] = [m for m in report["gum"]["intermediates"] if m["symbol"] == "d"]
    assert d["standard_uncertainty"] == pytest.approx(9.68, abs=0.005)


def test_evaluate_with_both_methods_reports_the_jcgm101_validation(client, admin) -> None:
    body = {"budget": _budget("gum-h1-end-gauge.json"), "method": "both", "trials": 200_000, "seed": 1}
    r = client.post(EVALUATE, headers=admin, json=body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["mcm"]["trials"] == 200_000 and report["mcm"]["seed"] == 1 and not report["mcm"]["adaptive"]
    [v] = report["validation"]
    assert v["symbol"] == "l"
    # JCGM 101 §7.9.2: δ = ½·10^l with u(y) ≈ 35 nm written to the budget's 2 significant digits → 0.5 nm
    assert v["tolerance"] == 0.5
    assert v["d_low"] >= 0 and v["d_high"] >= 0
    assert v["passed"] is (max(v["d_low"], v["d_high"]) <= v["tolerance"])
    mcm = _measurand(report, "l", "mcm")
    low, high = mcm["symmetric_interval"]
    assert low < mcm["value"] < high
    # the GUM interval is l ± U₉₉ (92.5 nm, PUB-GUM-H1); d_low, d_high are its distances to the MCM ends
    gum = _measurand(report, "l")
    assert v["d_low"] == pytest.approx(abs(gum["value"] - gum["expanded"] - low), abs=1e-6)
    assert v["d_high"] == pytest.approx(abs(gum["value"] + gum["expanded"] - high), abs=1e-6)
    again = client.post(EVALUATE, headers=admin, json=body).json()
    assert again["validation"] == report["validation"]  # a seed makes the run reproducible


@pytest.mark.parametrize(
    ("change", "field", "symbol"),
    [
        ({"measurands": [{"symbol": "y", "expression": "a + zz"}]}, "measurands[0].expression", "zz"),
        (
            {
                "intermediates": [{"symbol": "s", "expression": "a * q"}],
                "measurands": [{"symbol": "y", "expression": "s"}],
            },
            "intermediates[0].expression",
            "q",
        ),
    ],
)
def test_a_budget_naming_an_unknown_symbol_is_refused_naming_the_field(client, admin, change, field, symbol) -> None:
    budget = {
        "format": FORMAT,
        "title": "unknown symbol",
        "inputs": [{"symbol": "a", "estimate": 1, "standard_uncertainty": 0.1}],
        **change,
    }
    r = client.post(EVALUATE, headers=admin, json={"budget": budget})
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "budget"
    assert field in r.json()["detail"] and f"unknown symbol(s) {symbol}" in r.json()["detail"]


@pytest.mark.parametrize("trials", [API_MAX_TRIALS + 1, 50_000_000])
def test_trials_beyond_the_api_cap_are_refused(client, admin, trials) -> None:
    body = {"budget": _budget("ws-two-term.json"), "method": "mcm", "trials": trials}
    r = client.post(EVALUATE, headers=admin, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "invalid_input"
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "trials"]]


def test_trials_at_the_api_cap_are_run(client, admin) -> None:
    body = {"budget": _budget("ws-two-term.json"), "method": "mcm", "trials": API_MAX_TRIALS, "seed": 3}
    r = client.post(EVALUATE, headers=admin, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["mcm"]["trials"] == API_MAX_TRIALS
    # JCGM 101 §6.4.9: a (u = 0.57, ν = 9) is drawn from a scaled t₉, whose standard deviation is
    # 0.57·√(9/7); with b (0.25, normal) the Monte Carlo u(y) is √(0.57²·9/7 + 0.25²) = 0.6930
    expected = math.sqrt(0.57**2 * 9 / 7 + 0.25**2)
    assert _measurand(r.json(), "y", "mcm")["standard_uncertainty"] == pytest.approx(expected, abs=0.002)


# --- jiliang uncertainty evaluate ---------------------------------------------------------------------


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["uncertainty", "evaluate", *args], catch_exceptions=False)

    return run


def _said(result) -> str:  # type: ignore[no-untyped-def]
    """Output with Rich's line wrapping and column padding undone."""
    return " ".join(result.output.split())


def _compact(text: str) -> str:
    """Text without any white space: Rich wraps a long message (a temporary path) even inside a word."""
    return "".join(text.split())


def _error_says(result, *parts: str) -> bool:  # type: ignore[no-untyped-def]
    return all(_compact(part) in _compact(result.stderr) for part in parts)


def test_cli_json_gives_the_welch_satterthwaite_dof(cli) -> None:
    """PUB-GUM-WS (validation-cases-public.md): y = a + b, u(a) = 0.57 (ν = 9), u(b) = 0.25 (ν = ∞):
    ν_eff = 12.8 ± 0.1, u_c = 0.622 (published; GTC 0.6224)."""
    r = cli(str(BUDGETS / "ws-two-term.json"), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    y = _measurand(report, "y")
    assert y["dof"] == pytest.approx(12.8, abs=0.1)
    assert y["standard_uncertainty"] == pytest.approx(0.622, abs=0.0005)
    assert report["probability"] == 0.95


def test_cli_table_prints_the_measurand_line(cli) -> None:
    r = cli(str(BUDGETS / "ws-two-term.json"))
    assert r.exit_code == 0, r.output
    said = _said(r)
    assert "Two-term Welch–Satterthwaite check" in said
    # u_c = 0.6224 and ν_eff = 12.8 (PUB-GUM-WS); k = t₀.₉₅(12) = 2.179 from Student's t with ν_eff
    # truncated to 12; U = 2.179 × 0.6224 = 1.356
    assert "GUM y = 0 u_c = 0.6224 ν_eff = 12.8 k = 2.179 U(95 %) = 1.356" in said


def test_cli_missing_budget_file_exits_2_with_a_message(cli, tmp_path) -> None:
    missing = tmp_path / "no-such-budget.json"
    r = cli(str(missing))
    assert r.exit_code == 2
    assert _error_says(r, "错误 / error:", f"{missing}: cannot be read"), r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "jiliang.uncertainty-budget/1", "title": ', "not valid JSON (line 1"),
        (
            json.dumps({"format": FORMAT, "title": "no measurands", "inputs": []}),
            "(top level): 'measurands' is a required property",
        ),
        (
            json.dumps(
                {
                    "format": FORMAT,
                    "title": "unknown symbol",
                    "inputs": [{"symbol": "a", "estimate": 1, "standard_uncertainty": 0.1}],
                    "measurands": [{"symbol": "y", "expression": "a + zz"}],
                }
            ),
            "measurands[0].expression: unknown symbol(s) zz",
        ),
    ],
    ids=["not-json", "schema", "unknown-symbol"],
)
def test_cli_malformed_budget_exits_2_with_a_message(cli, tmp_path, text, message) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    r = cli(str(path))
    assert r.exit_code == 2
    assert _error_says(r, "错误 / error:", f"{path}: {message}"), r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--method", "bayes"), "--method must be one of gum, mcm, both"),
        (("--method", "mcm", "--trials", "100"), "--trials must be at least 10000"),
        (("--param", "novalue"), "write name=value"),
    ],
    ids=["method", "trials", "param"],
)
def test_cli_bad_options_exit_2_with_a_message(cli, args, message) -> None:
    r = cli(str(BUDGETS / "ws-two-term.json"), *args)
    assert r.exit_code == 2
    assert _error_says(r, "错误 / error:", message), r.stderr


# --- a standard's calibration certificate U over HTTP -----------------------------------------------


def _calibration_body(**uncertainty: str) -> dict:
    today = shanghai_today()
    return {
        "calibrated_by": "上海市计量测试技术研究院",
        "certificate_no": "CAL-U-1",
        "calibrated_on": str(today - timedelta(days=2)),
        "due": str(today + timedelta(days=363)),
        "in_tolerance": True,
        **uncertainty,
    }


def _counts(platform) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with platform.engine.connect() as c:
        return (
            c.execute(select(func.count()).select_from(standard_calibrations)).scalar_one(),
            c.execute(select(func.count()).select_from(ledger_leaves)).scalar_one(),
        )


def test_standard_calibration_records_u_k_and_unit_over_http(platform, client) -> None:
    lab = world.make_lab(platform, "SIMT", ["ev_charger"])
    manager = login(client, lab.manager.username, world.PASSWORD)
    body = _calibration_body(expanded_uncertainty="0.05", coverage_factor="2", uncertainty_unit="%")
    r = client.post(f"/api/standards/{lab.standard_id}/calibrations", headers=manager, json=body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    with platform.engine.connect() as c:
        row = c.execute(select(standard_calibrations).where(standard_calibrations.c.id == cid)).one()
    assert (row.expanded_uncertainty, row.coverage_factor, row.uncertainty_unit) == ("0.05", "2", "%")
    assert row.standard_id == lab.standard_id and row.certificate_no == "CAL-U-1"
    # the standard's data: its calibration in force is the new certificate …
    [std] = [s for s in client.get("/api/standards", headers=manager).json() if s["id"] == lab.standard_id]
    assert std["calibration_certificate_no"] == "CAL-U-1" and std["calibration_due"] == body["due"]
    # … and its audit trail records the certificate's U, k and unit
    trail = client.get(f"/api/audit/standard/{lab.standard_id}", headers=manager).json()
    [event] = [
        e
        for e in trail
        if e["action"] == "standard.calibrated" and e["after"]["calibration_certificate_no"] == "CAL-U-1"
    ]
    assert {k: event["after"][k] for k in ("expanded_uncertainty", "coverage_factor", "uncertainty_unit")} == {
        "expanded_uncertainty": "0.05",
        "coverage_factor": "2",
        "uncertainty_unit": "%",
    }


def test_standard_calibration_without_uncertainty_stays_allowed(platform, client) -> None:
    lab = world.make_lab(platform, "SIMT", ["ev_charger"])
    manager = login(client, lab.manager.username, world.PASSWORD)
    r = client.post(f"/api/standards/{lab.standard_id}/calibrations", headers=manager, json=_calibration_body())
    assert r.status_code == 201, r.text
    with platform.engine.connect() as c:
        row = c.execute(select(standard_calibrations).where(standard_calibrations.c.id == r.json()["id"])).one()
    assert (row.expanded_uncertainty, row.coverage_factor, row.uncertainty_unit) == (None, None, None)


@pytest.mark.parametrize(
    "uncertainty",
    [
        {"expanded_uncertainty": "0.05"},
        {"expanded_uncertainty": "0.05", "uncertainty_unit": "%"},
        {"coverage_factor": "2", "uncertainty_unit": "%"},
        {"expanded_uncertainty": "0.05", "coverage_factor": "2"},
        {"expanded_uncertainty": "0", "coverage_factor": "2", "uncertainty_unit": "%"},
        {"expanded_uncertainty": "-0.05", "coverage_factor": "2", "uncertainty_unit": "%"},
        {"expanded_uncertainty": "0.05", "coverage_factor": "-2", "uncertainty_unit": "%"},
        {"expanded_uncertainty": "abc", "coverage_factor": "2", "uncertainty_unit": "%"},
        {"expanded_uncertainty": "NaN", "coverage_factor": "2", "uncertainty_unit": "%"},
        {"expanded_uncertainty": "0.05", "coverage_factor": "Infinity", "uncertainty_unit": "%"},
    ],
    ids=[
        "U-without-k",
        "U-and-unit-without-k",
        "k-without-U",
        "no-unit",
        "U-zero",
        "U-negative",
        "k-negative",
        "U-not-a-number",
        "U-NaN",
        "k-infinite",
    ],
)
def test_standard_calibration_u_k_and_unit_go_together_as_positive_numbers(platform, client, uncertainty) -> None:
    lab = world.make_lab(platform, "SIMT", ["ev_charger"])
    manager = login(client, lab.manager.username, world.PASSWORD)
    with platform.engine.connect() as c:
        before_std = c.execute(select(standards).where(standards.c.id == lab.standard_id)).one()
    before = _counts(platform)
    r = client.post(
        f"/api/standards/{lab.standard_id}/calibrations", headers=manager, json=_calibration_body(**uncertainty)
    )
    assert r.status_code == 422, r.text
    assert r.json()["rule"] == "uncertainty"
    assert _counts(platform) == before  # no calibration row, no ledger leaf
    with platform.engine.connect() as c:
        assert c.execute(select(standards).where(standards.c.id == lab.standard_id)).one() == before_std


def test_monte_carlo_work_per_request_is_bounded_by_trials_times_quantities(client, admin) -> None:
    from jiliang.measurement.routes import API_MAX_VALUES

    n = 40  # 40 inputs + 1 measurand: at most API_MAX_VALUES // 41 trials
    budget = {
        "format": FORMAT,
        "title": "many inputs",
        "inputs": [{"symbol": f"x{i}", "estimate": 1, "standard_uncertainty": 0.1} for i in range(n)],
        "measurands": [{"symbol": "y", "expression": " + ".join(f"x{i}" for i in range(n))}],
    }
    r = client.post(EVALUATE, headers=admin, json={"budget": budget, "method": "mcm", "trials": API_MAX_TRIALS})
    assert r.status_code == 422, r.text
    assert f"{API_MAX_VALUES // (n + 1):,}" in r.json()["detail"]
    # the GUM method alone is not limited by it, and a schema limit refuses absurd sizes outright
    assert client.post(EVALUATE, headers=admin, json={"budget": budget, "method": "gum"}).status_code == 200
    huge = budget | {"inputs": [{"symbol": f"x{i}", "estimate": 1, "standard_uncertainty": 0.1} for i in range(201)]}
    assert client.post(EVALUATE, headers=admin, json={"budget": huge}).status_code == 422


# --- format 2 over HTTP and on the command line -------------------------------------------------------


def test_gum_h2_over_http_reports_input_and_output_correlations(client, admin) -> None:
    """GUM H.2 (JCGM 100:2008 Tables H.2 and H.4): r(V, I) = −0.36, r(V, φ) = 0.86, r(I, φ) = −0.65
    from the readings; r(R, X) = −0.588, r(R, Z) = −0.485, r(X, Z) = 0.993."""
    body = {"budget": _budget("gum-h2-impedance.json"), "method": "both", "trials": 100_000, "seed": 3}
    r = client.post(EVALUATE, headers=admin, json=body)
    assert r.status_code == 200, r.text
    report = r.json()
    given = {tuple(c["between"]): c for c in report["input_correlations"]}
    assert given[("V", "I")]["r"] == pytest.approx(-0.36, abs=0.005)
    assert given[("V", "phi")]["r"] == pytest.approx(0.86, abs=0.005)
    assert given[("I", "phi")]["from"] == "readings"
    matrix = report["gum"]["correlation"]
    assert matrix["symbols"] == ["R", "X", "Z"]
    assert matrix["matrix"][0][1] == pytest.approx(-0.588, abs=0.0005)
    assert matrix["matrix"][1][2] == pytest.approx(0.993, abs=0.0005)
    assert report["mcm"]["correlation"]["symbols"] == ["R", "X", "Z"]
    assert all(q["t_convention"] == "scale" for q in report["inputs"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"measurands": [{"symbol": "y", "expression": "z + a"}, {"symbol": "z", "expression": "y"}]},
            "measurands[0].expression",
        ),
        (
            {
                "inputs": [
                    {"symbol": "a", "estimate": 0, "distribution": "student_t", "standard_uncertainty": 1, "dof": 2}
                ]
            },
            "inputs[0].dof",
        ),
        ({"curves": [{"x": [1, 1, 1], "y": [1, 2, 3], "intercept": "k0", "slope": "k1"}]}, "curves[0].x"),
    ],
)
def test_format_2_mistakes_are_422_naming_the_field(client, admin, change, field) -> None:
    budget = {
        "format": FORMAT_2,
        "title": "mistake",
        "inputs": [{"symbol": "a", "estimate": 1, "standard_uncertainty": 0.1}],
        "measurands": [{"symbol": "y", "expression": "a"}],
        **change,
    }
    r = client.post(EVALUATE, headers=admin, json={"budget": budget, "method": "both", "trials": 10_000})
    assert r.status_code == 422, r.text
    assert field in r.text


def test_cli_prints_the_least_squares_line_and_the_correlation_matrix(cli) -> None:
    """GUM H.3 (JCGM 100:2008 H.3.3): y1 = −0.1712 °C, y2 = 0.00218, r = −0.930, ν = 9."""
    r = cli(str(BUDGETS / "gum-h3-thermometer.json"))
    assert r.exit_code == 0, r.output
    said = _said(r)
    assert "least-squares line y = y1 + y2·(x − 20), n = 11" in said
    assert "y1 = -0.1712" in said and "y2 = 0.00218" in said and "r = -0.9304" in said
    r = cli(str(BUDGETS / "gum-h2-impedance.json"))
    assert "GUM 相关系数 / correlation coefficients" in _said(r)
    assert "-0.5884" in _said(r)


def test_cli_refuses_a_t_input_whose_standard_deviation_does_not_exist(cli, tmp_path) -> None:
    path = tmp_path / "t2.json"
    budget = {
        "format": FORMAT_2,
        "title": "nu 2",
        "inputs": [{"symbol": "a", "estimate": 0, "distribution": "student_t", "standard_uncertainty": 1, "dof": 2}],
        "measurands": [{"symbol": "y", "expression": "a"}],
    }
    path.write_text(json.dumps(budget), encoding="utf-8")
    r = cli(str(path), "--method", "mcm")
    assert r.exit_code == 2
    assert _error_says(r, "inputs[0].dof", "no finite standard deviation"), r.stderr
