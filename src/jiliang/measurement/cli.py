"""`jiliang uncertainty evaluate BUDGET.json`: the budget table and results printed with Rich, or the
report as JSON. Needs no database: a metrologist can check a budget file on its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["uncertainty_app"]

uncertainty_app = typer.Typer(help="测量不确定度评定 / measurement uncertainty", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _g(value: Any, digits: int = 4) -> str:
    return value if isinstance(value, str) else f"{value:.{digits}g}"


def _parameters(pairs: list[str]) -> dict[str, Any]:
    """name=value, or name=v1,v2,… for a list of repeated readings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {pair!r}: write name=value")
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise ValueError(f"--param {pair!r}: the value is not a number") from None
        out[name.strip()] = values if "," in text else values[0]
    return out


def _print_report(report: dict[str, Any]) -> None:
    console.print(f"[bold]{report['title']}[/bold] {report['title_zh']}")
    if report["source"]:
        console.print(f"来源 / source: {report['source']}")
    gum = report.get("gum")
    sensitivity = {}
    if gum:
        for m in gum["measurands"]:
            sensitivity[m["symbol"]] = {c["symbol"]: c for c in m["contributions"]}
    for m_symbol, contributions in sensitivity.items() or [(None, {})]:
        table = Table(title=f"不确定度分量 / budget{'' if m_symbol is None else f' of {m_symbol}'}")
        headers = ("x_i", "x̂_i", "u(x_i)", "ν_i", "评定 / how", "蒙特卡洛 / drawn as", "c_i", "c_i·u(x_i)", "%")
        for header in headers:
            table.add_column(header, justify="right" if header[0] in "ucν%x" and header != "x_i" else "left")
        for q in report["inputs"]:
            c = contributions.get(q["symbol"])
            table.add_row(
                f"{q['symbol']} {q['unit']}".strip(),
                _g(q["estimate"], 10),
                _g(q["standard_uncertainty"]),
                _g(q["dof"], 3),
                q["how"],
                q["monte_carlo_draw"],
                "" if c is None or c["sensitivity"] is None else _g(c["sensitivity"]),
                "" if c is None else _g(c["contribution"]),
                "" if c is None else f"{100 * c['share']:.1f}",
            )
        console.print(table)
    _print_input_correlations(report)
    if gum:
        for m in gum["intermediates"] + gum["measurands"]:
            console.print(
                f"GUM  {m['symbol']} = {_g(m['value'], 12)} {m['unit']}  u_c = {_g(m['standard_uncertainty'])}  "
                f"ν_eff = {_g(m['dof'], 4)}  k = {m['coverage_factor']:.3f}  "
                f"U({100 * m['probability']:g} %) = {_g(m['expanded'])}"
            )
        _print_matrix("GUM", gum["correlation"])
    mcm = report.get("mcm")
    if mcm:
        state = "" if mcm["converged"] else "  [red]未收敛 / not converged[/red]"
        adaptive = " (adaptive)" if mcm["adaptive"] else ""
        console.print(f"MCM  M = {mcm['trials']:,}{adaptive}, seed = {mcm['seed']}{state}")
        for m in mcm["measurands"]:
            lo, hi = m["symmetric_interval"]
            slo, shi = m["shortest_interval"]
            console.print(
                f"MCM  {m['symbol']} = {_g(m['value'], 12)} {m['unit']}  u = {_g(m['standard_uncertainty'])}  "
                f"{100 * m['probability']:g} % symmetric [{_g(lo, 10)}, {_g(hi, 10)}]  "
                f"shortest [{_g(slo, 10)}, {_g(shi, 10)}]"
            )
        _print_matrix("MCM", mcm["correlation"])
    for v in report.get("validation", []):
        verdict = "[green]通过 / validated[/green]" if v["passed"] else "[red]未通过 / not validated[/red]"
        console.print(
            f"JCGM 101 §8 {v['symbol']}: d_low = {_g(v['d_low'])}, d_high = {_g(v['d_high'])}, "
            f"δ = {_g(v['tolerance'])} → {verdict}"
        )


def _print_input_correlations(report: dict[str, Any]) -> None:
    origin = {"stated": "stated", "readings": "from simultaneous readings", "curve": "of a fitted line"}
    for c in report["input_correlations"]:
        a, b = c["between"]
        console.print(f"r({a}, {b}) = {c['r']:.4f}  ({origin[c['from']]})")
    for f in report["curves"]:
        a, b = (
            f"{c['symbol']} = {_g(c['value'], 6)} (u {_g(c['standard_uncertainty'])})"
            for c in (f["intercept"], f["slope"])
        )
        weighted = ", weighted" if f["weighted"] else ""
        console.print(
            f"最小二乘直线 / least-squares line {f['model']}, n = {f['points']}{weighted}: {a}, {b}, "
            f"r = {f['correlation']:.4f}, ν = {_g(f['dof'], 3)}"
        )


def _print_matrix(method: str, correlation: dict[str, Any] | None) -> None:
    """The correlation matrix of the intermediates and measurands."""
    if correlation is None:
        return
    table = Table(title=f"{method} 相关系数 / correlation coefficients")
    table.add_column("")
    for symbol in correlation["symbols"]:
        table.add_column(symbol, justify="right")
    for symbol, row in zip(correlation["symbols"], correlation["matrix"], strict=True):
        table.add_row(symbol, *("—" if r is None else f"{r:.4f}" for r in row))
    console.print(table)


@uncertainty_app.command("evaluate")
def evaluate(
    budget_file: Annotated[Path, typer.Argument(help="不确定度评定文件 / budget file (JSON)")],
    method: Annotated[str, typer.Option(help="gum | mcm | both")] = "gum",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print the report as JSON")] = False,
    trials: Annotated[int | None, typer.Option(help="蒙特卡洛次数 / Monte Carlo trials (default: adaptive)")] = None,
    seed: Annotated[int | None, typer.Option(help="随机种子 / random seed, for a reproducible run")] = None,
    param: Annotated[list[str], typer.Option("--param", help="参数 / budget parameter name=value")] = [],  # noqa: B006
) -> None:
    """评定不确定度 / evaluate an uncertainty budget by GUM, Monte Carlo or both."""
    from .uncertainty import METHODS, BudgetError, evaluate_report, load_budget

    if method not in METHODS:
        err.print(f"[red]错误 / error:[/red] --method must be one of {', '.join(METHODS)}")
        raise typer.Exit(2)
    if trials is not None and trials < 10_000:
        err.print("[red]错误 / error:[/red] --trials must be at least 10000")
        raise typer.Exit(2)
    try:
        report = evaluate_report(load_budget(budget_file, _parameters(param)), method, trials, seed)  # type: ignore[arg-type]
    except (BudgetError, ValueError) as exc:
        err.print(f"[red]错误 / error:[/red] {budget_file}: {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_report(report)
