"""ASGI entry point for process managers: `uvicorn jiliang.asgi:app` (settings from JILIANG_* variables)."""

from .api import create_app
from .platform import Platform
from .settings import Settings

app = create_app(Platform(Settings.from_env()))
