"""`jiliang serve --demo` signs checkpoints every few seconds unless the operator chose an interval."""

from __future__ import annotations

from pathlib import Path

from jiliang.cli import DEMO_CHECKPOINT_INTERVAL, demo_settings
from jiliang.settings import Settings


def test_demo_checkpoints_come_within_seconds_unless_an_interval_is_set() -> None:
    settings = Settings(Path("."), "sqlite://", None, 0, 60, checkpoint_interval=300)
    assert demo_settings(settings, {}).checkpoint_interval == DEMO_CHECKPOINT_INTERVAL == 10
    assert demo_settings(settings, {"JILIANG_CHECKPOINT_INTERVAL": "300"}).checkpoint_interval == 300
