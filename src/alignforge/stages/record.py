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

__all__ = [
    "file_sha256",
    "fingerprint",
    "input_digests",
    "stat_key",
    "StageRecord",
    "record_path",
    "canonical",
    "short_hash",
]

_CHUNK = 1 << 20


def _hashed_files(directory: Path) -> list[Path]:
    """The files a directory's hash covers: all of them, less its own stage record (``stage.json``,
    written after the outputs are hashed) and that record's temporary files."""
    return [
        q
        for q in directory.rglob("*")
        if q.is_file() and q != directory / "stage.json" and not q.name.startswith(".stage.json")
    ]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes (of every file, in name order, for a directory: :func:`_hashed_files`)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(_hashed_files(p)) if p.is_dir() else [p]
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


def stat_key(path: str | os.PathLike[str]) -> list[Any] | None:
    """What says a file (or every file of a directory) was not rewritten since it was hashed:
    size, mtime in ns and inode; for a directory, a digest of those of each file in it."""
    p = Path(path)
    try:
        if p.is_file():
            st = p.stat()
            return [st.st_size, st.st_mtime_ns, st.st_ino]
        if p.is_dir():
            h = hashlib.sha256()
            for q in sorted(_hashed_files(p)):
                st = q.stat()
                h.update(f"{q.relative_to(p)}\x00{st.st_size}\x00{st.st_mtime_ns}\x00{st.st_ino}\n".encode())
            return ["dir", h.hexdigest()]
    except OSError:
        return None
    return None


def input_digests(
    inputs: dict[str, str | os.PathLike[str] | None], known: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Per input role: ``{path, sha256, stat}`` (sha256 ``-`` for a missing input).

    ``known`` is a previous record's ``inputs``: a file whose path, size, mtime and inode are those
    recorded there is taken to have the recorded hash without being read again (as ``make`` and git's
    index do), so recognising a finished stage does not re-read its inputs.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, path in inputs.items():
        if path is None or not Path(path).exists():
            out[name] = {"path": None if path is None else os.fspath(path), "sha256": "-", "stat": None}
            continue
        key = stat_key(path)
        prev = (known or {}).get(name)
        if (
            isinstance(prev, dict)
            and key is not None
            and prev.get("path") == os.fspath(path)
            and prev.get("stat") == key
            and prev.get("sha256")
        ):
            out[name] = {"path": os.fspath(path), "sha256": prev["sha256"], "stat": key}
        else:
            out[name] = {"path": os.fspath(path), "sha256": file_sha256(path), "stat": key}
    return out


def fingerprint(
    stage: str,
    inputs: dict[str, str | os.PathLike[str] | None],
    params: dict[str, Any],
    *,
    digests: dict[str, dict[str, Any]] | None = None,
) -> str:
    """sha256 over the stage name, each input's content hash (missing: ``-``) and the parameters."""
    digests = digests if digests is not None else input_digests(inputs)
    h = hashlib.sha256(stage.encode() + b"\x00")
    for name in sorted(inputs):
        h.update(f"{name}={digests[name]['sha256']}\x00".encode())
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
        """Every recorded output still exists with the content it had when the stage finished
        (unchanged size, mtime and inode stand for unchanged content, as for the inputs)."""
        present = all(e.get("path") and Path(e["path"]).exists() for e in self.outputs.values())
        return present and not self.changed_outputs()

    def changed_outputs(self) -> list[str]:
        """The recorded outputs that still exist but no longer have the content recorded (a
        removed one is not listed: removing an output is how a run is started over)."""
        changed = []
        for entry in self.outputs.values():
            path = entry.get("path")
            if not path or not Path(path).exists():
                continue
            if entry.get("stat") is not None and entry.get("stat") == stat_key(path):
                continue
            if file_sha256(path) != entry.get("sha256"):
                changed.append(str(path))
        return changed


def now() -> float:
    return round(time.time(), 3)


def short_hash(*parts: Any) -> str:
    """16 hex digits of sha256 over ``repr`` of each part: a stable id for a row or a candidate."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]
