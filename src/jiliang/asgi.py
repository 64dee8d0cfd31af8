"""ASGI entry point for process managers: `uvicorn jiliang.asgi:app` (settings from JILIANG_* variables)."""

import gc

from .api import create_app
from .platform import Platform
from .settings import Settings

app = create_app(Platform(Settings.from_env()))
_ = app.state.platform.procedures  # load the procedure files now, not on the first request
# The objects made at start-up live for the whole process: keep them out of the garbage collector's
# scans, so its pauses stay short under load (they set the tail latency of the public QR checks).
gc.freeze()
