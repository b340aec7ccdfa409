"""Win rate against a baseline from pairwise judgments, with a Wilson interval."""

from __future__ import annotations

import math
import os
from typing import Any

from alignforge.errors import AlignforgeError
from alignforge.io import iter_jsonl

__all__ = ["win_rate"]

_OUTCOMES = {"tuned": 1.0, "baseline": 0.0, "tie": 0.5}


def win_rate(path: str | os.PathLike[str], *, z: float = 1.96) -> dict[str, Any]:
    """Rows ``{"winner": "tuned" | "baseline" | "tie", ...}``; ties count half. Judgments whose two
    orders disagree (``"agreement": false``) count as ties, since the judge could not decide."""
    wins = ties = losses = disagreements = 0
    for line, row in iter_jsonl(path):
        winner = row.get("winner") if isinstance(row, dict) else None
        if winner not in _OUTCOMES:
            raise AlignforgeError(
                f"{path}:{line}: field 'winner': expected tuned, baseline or tie, got {winner!r}"
            )
        if row.get("agreement") is False:
            disagreements += 1
            winner = "tie"
        wins += winner == "tuned"
        ties += winner == "tie"
        losses += winner == "baseline"
    n = wins + ties + losses
    rate = (wins + 0.5 * ties) / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {
        "win_rate": rate,
        "ci95": [max(0.0, centre - half), min(1.0, centre + half)],
        "judgments": n,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "order_disagreements": disagreements,
        "unit": "share of pairwise wins against the baseline, ties half, 0-1 (gate: evaluation.win_rate)",
    }
