"""Pieces every kind's accumulator shares: row-level failures, mixes, histograms, decontamination flags.

Rows' ``contaminated`` flags are counted only as ``decontamination_claimed`` (what the file says
about itself); the ``decontamination`` figure a gate reads comes from a scan or a report.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from alignforge.flaws import FLAW_MIX

__all__ = [
    "FLAW_TARGET",
    "DOMAIN_TARGET",
    "Accumulator",
    "ExactSum",
    "RowFailures",
    "histogram",
    "mix",
    "score_of",
    "decontam_flag",
]

FLAW_TARGET = FLAW_MIX  # the one flaw taxonomy (alignforge.flaws), also what generate dpo plans
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

    def add_lines(self, gate: str, lines: Any) -> None:
        """:meth:`add_many` for a numpy array of line numbers (only the kept ones become a list)."""
        n = len(lines)
        if not n:
            return
        self.counts[gate] = self.counts.get(gate, 0) + n
        kept = self.lines.setdefault(gate, [])
        if len(kept) < MAX_LINES_KEPT:
            kept.extend(lines[: MAX_LINES_KEPT - len(kept)].tolist())

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
    """What the row claims: True contaminated, False clean, None no claim (informational only).

    ``metadata.contaminated`` unless it is missing or null, then the row's own ``contaminated``
    (a null says nothing, as for scores: :func:`score_of`)."""
    value = meta.get("contaminated")
    if value is None:
        value = row.get("contaminated")
    return value if isinstance(value, bool) else None


class ExactSum:
    """A sum of finite floats held exactly, as an integer count of 2**-1074 (the smallest double).

    A float sum rounds at every step, so its last bits depend on the order and the grouping of
    the rows: the sequential scan, the parallel one (ranges merged) and the columnar one
    (batches) would give averages a few ulps apart. Held exactly, every engine gives the same
    average, correctly rounded. Values are added a batch at a time (numpy), grouped by binary
    exponent: a few integer additions per batch, not per row.
    """

    __slots__ = ("total", "_pending")

    SCALE = 1074  # 2**-1074 is the smallest subnormal: every finite double is an integer multiple of it

    def __init__(self) -> None:
        self.total = 0
        self._pending: list[float] = []

    def add(self, value: float) -> None:
        self._pending.append(value)
        if len(self._pending) >= 4096:
            self._flush()

    def extend(self, values: Any) -> None:
        """Add a list or a numpy array of finite floats (ints are taken as floats)."""
        import numpy as np

        arr = np.asarray(values, dtype=np.float64)
        if not arr.size:
            return
        mant, exp = np.frexp(arr)  # arr = mant * 2**exp, 0.5 <= |mant| < 1: mant * 2**53 is an integer
        m = (mant * 9007199254740992.0).astype(np.int64)
        shift = exp.astype(np.int64) + (self.SCALE - 53)  # value = m * 2**(exp - 53) = m << shift units
        low = int(shift.min())
        idx = shift - low
        # Halves of 26 bits: a batch's per-exponent sums stay exact in float64 (below 2**53).
        hi = np.bincount(idx, weights=m >> 26)
        lo = np.bincount(idx, weights=m & ((1 << 26) - 1))
        total = 0
        for i in np.flatnonzero(hi.astype(bool) | lo.astype(bool)).tolist():
            part = (int(hi[i]) << 26) + int(lo[i])
            s = low + i
            # A negative shift only occurs for subnormals, whose low bits are zero: exact.
            total += part << s if s >= 0 else part >> -s
        self.total += total

    def _flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self.extend(pending)

    def merge(self, other: ExactSum) -> None:
        other._flush()
        self.total += other.total

    def exact(self) -> int:
        """The sum in units of 2**-1074."""
        self._flush()
        return self.total

    @classmethod
    def mean_of(cls, total: int, n: int) -> float:
        """``total`` (units of 2**-1074) over ``n``, correctly rounded (int / int is, in Python)."""
        return total / (n << cls.SCALE)
