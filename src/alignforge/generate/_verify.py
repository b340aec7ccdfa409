"""Correctness by verifier, not by the judge's opinion, for prompts that carry an exact ``answer``.

Math answers go through :func:`alignforge.verify.verify_math` (final answer extracted, then compared
for equivalence). Code prompts are not verified during DPO generation (see docs/generate.md).
"""

from __future__ import annotations

__all__ = ["math_correct"]


def math_correct(completion: str, answer: str) -> bool:
    from alignforge.verify import verify_math

    return verify_math(completion, answer).passed
