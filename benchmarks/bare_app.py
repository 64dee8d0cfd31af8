"""A bare FastAPI endpoint: the yardstick the public verification endpoint is compared against."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    return {"number": "X", "status": "valid"}
