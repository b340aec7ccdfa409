"""Deterministic synthetic DPO pairs for tests and benchmarks (a few hundred bytes each)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from alignforge.quality._common import FLAW_TARGET

__all__ = ["synthetic_dpo_rows"]

_TOPICS = ["index funds", "unit tests", "sourdough", "tax brackets", "TLS certificates", "sleep hygiene",
           "gradient clipping", "compound interest", "git rebase", "vitamin D"]


def synthetic_dpo_rows(n: int, *, seed: int = 0, scored: bool = True) -> Iterator[dict[str, Any]]:
    """``n`` pairs with varied prompts, scores around the gates, flaw types at the target mix."""
    rng = random.Random(seed)
    flaws, weights = list(FLAW_TARGET), list(FLAW_TARGET.values())
    strategies = ["flaw", "strong-weak", "temperature", "reference", "best-of-n"]
    for i in range(n):
        topic = rng.choice(_TOPICS)
        row: dict[str, Any] = {
            "prompt": f"Question {i}: explain {topic} to a new colleague in a few sentences, with one example.",
            "chosen": f"{topic.capitalize()} in short: here is a careful explanation with an example ({i}). "
            f"First, the core idea; second, a worked case; third, the common mistake to avoid.",
            "rejected": f"{topic.capitalize()} is simple, just always do the obvious thing ({i}).",
        }
        if scored:
            chosen = round(min(10.0, rng.gauss(9.3, 0.4)), 1)
            rejected = round(max(0.0, rng.gauss(4.0, 1.2)), 1)
            row["metadata"] = {
                "chosen_score": chosen,
                "rejected_score": rejected,
                "strategy": rng.choice(strategies),
                "flaw_type": rng.choices(flaws, weights)[0],
                "contaminated": False,
            }
        yield row
