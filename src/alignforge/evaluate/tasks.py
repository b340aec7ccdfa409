"""Task files in the RLVR guide's two shapes: a prompts file plus a full file whose tests join by task_id.

``prepare humaneval|mbpp`` writes both (``<split>_prompts.jsonl``: task_id, prompt, entry_point;
``<split>_full.jsonl``: the same plus tests). RAFT samples from the prompts and verifies against the
full file's tests; the benchmark can read either a full file alone or the pair.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alignforge.io import DataError, iter_jsonl

__all__ = ["TEST_FIELDS", "read_tasks"]

# What a task takes from the tests file; its prompt stays the prompts file's.
TEST_FIELDS = ("tests", "entry_point", "test_setup_code", "test_imports", "test_style")
_ALT_TESTS = ("test", "test_list")  # HumanEval's and MBPP's own names for the tests


def read_tasks(
    prompts: str | os.PathLike[str],
    tests: str | os.PathLike[str] | None = None,
    *,
    dataset_type: str | None = None,
    max_rows: int | None = None,
) -> list[dict[str, Any]]:
    """The prompts file's tasks, in order, each with its tests (from ``tests`` when given).

    ``dataset_type`` (``humaneval`` or ``mbpp``) checks that every task's tests have that style
    (check(candidate) or a list of asserts). Errors name the file, the line and the field.
    """
    from alignforge.verify.tasks import normalize_task

    by_id = _tests_by_id(tests) if tests is not None else None
    rows: list[dict[str, Any]] = []
    path = Path(prompts)
    if not path.is_file():
        raise DataError(path, None, "file not found")
    for line, row in iter_jsonl(path):
        if not isinstance(row, dict):
            raise DataError(path, line, "expected a JSON object")
        if "task_id" not in row:
            raise DataError(path, line, "field 'task_id': is missing", field="task_id")
        task = dict(row)
        if by_id is not None:
            found = by_id.get(str(row["task_id"]))
            if found is None:
                raise DataError(
                    path, line, f"field 'task_id': {row['task_id']!r} has no row in {tests}", field="task_id"
                )
            task.update(found)
        try:
            style = normalize_task(task).get("style")
        except ValueError as exc:
            raise DataError(path, line, f"task {row['task_id']!r}: {exc}") from None
        if dataset_type is not None and style != dataset_type:
            raise DataError(
                path,
                line,
                f"field 'tests': verifier.dataset_type is {dataset_type} but task {row['task_id']!r} "
                f"has {style or 'no'} tests",
                field="tests",
            )
        rows.append(task)
        if max_rows and len(rows) >= max_rows:
            break
    if not rows:
        raise DataError(path, None, "no tasks in file")
    return rows


def _tests_by_id(tests: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    path = Path(tests)
    if not path.is_file():
        raise DataError(path, None, "file not found (data.tests)")
    out: dict[str, dict[str, Any]] = {}
    for line, row in iter_jsonl(path):
        if not isinstance(row, dict) or "task_id" not in row:
            raise DataError(path, line, "field 'task_id': is missing", field="task_id")
        fields = {k: row[k] for k in TEST_FIELDS if k in row}
        for alt in _ALT_TESTS:
            if "tests" not in fields and alt in row:
                fields["tests"] = row[alt]
        if "tests" not in fields:
            raise DataError(path, line, "field 'tests': is missing", field="tests")
        out[str(row["task_id"])] = fields
    return out
