"""Task rows: load them from a file, rows or a generator's summary; normalise, fingerprint, find the reference."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alignforge.records import check_tests_parse
from alignforge.verify._suites import detect_style

__all__ = [
    "entry_point_of",
    "find_reference",
    "load_tasks",
    "normalize_task",
    "task_domain",
    "REFERENCE_FIELDS",
]

# Where the task shapes alignforge reads and writes keep the reference solution, in the order looked at:
# ``prepare``'s files ``solution``, ``generate rlvr``'s input ``reference_solution``, HumanEval
# ``canonical_solution``, MBPP ``code``; then ``generate rlvr``'s output ``metadata.reference_solution``.
REFERENCE_FIELDS = (
    "solution",
    "reference_solution",
    "canonical_solution",
    "code",
    "metadata.reference_solution",
    "metadata.solution",
    "metadata.canonical_solution",
)


def task_domain(row: Mapping[str, Any]) -> str:
    """``code`` when the row carries tests, else its ``domain`` (math when it has an answer)."""
    if row.get("tests") or row.get("test") or row.get("test_list"):
        return "code"
    return str(row.get("domain") or ("math" if "answer" in row else "general"))


def find_reference(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(field, text)`` of the row's reference solution, wherever the row keeps it (see
    :data:`REFERENCE_FIELDS`); for a task graded by answer (no tests) with no worked solution, its
    ``answer``. None when the row has none; an empty string counts as none.

    Raises ``ValueError`` naming the field when a reference field holds something other than a string.
    """
    meta = row.get("metadata")
    for where in REFERENCE_FIELDS:
        holder: Any = row
        key = where
        if where.startswith("metadata."):
            holder, key = meta, where.removeprefix("metadata.")
            if not isinstance(holder, Mapping):
                continue
        value = holder.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValueError(
                f"field {where!r}: expected the reference solution as a string, got {type(value).__name__}"
            )
        return where, value
    if task_domain(row) != "code":
        answer = row.get("answer")
        if answer is not None and str(answer).strip():
            return "answer", str(answer)
    return None


def entry_point_of(code: str, tests: Any, module: str = "solution") -> str | None:
    """The function of ``code`` that MBPP-style ``tests`` (a list of assert lines) or a pytest-style test
    module call, for rows that do not name their ``entry_point`` (MBPP's own files)."""
    import ast

    try:
        defined = {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    except SyntaxError:
        return None
    if isinstance(tests, str):  # a test module (pytest style): the first defined function it calls
        tests = [tests]
    for test in tests if isinstance(tests, list) else []:
        try:
            tree = ast.parse(test)
        except (SyntaxError, TypeError):
            continue
        # from solution import f as g: a call of g is a call of f
        alias = {
            a.asname: a.name
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module == module
            for a in n.names
            if a.asname
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id if node.func.id in defined else alias.get(node.func.id)
                if name in defined:
                    return name
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == module
                and node.func.attr in defined
            ):
                return node.func.attr  # solution.f(...)
    return None


def _finance_spec() -> Any:
    from alignforge.verify.finance import FinanceSpec

    return FinanceSpec


def _general_spec() -> Any:
    from alignforge.verify.general import GeneralSpec

    return GeneralSpec


# Domains graded by a spec of their own (``answer`` + ``metadata.verifier``), checked when a task is loaded.
_SPECS = {"finance": _finance_spec, "general": _general_spec}


def normalize_task(row: Mapping[str, Any]) -> dict[str, Any]:
    """A task in the engine's shape: string ``task_id``, ``tests``, ``style`` (code) or ``answer``.

    Finance and general tasks must carry a grading spec their verifier can read (``answer``,
    ``metadata.verifier``, ``choices``); a bad one raises ``ValueError`` naming the field. The task's
    ``_key`` covers what decides a verdict, ``metadata.verifier`` included."""
    if "task_id" not in row:
        raise ValueError("field 'task_id': is missing")
    task = dict(row)
    task["task_id"] = str(row["task_id"])
    given = next((k for k in ("tests", "test", "test_list") if k in task), "tests")  # errors name it
    if given != "tests":
        task["tests"] = task[given]
    domain = task_domain(task)
    task["domain"] = domain
    if domain == "code":
        try:
            task["style"] = detect_style(task)
        except ValueError as exc:
            raise ValueError(f"field {given!r}: {exc}") from None
        # A test that does not parse, or a stdio case whose text is no string, is an invalid task, named
        # here, never a model failure later.
        check_tests_parse(task["tests"], given)  # FieldError (a ValueError): "field 'tests[2]': ..."
        if task["style"] == "humaneval" and not task.get("entry_point"):
            raise ValueError("field 'entry_point': is missing (a check(candidate) test needs it)")
        # MBPP's own rows name no entry point; without one, a test's call of a function that shadows a
        # builtin (task 126's `sum(10, 15)`) would call the builtin, and every solution would fail.
        ref = find_reference(task) if task["style"] == "mbpp" and not task.get("entry_point") else None
        if ref and (entry := entry_point_of(ref[1], task["tests"])):
            task["entry_point"] = entry
    elif "answer" not in task:
        raise ValueError("field 'tests': is missing (or give 'answer' for a math/finance/general task)")
    elif domain in _SPECS:  # the grading spec must read as the verifier reads it (FieldError names the field)
        _SPECS[domain]().from_task(task)
    find_reference(task)  # a reference field of the wrong type is bad input, named here with its line
    meta = task.get("metadata")
    blob = json.dumps(
        {
            **{
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
                    "domain",
                )
            },
            # How the answer is graded (finance tolerances, general aliases): a changed spec is new work.
            "verifier": meta.get("verifier") if isinstance(meta, Mapping) else None,
        },
        sort_keys=True,
        default=str,
    )
    task["_key"] = hashlib.sha256(blob.encode()).hexdigest()[:32]
    return task


def load_tasks(tasks: Any) -> dict[str, dict[str, Any]]:
    """task_id -> normalised task; bad rows, and a task_id given twice, raise ``DataError`` naming the file
    (or ``<tasks>``), line and field.

    ``tasks`` is a JSONL path, a mapping task_id -> row, an iterable of rows (each with ``task_id``), or
    a generator's summary whose ``outputs["out"]`` names the file it wrote (what ``generate_rlvr_data``
    returns).
    """
    from alignforge.io import DataError, iter_jsonl

    out: dict[str, dict[str, Any]] = {}
    if isinstance(tasks, Mapping):
        for tid, row in tasks.items():
            try:
                out[str(tid)] = normalize_task({"task_id": tid, **row})
            except ValueError as exc:
                raise DataError("<tasks>", None, f"task {tid}: {exc}") from None
        return out
    written = getattr(tasks, "outputs", None)
    if isinstance(written, Mapping) and written.get("out"):
        tasks = written["out"]
    if isinstance(tasks, str | os.PathLike):
        path: Path | str = Path(tasks)
        rows: Iterable[tuple[int | None, Any]] = iter_jsonl(path)
    elif isinstance(tasks, Iterable) and not isinstance(tasks, bytes):
        path = "<tasks>"
        rows = enumerate(tasks, 1)
    else:
        raise TypeError(
            f"tasks: expected a JSONL path, rows, a mapping task_id -> row or a generator summary, "
            f"got {type(tasks).__name__}"
        )
    lines: dict[str, int | None] = {}  # task_id -> the line it was first given on
    for line_no, row in rows:
        if not isinstance(row, Mapping):
            raise DataError(path, line_no, "expected a JSON object")
        try:
            task = normalize_task(row)
        except ValueError as exc:
            raise DataError(path, line_no, str(exc)) from None
        if task["task_id"] in lines:  # which one would a verdict be graded by? neither, silently
            raise DataError(path, line_no, f"field 'task_id': duplicate of line {lines[task['task_id']]}")
        lines[task["task_id"]] = line_no
        out[task["task_id"]] = task
    if not out:
        raise DataError(path, None, "no tasks in file" if isinstance(path, Path) else "no tasks")
    return out
