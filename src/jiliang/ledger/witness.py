"""`jiliang witness`: an independent cosigner, run apart from the platform (e.g. by the city bureau).

It holds its own Ed25519 key and, per log origin, the last checkpoint it cosigned. It cosigns a new
checkpoint (c2sp.org/tlog-cosignature, type 0x04) only if the log's own signature verifies and a
consistency proof shows the new tree extends that last one — so a rewritten history can never get
its cosignature, and the cosigned checkpoints it keeps expose the rewrite. The request follows
c2sp.org/tlog-witness `add-checkpoint`:

    POST /add-checkpoint
    old <size>
    <base64 consistency proof hash, one per line>

    <the checkpoint, a signed note>

Answers: 200 with the cosignature line; 409 with the witness's current size (text/x.tlog.size) when
`old` is not it; 422 when the proof fails; 403 when the log's signature does not verify.
"""

from __future__ import annotations

import base64
import fcntl
import os
import struct
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Lock

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .merkle import verify_consistency
from .note import NoteVerifier, cosignature_message, key_id, parse_note, signature_line, split_note

__all__ = ["Witness", "WitnessRefusal", "init_witness", "serve_witness", "witness_verifier"]


class WitnessRefusal(Exception):
    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status, self.size = status, size


def init_witness(directory: Path, name: str) -> str:
    """Create the witness's key and state; returns its public key file's text (PEM + name)."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path = directory / "witness.key"
    if key_path.exists():
        raise FileExistsError(f"{key_path} exists: this directory already holds a witness")
    key = ed25519.Ed25519PrivateKey.generate()
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    (directory / "witness.name").write_text(name + "\n", encoding="utf-8")
    public = _public_text(name, key.public_key())
    (directory / "witness.pub").write_text(public, encoding="utf-8")
    return public


def _public_text(name: str, public_key: ed25519.Ed25519PublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return f"# jiliang witness public key\nname {name}\n{pem}"


def witness_verifier(public_text: str) -> NoteVerifier:
    """The verifier for a witness's cosignatures, from its public key file (`witness.pub`)."""
    lines = public_text.splitlines()
    name = next((line[5:].strip() for line in lines if line.startswith("name ")), "")
    pem = "\n".join(line for line in lines if not line.startswith(("#", "name "))).strip() + "\n"
    if not name:
        raise ValueError("a witness key file names the witness on a line `name <name>`")
    return NoteVerifier(name, "cosignature/v1", pem)


@dataclass
class Witness:
    """A witness's state in its directory: key, trusted logs (`logs.json`: origin → platform public
    key PEMs), the latest cosigned tree per log (`state.json`) and every cosigned checkpoint
    (`cosigned.log`, JSON lines, append-only)."""

    directory: Path

    def __post_init__(self) -> None:
        self.name = (self.directory / "witness.name").read_text(encoding="utf-8").strip()
        key = serialization.load_pem_private_key((self.directory / "witness.key").read_bytes(), password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("witness.key is not an Ed25519 key")
        self._key = key
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = key_id(self.name, "cosignature/v1", raw)
        self._lock = Lock()

    def trust_log(self, origin: str, public_key_pem: str) -> None:
        """Add a platform checkpoint key for `origin` (keys rotate: earlier keys stay trusted)."""
        logs = self._logs()
        logs.setdefault(origin, [])
        if public_key_pem not in logs[origin]:
            logs[origin].append(public_key_pem)
        self._write_json("logs.json", logs)

    def _logs(self) -> dict[str, list[str]]:
        path = self.directory / "logs.json"
        return orjson.loads(path.read_bytes()) if path.exists() else {}

    def _state(self) -> dict[str, dict[str, object]]:
        path = self.directory / "state.json"
        return orjson.loads(path.read_bytes()) if path.exists() else {}

    def _write_json(self, name: str, value: object) -> None:
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
        os.replace(tmp, self.directory / name)  # atomic: a crash leaves the old or the new state

    def add_checkpoint(self, request: str) -> str:
        """Handle one add-checkpoint request; returns the cosignature line or raises WitnessRefusal."""
        head, sep, note = request.partition("\n\n")
        if not sep:
            raise WitnessRefusal(400, "expected `old <size>`, proof lines, a blank line, then the checkpoint")
        lines = head.split("\n")
        if not lines[0].startswith("old ") or not lines[0][4:].isdigit():
            raise WitnessRefusal(400, "the first line must be `old <size>`")
        old_size = int(lines[0][4:])
        try:
            proof = [base64.b64decode(p, validate=True) for p in lines[1:] if p]
            body, sigs = split_note(note)
            cp, _ = parse_note(note)
        except ValueError as exc:
            raise WitnessRefusal(400, f"malformed request: {exc}") from None
        keys = self._logs().get(cp.origin)
        if not keys:
            raise WitnessRefusal(404, f"unknown log {cp.origin}")
        verifiers = [NoteVerifier(cp.origin, "ed25519", pem) for pem in keys]
        if not any((own := v.find(sigs)) is not None and v.verify(body, own) for v in verifiers):
            raise WitnessRefusal(403, "the checkpoint is not signed by a key of this log")
        with self._lock, (self.directory / "state.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._state()
            last = state.get(cp.origin)
            last_size = int(last["size"]) if last else 0  # type: ignore[call-overload]
            if old_size != last_size:
                raise WitnessRefusal(409, f"the witness's latest size for this log is {last_size}", last_size)
            if cp.size < last_size:
                raise WitnessRefusal(400, "the checkpoint is smaller than one already cosigned")
            if last:
                last_root = base64.b64decode(str(last["root"]))
                consistent = (
                    (cp.size == last_size and not proof and cp.root_hash == last_root)
                    if cp.size == last_size
                    else verify_consistency(last_size, cp.size, proof, last_root, cp.root_hash)
                )
                if not consistent:
                    raise WitnessRefusal(422, f"not consistent with the cosigned tree of size {last_size}")
            timestamp = int(time.time())
            signature = self._key.sign(cosignature_message(body, timestamp))
            line = signature_line(self.name, self.key_id, struct.pack(">Q", timestamp) + signature)
            state[cp.origin] = {"size": cp.size, "root": base64.b64encode(cp.root_hash).decode()}
            with (self.directory / "cosigned.log").open("ab") as fh:
                fh.write(orjson.dumps({"origin": cp.origin, "note": note + line}) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._write_json("state.json", state)
            return line


def serve_witness(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for add-checkpoint (call `serve_forever()` on it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/add-checkpoint":
                self._answer(404, "not found\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1 << 20:
                self._answer(413, "request too large\n")
                return
            try:
                self._answer(200, witness.add_checkpoint(self.rfile.read(length).decode("utf-8")))
            except WitnessRefusal as exc:
                if exc.size is not None:
                    self._answer(exc.status, f"{exc.size}\n", "text/x.tlog.size")
                else:
                    self._answer(exc.status, f"{exc}\n")
            except UnicodeDecodeError:
                self._answer(400, "not UTF-8\n")

        def _answer(self, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
            pass

    return ThreadingHTTPServer((host, port), Handler)
