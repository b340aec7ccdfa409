"""Pieces every kind's accumulator shares: row-level failures, mixes, histograms, decontamination flags.

Rows' ``contaminated`` flags are counted only as ``decontamination_claimed`` (what the file says
about itself); the ``decontamination`` figure a gate reads comes from a scan or a report.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

__all__ = [
    "FLAW_TARGET",
    "DOMAIN_TARGET",
    "Accumulator",
    "RowFailures",
    "histogram",
    "mix",
    "score_of",
    "decontam_flag",
]

FLAW_TARGET = {
    "oversimplified": 0.25,
    "risky_advice": 0.20,
    "incomplete": 0.20,
    "hallucinated": 0.15,
    "irrelevant": 0.10,
    "overconfident": 0.10,
}
DOMAIN_TARGET = {"math": 0.40, "code": 0.30, "domain": 0.20, "general": 0.10}
MAX_LINES_KEPT = 200


class RowFailures:
    """Per row-level gate: how many rows fail it (exact) and their first line numbers (capped)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lines: dict[str, list[int]] = {}

    def add(self, gate: str, line: int) -> None:
        self.counts[gate] = self.counts.get(gate, 0) + 1
        kept = self.lines.setdefault(gate, [])
        if len(kept) < MAX_LINES_KEPT:
            kept.append(line)

    def add_many(self, gate: str, lines: list[int]) -> None:
        self.counts[gate] = self.counts.get(gate, 0) + len(lines)
        kept = self.lines.setdefault(gate, [])
        kept.extend(lines[: max(0, MAX_LINES_KEPT - len(kept))])

    def merge(self, other: RowFailures, line_offset: int) -> None:
        for gate, n in other.counts.items():
            self.counts[gate] = self.counts.get(gate, 0) + n
            kept = self.lines.setdefault(gate, [])
            room = max(0, MAX_LINES_KEPT - len(kept))
            kept.extend(x + line_offset for x in other.lines.get(gate, [])[:room])

    def as_dict(self) -> dict[str, Any]:
        return {
            g: {"rows": self.counts[g], "first_lines": self.lines.get(g, [])} for g in sorted(self.counts)
        }


class Accumulator:
    """Base: ``add(line, row)`` per validated row, then ``finish()`` -> figures."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.rules = rules
        self.rows = 0
        self.failures = RowFailures()
        self.decontam_seen = 0
        self.decontam_clean = 0
        # Rows that fail a gate only known after the whole pass (duplicates, conflicts): exact, for --keep-passing.
        self.excluded_lines: set[int] = set()
        self.excluded_by: dict[str, set[int]] = {}  # gate -> lines (pair-level, from the whole file)

    def add(self, line: int, row: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def add_batch(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        for line, row in zip(lines, rows, strict=True):
            self.add(line, row)

    def finish(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def merge(self, other: Accumulator, line_offset: int) -> None:
        """Fold in the accumulator of the next byte range (its line numbers start after ``line_offset``)."""
        self.rows += other.rows
        self.failures.merge(other.failures, line_offset)
        self.decontam_seen += other.decontam_seen
        self.decontam_clean += other.decontam_clean
        self.excluded_lines.update(x + line_offset for x in other.excluded_lines)
        for gate, lines in other.excluded_by.items():
            self.excluded_by.setdefault(gate, set()).update(x + line_offset for x in lines)

    def cleanup(self) -> None:
        """Remove any temporary files (an accumulator abandoned before ``finish``)."""

    def note_decontam(self, row: dict[str, Any], meta: dict[str, Any]) -> None:
        flag = decontam_flag(row, meta)
        if flag is not None:
            self.decontam_seen += 1
            self.decontam_clean += not flag

    def common_figures(self) -> dict[str, Any]:
        seen = self.decontam_seen
        return {
            "rows": self.rows,
            "row_count": self.rows,
            # Measured only by a scan or a hash-bound report (check.py); rows' own flags never feed a gate.
            "decontamination": None,
            "decontamination_claimed": (self.decontam_clean / seen) if seen else None,
            "decontamination_claimed_rows": seen,
            "row_failures": self.failures.as_dict(),
        }


def histogram(bins: list[float], value: float) -> int:
    """Index of the bin ``value`` falls in (left-closed; clamped to the ends)."""
    i = bisect_right(bins, value) - 1
    return 0 if i < 0 else min(i, len(bins) - 1)


def mix(counts: dict[str, int], total: int) -> dict[str, float]:
    return {k: v / total for k, v in sorted(counts.items(), key=lambda kv: -kv[1])} if total else {}


def score_of(row: dict[str, Any], meta: dict[str, Any], name: str) -> float | None:
    value = row.get(name)
    if value is None:
        value = meta.get(name)
    return value


def decontam_flag(row: dict[str, Any], meta: dict[str, Any]) -> bool | None:
    """What the row claims: True contaminated, False clean, None no claim (informational only)."""
    value = meta.get("contaminated", row.get("contaminated"))
    return value if isinstance(value, bool) else None
