"""Capability retention: the tuned model's benchmark scores as a share of the baseline's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError

__all__ = ["capability_retention", "load_scores"]


def load_scores(path: str | os.PathLike[str]) -> dict[str, float]:
    """Benchmark -> score (0-1) from a JSON file: a flat mapping, or a ``bench checkpoint`` report
    (its ``overall`` pass@k figures, e.g. ``humaneval/pass@1``)."""
    p = Path(path)
    try:
        data = orjson.loads(p.read_bytes())
    except FileNotFoundError:
        raise AlignforgeError(f"{p}: no such scores file") from None
    except orjson.JSONDecodeError as exc:
        raise AlignforgeError(f"{p}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and "scores" in data and isinstance(data["scores"], dict):
        data = data["scores"]
    if not isinstance(data, dict) or not data:
        raise AlignforgeError(f"{p}: expected a JSON object of benchmark -> score")
    out = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AlignforgeError(f"{p}: field '{name}': expected a number, got {type(value).__name__}")
        if not 0.0 <= value <= 1.0:
            raise AlignforgeError(
                f"{p}: field '{name}': {value} is not a 0-1 score (give accuracies as shares)"
            )
        out[name] = float(value)
    return out


def capability_retention(baseline: dict[str, float], tuned: dict[str, float]) -> dict[str, Any]:
    """Per benchmark tuned / baseline, and ``capability_retention``: the *lowest* of them (a model
    that keeps math and loses code has not retained its capabilities), with the mean beside it.

    A benchmark in the baseline but not in the tuned scores is an error, never a silent skip.
    """
    missing = sorted(set(baseline) - set(tuned))
    if missing:
        raise AlignforgeError(f"tuned scores lack {', '.join(missing)} (present in the baseline)")
    per: dict[str, float | None] = {}
    for name, base in baseline.items():
        if base <= 0.0:
            per[name] = None  # nothing to retain; reported, not counted
            continue
        per[name] = tuned[name] / base
    counted = [v for v in per.values() if v is not None]
    if not counted:
        raise AlignforgeError("every baseline score is 0: retention is undefined")
    return {
        "capability_retention": min(counted),
        "capability_retention_mean": sum(counted) / len(counted),
        "per_benchmark": per,
        "worst_benchmark": min((k for k, v in per.items() if v is not None), key=lambda k: per[k] or 0.0),
        "unit": "tuned score / baseline score, 0-1 (gate: evaluation.capability_retention)",
    }
