"""Fingerprints and the record a stage leaves beside its outputs.

A stage's fingerprint is the sha256 of its name, the content hashes of its input files and its
parameters (canonical JSON). When it finishes, ``<out>.stage.json`` records the fingerprint, the
outputs' content hashes, the timings and the summary, written atomically, so a later run with the
same fingerprint whose outputs are unchanged is recognised as done and reused. A run that was
killed leaves the record ``running`` (or none) and the stage resumes at its row from its outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["file_sha256", "fingerprint", "StageRecord", "record_path", "canonical", "short_hash"]

_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (of every file, in name order, for a directory)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        if p.is_dir():
            h.update(str(q.relative_to(p)).encode() + b"\x00")
        with open(q, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def canonical(value: Any) -> Any:
    """A JSON-ready, order-independent form of parameters (paths as strings, sets sorted)."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    name = getattr(value, "name", None)  # an LLM object: its spec name stands for it
    return f"<{type(value).__name__}:{name}>" if name else f"<{type(value).__name__}>"


def fingerprint(stage: str, inputs: dict[str, str | os.PathLike[str] | None], params: dict[str, Any]) -> str:
    """sha256 over the stage name, each input's content hash (missing: ``-``) and the parameters."""
    h = hashlib.sha256(stage.encode() + b"\x00")
    for name, path in sorted(inputs.items()):
        digest = file_sha256(path) if path is not None and Path(path).exists() else "-"
        h.update(f"{name}={digest}\x00".encode())
    h.update(json.dumps(canonical(params), sort_keys=True).encode())
    return h.hexdigest()


def record_path(out: str | os.PathLike[str]) -> Path:
    """``out.jsonl`` -> ``out.jsonl.stage.json`` (a directory output: ``DIR/stage.json``)."""
    p = Path(out)
    return p / "stage.json" if p.is_dir() else p.with_name(p.name + ".stage.json")


@dataclass
class StageRecord:
    stage: str
    fingerprint: str
    status: str  # running | finished
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # role -> {path, sha256}
    started: float = 0.0
    finished: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> StageRecord | None:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None  # no record, or a torn / foreign one: the stage simply runs

    def write(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, p)

    def outputs_intact(self) -> bool:
        """Every recorded output still exists with the content it had when the stage finished."""
        for entry in self.outputs.values():
            path = entry.get("path")
            if not path or not Path(path).exists() or file_sha256(path) != entry.get("sha256"):
                return False
        return True


def now() -> float:
    return round(time.time(), 3)


def short_hash(*parts: Any) -> str:
    """16 hex digits of sha256 over ``repr`` of each part: a stable id for a row or a candidate."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]
