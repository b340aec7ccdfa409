"""Correctness by verifier, not by a judge's opinion, for rows that carry an answer or tests.

Used by the stages that score free-form answers (``judge``, ``generate dpo``): math answers go
through :func:`alignforge.verify.verify_math` (final answer extracted, then compared for
equivalence); code prompts that carry ``tests`` (HumanEval ``check(candidate)``, MBPP assert lists,
pytest functions or stdin/stdout cases, with ``entry_point`` where the style needs it) run in the
sandbox, the answer taken as complete code (markdown fences stripped).
"""

from __future__ import annotations

from typing import Any

__all__ = ["code_correct_many", "code_task", "math_correct"]

_TASK_FIELDS = ("tests", "entry_point", "test_setup_code", "test_imports", "test_style", "style", "module")


def math_correct(completion: str, answer: str) -> bool:
    """Whether ``completion``'s final answer is equivalent to ``answer``."""
    from alignforge.verify.math import verify_math

    return verify_math(completion, answer).passed


def code_task(item_id: str, prompt_text: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    """The RLVR task row for a prompt whose metadata carries ``tests``, else None."""
    if not meta.get("tests"):
        return None
    task = {"task_id": item_id, "prompt": prompt_text, "domain": "code"}
    task.update({k: meta[k] for k in _TASK_FIELDS if k in meta})
    return task


def code_correct_many(jobs: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    """Verdicts for ``(task, completion)`` pairs, in order (one sandbox pool for all of them)."""
    if not jobs:
        return []
    from alignforge.verify.engine import verify_completions

    tasks = {t["task_id"]: t for t, _ in jobs}
    rows = [
        {"task_id": t["task_id"], "completion": text, "sample_index": i, "completion_style": "full"}
        for i, (t, text) in enumerate(jobs)
    ]
    return list(verify_completions(tasks, rows))
