"""Task rows: load them from a file or a dict, normalise their fields, fingerprint them."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alignforge.verify._suites import detect_style

__all__ = ["load_tasks", "normalize_task", "task_domain"]


def task_domain(row: Mapping[str, Any]) -> str:
    """``code`` when the row carries tests, else its ``domain`` (math when it has an answer)."""
    if row.get("tests") or row.get("test") or row.get("test_list"):
        return "code"
    return str(row.get("domain") or ("math" if "answer" in row else "general"))


def normalize_task(row: Mapping[str, Any]) -> dict[str, Any]:
    """A task in the engine's shape: string ``task_id``, ``tests``, ``style`` (code) or ``answer``."""
    if "task_id" not in row:
        raise ValueError("field 'task_id': is missing")
    task = dict(row)
    task["task_id"] = str(row["task_id"])
    if "tests" not in task:
        for alt in ("test", "test_list"):
            if alt in task:
                task["tests"] = task[alt]
                break
    domain = task_domain(task)
    task["domain"] = domain
    if domain == "code":
        try:
            task["style"] = detect_style(task)
        except ValueError as exc:
            raise ValueError(f"field 'tests': {exc}") from None
        if task["style"] == "humaneval" and not task.get("entry_point"):
            raise ValueError("field 'entry_point': is missing (a check(candidate) test needs it)")
    elif "answer" not in task:
        raise ValueError("field 'tests': is missing (or give 'answer' for a math/general task)")
    blob = json.dumps(
        {
            k: task.get(k)
            for k in (
                "prompt",
                "tests",
                "entry_point",
                "test_setup_code",
                "test_imports",
                "answer",
                "style",
                "choices",
            )
        },
        sort_keys=True,
        default=str,
    )
    task["_key"] = hashlib.sha256(blob.encode()).hexdigest()[:32]
    return task


def load_tasks(tasks: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """task_id -> normalised task, from a JSONL path or a mapping of rows; bad rows raise ``DataError``."""
    from alignforge.io import DataError, iter_jsonl

    out: dict[str, dict[str, Any]] = {}
    if isinstance(tasks, Mapping):
        for tid, row in tasks.items():
            try:
                out[str(tid)] = normalize_task({"task_id": tid, **row})
            except ValueError as exc:
                raise DataError("<tasks>", None, f"task {tid}: {exc}") from None
        return out
    path = Path(tasks)
    for line_no, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(path, line_no, "expected a JSON object")
        try:
            task = normalize_task(row)
        except ValueError as exc:
            raise DataError(path, line_no, str(exc)) from None
        out[task["task_id"]] = task
    if not out:
        raise DataError(path, None, "no tasks in file")
    return out
