"""One side-file scheme and one drop-reason field for every stage.

``out.jsonl`` is written beside ``out.dropped.jsonl`` (rows a stage dropped, each carrying why) and
``out.failures.jsonl`` (requests or rows that failed, e.g. an LLM error, with the error). A dropped
row carries ``metadata.drop_reasons``: a list of ``{"reason": str, "detail": ...}``; ``reason`` is a
short stable name that summaries count, ``detail`` says what exactly (the matching benchmark span, the
near-duplicate's line, the judge's score).
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.io import JsonlWriter, iter_jsonl, repair_tail, write_jsonl

__all__ = [
    "SidePaths",
    "side_paths",
    "done_ids",
    "add_drop_reason",
    "drop_reasons_of",
    "first_reason",
    "compact_failures",
]


@dataclass(frozen=True)
class SidePaths:
    out: Path
    dropped: Path
    failures: Path

    def writers(self) -> tuple[JsonlWriter, JsonlWriter, JsonlWriter]:
        return JsonlWriter(self.out), JsonlWriter(self.dropped), JsonlWriter(self.failures)

    def as_outputs(self) -> dict[str, str]:
        return {"out": str(self.out), "dropped": str(self.dropped), "failures": str(self.failures)}


def side_paths(output: str | os.PathLike[str]) -> SidePaths:
    """``out.jsonl`` -> ``out.dropped.jsonl`` and ``out.failures.jsonl`` (the output must be JSONL)."""
    out = Path(output)
    if out.suffix != ".jsonl":
        raise ConfigError(f"{out}: this stage writes JSONL; name the output *.jsonl")
    stem = out.with_suffix("")
    return SidePaths(out, Path(f"{stem}.dropped.jsonl"), Path(f"{stem}.failures.jsonl"))


def add_drop_reason(row: dict[str, Any], reason: str, detail: Any = None) -> dict[str, Any]:
    """Record on ``row`` (in place, and returned) that it is dropped for ``reason``."""
    meta = row.get("metadata")
    if not isinstance(meta, dict):
        meta = row["metadata"] = {}
    reasons = meta.setdefault("drop_reasons", [])
    reasons.append({"reason": reason, "detail": detail})
    return row


def drop_reasons_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``{reason, detail}`` entries a dropped row carries (empty for a kept row)."""
    meta = row.get("metadata") if isinstance(row, dict) else None
    found = meta.get("drop_reasons") if isinstance(meta, dict) else None
    return list(found) if isinstance(found, list) else []


def first_reason(reasons: Iterable[dict[str, Any]]) -> str | None:
    for r in reasons:
        return str(r.get("reason"))
    return None


def done_ids(*paths: Path, key: str = "candidate_id", repair: bool = True) -> dict[str, int]:
    """``metadata[key]`` of rows already written (resume): id -> how many files hold it.

    ``repair`` cuts a partial last line left by a killed run; without it (a dry run changes no file)
    such a line is skipped.
    """
    seen: dict[str, int] = {}
    for path in paths:
        if not path.exists():
            continue
        if repair:
            repair_tail(path)
        if path.stat().st_size == 0:
            continue
        for _, row in iter_jsonl(path, on_error="raise" if repair else "skip"):
            cid = (row.get("metadata") or {}).get(key) if isinstance(row, dict) else None
            if cid:
                seen[cid] = seen.get(cid, 0) + 1
    return seen


def compact_failures(
    path: str | os.PathLike[str], done: Container[str], *, id_field: str = "id"
) -> str | None:
    """Keep the last entry per ``row[id_field]`` that is not ``in done``; remove the file when none is left.

    A failures file only grows while a stage runs (one line per failed attempt); compacting it at the
    end leaves one line per row or request that is still failing, which the next run retries. Returns
    the path, or None when the file was removed.
    """
    path = Path(path)
    last: dict[str, Any] = {}
    if path.exists() and path.stat().st_size:
        for _, row in iter_jsonl(path, on_error="skip"):
            if isinstance(row, dict) and str(row.get(id_field)) not in done:
                last[str(row.get(id_field))] = row
    if not last:
        path.unlink(missing_ok=True)
        return None
    write_jsonl(path, last.values())
    return str(path)
