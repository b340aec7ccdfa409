"""DPO figures in one streaming pass.

Text is never held: each pair keeps four 8-byte numbers (prompt hash, pair hash, reversed
pair hash, line), about 32 bytes a row, which is what exact duplicate and conflicting-preference
detection needs. Everything else is running sums and fixed-size histograms.
"""

from __future__ import annotations

from array import array
from typing import Any

import orjson

from alignforge.quality._common import (
    FLAW_TARGET,
    Accumulator,
    histogram,
    mix,
    score_of,
)

__all__ = ["DPOAccumulator", "pair_row_failures"]

SCORE_BINS = [i * 0.5 for i in range(21)]  # 0.0, 0.5, ..., 10.0
GAP_BINS = [float(i) for i in range(-10, 11)]


def _key(value: Any) -> Any:
    return value if type(value) is str else orjson.dumps(value)


def _length(value: Any) -> int:
    if type(value) is str:
        return len(value)
    return sum(len(m.get("content", "")) for m in value)


def pair_row_failures(row: dict[str, Any], rules: dict[str, Any]) -> list[str]:
    """Names of the row-level gates this pair fails (``rules`` holds min/max per score gate)."""
    meta = row.get("metadata") or {}
    fails = []
    cs = score_of(row, meta, "chosen_score")
    rs = score_of(row, meta, "rejected_score")
    rule = rules.get("chosen_score")
    if rule and (cs is None or cs < rule.get("min", float("-inf"))):
        fails.append("chosen_score")
    rule = rules.get("rejected_score")
    if rule and (rs is None or rs > rule.get("max", float("inf"))):
        fails.append("rejected_score")
    rule = rules.get("score_gap")
    if rule and (cs is None or rs is None or cs - rs < rule.get("min", float("-inf"))):
        fails.append("score_gap")
    if rules.get("not_identical") and _key(row["chosen"]) == _key(row["rejected"]):
        fails.append("not_identical")
    return fails


class DPOAccumulator(Accumulator):
    def __init__(self, rules: dict[str, Any], *, flaw_target: dict[str, float] | None = None) -> None:
        super().__init__(rules)
        self.flaw_target = flaw_target or FLAW_TARGET
        self.hp = array("q")
        self.hf = array("q")
        self.hr = array("q")
        self.lines = array("q")
        self.scored = 0
        self.sum_c = self.sum_r = self.sum_gap = 0.0
        self.n_c_ok = self.n_r_ok = self.n_gap_ok = 0
        self.hist_c = [0] * len(SCORE_BINS)
        self.hist_r = [0] * len(SCORE_BINS)
        self.hist_gap = [0] * len(GAP_BINS)
        self.identical = 0
        self.len_c = self.len_r = 0
        self.chosen_longer = 0
        self.flaws: dict[str, int] = {}
        self.strategies: dict[str, int] = {}
        self.c_min = rules.get("chosen_score", {}).get("min", 9.0)
        self.r_max = rules.get("rejected_score", {}).get("max", 6.0)
        self.g_min = rules.get("score_gap", {}).get("min", 3.0)

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.rows += 1
        p, c, r = _key(row["prompt"]), _key(row["chosen"]), _key(row["rejected"])
        self.hp.append(hash(p))
        self.hf.append(hash((p, c, r)))
        self.hr.append(hash((p, r, c)))
        self.lines.append(line)
        lc, lr = _length(row["chosen"]), _length(row["rejected"])
        self.len_c += lc
        self.len_r += lr
        if lc > lr:
            self.chosen_longer += 1
        meta = row.get("metadata") or {}
        fails = []
        if c == r:
            self.identical += 1
            if self.rules.get("not_identical"):
                fails.append("not_identical")
        cs = score_of(row, meta, "chosen_score")
        rs = score_of(row, meta, "rejected_score")
        if cs is not None and rs is not None:
            self.scored += 1
            gap = cs - rs
            self.sum_c += cs
            self.sum_r += rs
            self.sum_gap += gap
            self.hist_c[histogram(SCORE_BINS, cs)] += 1
            self.hist_r[histogram(SCORE_BINS, rs)] += 1
            self.hist_gap[histogram(GAP_BINS, gap)] += 1
            c_ok, r_ok, g_ok = cs >= self.c_min, rs <= self.r_max, gap >= self.g_min
            self.n_c_ok += c_ok
            self.n_r_ok += r_ok
            self.n_gap_ok += g_ok
        else:
            c_ok = r_ok = g_ok = False
        if not c_ok and "chosen_score" in self.rules:
            fails.append("chosen_score")
        if not r_ok and "rejected_score" in self.rules:
            fails.append("rejected_score")
        if not g_ok and "score_gap" in self.rules:
            fails.append("score_gap")
        flaw = row.get("flaw_type", meta.get("flaw_type"))
        if flaw is not None:
            self.flaws[flaw] = self.flaws.get(flaw, 0) + 1
        strategy = row.get("strategy", meta.get("strategy"))
        if strategy is not None:
            self.strategies[strategy] = self.strategies.get(strategy, 0) + 1
        self.note_decontam(row, meta)
        for name in fails:
            self.failures.add(name, line)

    def finish(self) -> dict[str, Any]:
        import numpy as np

        n = self.rows
        hp = np.frombuffer(self.hp, dtype=np.int64)
        hf = np.frombuffer(self.hf, dtype=np.int64)
        hr = np.frombuffer(self.hr, dtype=np.int64)
        lines = np.frombuffer(self.lines, dtype=np.int64)
        # Exact duplicate pairs: every occurrence after the first.
        order = np.argsort(hf, kind="stable")
        sorted_hf = hf[order]
        dup_sorted = np.zeros(n, dtype=bool)
        if n > 1:
            dup_sorted[1:] = sorted_hf[1:] == sorted_hf[:-1]
        dup_lines = np.sort(lines[order][dup_sorted])
        # Conflicts: A>B in one row and B>A in another (identical pairs are their own reverse).
        conflict = np.isin(hf, hr) & (hf != hr)
        conflict_lines = lines[conflict]
        rules = self.rules
        if rules.get("unique"):
            self.failures.add_many("unique", dup_lines.tolist())
            self.excluded_lines.update(dup_lines.tolist())
        if rules.get("no_conflict"):
            self.failures.add_many("no_conflict", conflict_lines.tolist())
            self.excluded_lines.update(conflict_lines.tolist())
        scored = self.scored
        flaw_total = sum(self.flaws.values())
        flaw_mix = mix(self.flaws, flaw_total)
        deviation = None
        if flaw_total:
            names = set(self.flaw_target) | set(flaw_mix)
            deviation = max(abs(flaw_mix.get(k, 0.0) - self.flaw_target.get(k, 0.0)) for k in names)
        out: dict[str, Any] = {
            "total_pairs": n,
            "unique_prompts": int(np.unique(hp).size),
            "scored_pairs": scored,
            "score_coverage": scored / n if n else None,
            "avg_chosen": self.sum_c / scored if scored else None,
            "avg_rejected": self.sum_r / scored if scored else None,
            "avg_gap": self.sum_gap / scored if scored else None,
            "share_chosen_ge_min": self.n_c_ok / scored if scored else None,
            "share_rejected_le_max": self.n_r_ok / scored if scored else None,
            "share_gap_ge_min": self.n_gap_ok / scored if scored else None,
            "identical_pairs": self.identical,
            "duplicate_pairs": int(dup_lines.size),
            "conflicting_pairs": int(conflict_lines.size),
            "conflicting_prompts": int(np.unique(hp[conflict]).size),
            "avg_chosen_chars": self.len_c / n if n else None,
            "avg_rejected_chars": self.len_r / n if n else None,
            "length_ratio": (self.len_c / self.len_r) if self.len_r else None,
            "share_chosen_longer": self.chosen_longer / n if n else None,
            "flaw_mix": flaw_mix,
            "flaw_mix_target": dict(self.flaw_target),
            "flaw_mix_max_deviation": deviation,
            "flaw_labelled_pairs": flaw_total,
            "strategy_mix": mix(self.strategies, sum(self.strategies.values())),
            "histograms": {
                "chosen_score": {"bins": SCORE_BINS, "counts": self.hist_c},
                "rejected_score": {"bins": SCORE_BINS, "counts": self.hist_r},
                "score_gap": {"bins": GAP_BINS, "counts": self.hist_gap},
            },
            "thresholds": {"chosen_min": self.c_min, "rejected_max": self.r_max, "gap_min": self.g_min},
        }
        out.update(self.common_figures())
        return out
