"""What the `jiliang` command groups share: how a command fails, and the platform with the
administrator that commands on the server act as."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console

__all__ = ["fail", "platform_and_admin"]

_err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    _err.print(f"[red]错误 / error:[/red] {message}")
    raise typer.Exit(code)


def platform_and_admin() -> tuple[Any, Any]:
    """The platform of this server's settings, and its administrator (the CLI has the database's rights)."""
    from .cli import _platform, _system_actor

    platform = _platform()
    with platform.engine.connect() as conn:
        return platform, _system_actor(conn)
