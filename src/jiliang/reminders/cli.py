"""`jiliang jobs run [--once] [--interval S]`: the scheduler (jobs.py)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

from .delivery import Policy
from .jobs import Jobs
from .senders import Senders

__all__ = ["jobs_app"]

jobs_app = typer.Typer(
    help="定时任务：到期提醒、每日统计 / scheduled jobs: reminders, daily counts", no_args_is_help=True
)
console = Console()


@jobs_app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="只运行一轮 / one round, then exit")] = False,
    interval: Annotated[float, typer.Option("--interval", min=1, help="每轮间隔秒数 / seconds between rounds")] = 60.0,
) -> None:
    """发送到期提醒并推进每日统计 / deliver due reminders and move the daily counts on."""
    from ..cli_support import platform_and_admin

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    platform, _ = platform_and_admin()
    jobs = Jobs(platform, Senders.from_env(), Policy.from_env())
    if once:
        t = jobs.round()
        console.print(
            f"已发送 sent {t.sent} · 待重试 retrying {t.retried} · "
            f"失败 failed {t.failed} · 取消 cancelled {t.cancelled}"
        )
        return
    try:
        jobs.run(once=False, interval=interval)
    except KeyboardInterrupt:
        console.print("已停止 / stopped")
