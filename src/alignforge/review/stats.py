"""The review's statistics, as pure functions: Wilson intervals, a stratified estimate, Cohen's kappa.

Each function returns plain numbers (or ``None`` where a figure is not defined) so the report can
say *why* a figure is missing instead of printing a misleading one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Z95",
    "wilson",
    "needed_sample",
    "stratified",
    "Stratum",
    "Kappa",
    "cohen_kappa",
]

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile


def wilson(k: int, n: int, *, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for ``k`` successes in ``n`` trials; ``None`` when ``n == 0``."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"wilson: k={k} outside 0..n={n}")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def needed_sample(p: float = 0.05, margin: float = 0.03, *, z: float = Z95) -> int:
    """Items needed for a ±``margin`` 95 % interval at rate ``p``: ceil(z² p(1-p) / e²) (203 for 5 %, ±3)."""
    return math.ceil(z * z * p * (1 - p) / (margin * margin))


@dataclass(frozen=True, slots=True)
class Stratum:
    """One stratum's population (rows in the whole file) and its reviewed counts."""

    population: int
    disagree: int
    decided: int  # agree + disagree


def stratified(strata: Sequence[Stratum], *, z: float = Z95) -> dict[str, float | None]:
    """The disagreement rate of the whole file: each stratum's rate weighted by its share of the file.

    Strata with no decided verdict carry no estimate; they are left out and named by ``covered``
    (the share of the file's rows whose stratum has one). The 95 % interval is the normal one on the
    stratified variance sum(W² p̃(1-p̃)/n), with p̃ = (d+2)/(n+4) (Agresti-Coull) so a stratum with no
    disagreement still contributes its uncertainty.
    """
    total = sum(s.population for s in strata)
    covered = [s for s in strata if s.decided > 0]
    cover_pop = sum(s.population for s in covered)
    if not total or not cover_pop:
        return {"value": None, "low": None, "high": None, "covered": 0.0}
    value = 0.0
    var = 0.0
    for s in covered:
        w = s.population / cover_pop
        value += w * s.disagree / s.decided
        pt = (s.disagree + 2) / (s.decided + 4)
        var += w * w * pt * (1 - pt) / s.decided
    half = z * math.sqrt(var)
    return {
        "value": value,
        "low": max(0.0, value - half),
        "high": min(1.0, value + half),
        "covered": cover_pop / total,
    }


@dataclass(frozen=True, slots=True)
class Kappa:
    """Cohen's kappa with what a reader needs beside it: raw agreement, prevalence, and why it is missing."""

    n: int
    raw_agreement: float | None
    prevalence_a: float | None  # share of rater A's positive labels
    prevalence_b: float | None
    value: float | None
    why_undefined: str | None = None


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> Kappa:
    """Kappa between two raters' yes/no labels on the same items.

    Undefined (``value=None`` with a reason) when there are no items or when chance agreement is 1
    (both raters gave one and the same label to every item). When only one rater varies, kappa is 0
    whatever the agreement: ``why_undefined`` is left empty but the caller should say so.
    """
    n = len(pairs)
    if n == 0:
        return Kappa(0, None, None, None, None, "no item was labelled by both")
    both_yes = sum(1 for a, b in pairs if a and b)
    both_no = sum(1 for a, b in pairs if not a and not b)
    pa = sum(1 for a, _ in pairs if a) / n
    pb = sum(1 for _, b in pairs if b) / n
    po = (both_yes + both_no) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    if pe >= 1.0:
        return Kappa(n, po, pa, pb, None, "both raters gave every item the same label: chance agreement is 1")
    return Kappa(n, po, pa, pb, (po - pe) / (1 - pe))
