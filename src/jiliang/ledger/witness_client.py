"""Sending a new checkpoint to the configured witness and keeping its cosignature."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from ..platform import Platform
from .checkpoints import IssuedCheckpoint, add_cosignature
from .note import split_note
from .tables import checkpoints
from .tiles import TileReader
from .witness import witness_verifier

__all__ = ["submit_to_witness"]


def _post(url: str, body: str) -> tuple[int, str]:
    request = urllib.request.Request(url.rstrip("/") + "/add-checkpoint", data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - the administrator configures it
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def submit_to_witness(platform: Platform, issued: IssuedCheckpoint) -> IssuedCheckpoint:
    """Ask the witness to cosign `issued`, proving it consistent with the last tree the witness
    cosigned (the largest checkpoint carrying its cosignature). Raises RuntimeError if it refuses."""
    settings = platform.settings
    if settings.witness_key is None:
        raise RuntimeError("JILIANG_WITNESS_KEY (the witness's public key file) is not set")
    witness = witness_verifier(Path(settings.witness_key).read_text(encoding="utf-8"))
    with platform.engine.connect() as conn:
        old = 0
        for row in conn.execute(select(checkpoints.c.size, checkpoints.c.note).order_by(checkpoints.c.number.desc())):
            if witness.find(split_note(row.note)[1]) is not None:
                old = row.size
                break
        for _ in range(2):  # once more if the witness knows a different size (409 tells which)
            proof = TileReader(conn).consistency(old, issued.size) if 0 < old < issued.size else []
            request = f"old {old}\n" + "".join(base64.b64encode(p).decode() + "\n" for p in proof) + "\n" + issued.note
            status, text = _post(settings.witness_url or "", request)
            if status == 409 and text.strip().isdigit():
                old = int(text.strip())
                continue
            break
    if status != 200:
        raise RuntimeError(f"witness answered {status}: {text.strip()}")
    body, _ = split_note(issued.note)
    line = text if text.endswith("\n") else text + "\n"
    if not witness.verify(body, split_note(body + "\n" + line)[1][0]):
        raise RuntimeError("the witness's cosignature does not verify")
    note = add_cosignature(platform, issued.number, line)
    return IssuedCheckpoint(issued.number, issued.size, issued.root_hash, note, issued.new)
