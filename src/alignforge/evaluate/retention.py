"""Capability retention: the tuned model's benchmark scores as a share of the baseline's, with error bars
(standard errors and a two-proportion z-test per suite)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError

__all__ = ["capability_retention", "load_scores", "proportion_se", "suite_retention", "two_proportion_z"]


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


def proportion_se(p: float, n: int) -> float:
    """Standard error of a share ``p`` measured on ``n`` items: sqrt(p (1 - p) / n)."""
    if n < 1:
        raise AlignforgeError("a standard error needs at least one item")
    return math.sqrt(p * (1.0 - p) / n)


def two_proportion_z(p1: float, n1: int, p2: float, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of ``p2`` against ``p1``: (z, two-sided p-value).

    z = (p2 - p1) / sqrt(q (1 - q) (1/n1 + 1/n2)) with the pooled share q = (p1 n1 + p2 n2) / (n1 + n2).
    When q is 0 or 1 (both models all wrong or all right) the shares are equal: z = 0, p = 1.
    """
    if n1 < 1 or n2 < 1:
        raise AlignforgeError("a z-test needs at least one item on each side")
    q = (p1 * n1 + p2 * n2) / (n1 + n2)
    var = q * (1.0 - q) * (1.0 / n1 + 1.0 / n2)
    if var <= 0.0:
        return 0.0, 1.0
    z = (p2 - p1) / math.sqrt(var)
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def suite_retention(baseline: dict[str, Any], tuned: dict[str, Any]) -> dict[str, Any]:
    """Retention per suite with error bars, from two ``suites.json`` ``suites`` mappings
    (``{name: {"metric", "score", "se", "n"}}``, measured by the same harness).

    Per suite: both sides, ``ratio`` = tuned / baseline (None when the baseline scored 0), and the
    two-proportion ``z`` and ``p``. ``retention`` is the worst ratio, ``retention_mean`` the mean.
    A suite of the baseline missing from the tuned results, or measured with another metric, is an error.
    """
    missing = sorted(set(baseline) - set(tuned))
    if missing:
        raise AlignforgeError(f"tuned suites lack {', '.join(missing)} (measured on the baseline)")
    suites: dict[str, Any] = {}
    for name, base in baseline.items():
        tune = tuned[name]
        if base.get("metric") != tune.get("metric"):
            raise AlignforgeError(
                f"suite {name}: baseline metric {base.get('metric')!r} != tuned metric {tune.get('metric')!r}"
            )
        b, t = float(base["score"]), float(tune["score"])
        z, p = two_proportion_z(b, int(base["n"]), t, int(tune["n"]))
        suites[name] = {
            "metric": base["metric"],
            "baseline": {k: base[k] for k in ("metric", "score", "se", "n")},
            "tuned": {k: tune[k] for k in ("metric", "score", "se", "n")},
            "ratio": t / b if b > 0 else None,
            "z": z,
            "p": p,
        }
    counted = {k: v["ratio"] for k, v in suites.items() if v["ratio"] is not None}
    if not counted:
        raise AlignforgeError("every baseline suite scored 0: retention is undefined")
    worst = min(counted, key=lambda k: counted[k])
    return {
        "suites": suites,
        "retention": counted[worst],
        "retention_mean": sum(counted.values()) / len(counted),
        "worst_suite": worst,
        "unit": "tuned score / baseline score; the worst suite counts (gate: capability_retention)",
    }
