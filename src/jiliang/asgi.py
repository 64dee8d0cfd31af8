"""ASGI entry point for process managers: `uvicorn jiliang.asgi:app` (settings from JILIANG_* variables)."""

import gc

from .api import create_app
from .ledger.schedule import with_checkpoint_schedule
from .platform import Platform
from .settings import Settings

_platform = Platform(Settings.from_env())
app = with_checkpoint_schedule(create_app(_platform), _platform)
_ = app.state.platform.procedures  # load the procedure files now, not on the first request
# The objects made at start-up live for the whole process: keep them out of the garbage collector's
# scans, so its pauses stay short under load (they set the tail latency of the public QR checks).
gc.freeze()
