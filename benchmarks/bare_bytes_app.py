"""A bare endpoint answering fixed bytes (the file named by JILIANG_BARE_BYTES) as JSON: the yardstick
an API list is compared against, so that both send exactly the same body."""

import os
from pathlib import Path

from fastapi import FastAPI, Response

app = FastAPI()
BODY = Path(os.environ["JILIANG_BARE_BYTES"]).read_bytes()


@app.get("/bare")
def bare() -> Response:
    return Response(BODY, media_type="application/json")
