"""pass@k with the unbiased estimator of Chen et al. (2021), computed stably."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["pass_at_k", "pass_at_k_table"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): the chance that at least one of k samples drawn from n passes.

    Computed as a running product (no huge binomials), exact at the edges.
    """
    if not (0 <= c <= n) or n <= 0:
        raise ValueError(f"need 0 <= c <= n and n > 0, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and n={n}, got {k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def pass_at_k_table(verdicts: Iterable[Mapping[str, Any]], ks: Sequence[int]) -> dict[str, Any]:
    """Per-task and mean pass@k over verdict rows; a k above a task's sample count is skipped and counted."""
    per: dict[str, list[int]] = {}
    for v in verdicts:
        n_c = per.setdefault(str(v["task_id"]), [0, 0])
        n_c[0] += 1
        n_c[1] += bool(v["passed"])
    tasks = {
        tid: {"n": n, "c": c, **{f"pass@{k}": pass_at_k(n, c, k) for k in ks if k <= n}}
        for tid, (n, c) in sorted(per.items())
    }
    overall: dict[str, Any] = {}
    for k in ks:
        vals = [t[f"pass@{k}"] for t in tasks.values() if f"pass@{k}" in t]
        overall[f"pass@{k}"] = sum(vals) / len(vals) if vals else None
        overall[f"tasks@{k}"] = len(vals)
        overall[f"skipped@{k}"] = len(tasks) - len(vals)
    return {"overall": overall, "tasks": tasks}
