"""Correctness by verifier, not by the judge's opinion, for prompts that carry an exact ``answer``.

Uses ``alignforge.verify.verify_math`` when that package is present; otherwise Math-Verify
directly (the same library the verifier wraps), on the main thread where its SIGALRM
timeouts work. Code prompts are not verified here (see docs/generate.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["math_correct"]


def _as_bool(result: Any) -> bool:
    if isinstance(result, bool):
        return result
    passed = getattr(result, "passed", None)
    if isinstance(passed, bool):
        return passed
    if isinstance(result, dict) and isinstance(result.get("passed"), bool):
        return result["passed"]
    raise TypeError(f"unexpected verifier result {type(result).__name__}")


def math_correct(completion: str, answer: str) -> bool:
    """Does ``completion`` reach ``answer``? (the final answer is extracted, then compared for equivalence)."""
    try:
        from alignforge.verify import verify_math  # type: ignore[attr-defined]
    except ImportError:
        verify_math = None
    if verify_math is not None:
        return _as_bool(verify_math(completion, answer))
    from alignforge._deps import require

    mv = require("math_verify", extra="math", package="math-verify")
    gold = mv.parse(f"${answer}$" if not answer.startswith("$") else answer)
    pred = mv.parse(completion)
    return bool(gold) and bool(pred) and bool(mv.verify(gold, pred))
