"""DPO figures in one streaming pass.

Text is never held: each pair leaves a few 64-bit hashes in a :class:`PairHashStore`, which
spills them to hash-partitioned files past a fixed row count, so exact duplicate and
conflicting-preference detection runs in bounded memory. Everything else is running sums and
fixed-size histograms; the score sums are exact (:class:`ExactSum`), so every engine (row by
row, byte ranges merged, or the columnar scan of :mod:`alignforge.quality._columnar` through
:meth:`DPOAccumulator.add_columns`) gives the same figures to the bit.

A field given as null counts as missing: a score, ``flaw_type`` and ``strategy`` are the row's own
unless missing or null, then ``metadata``'s; ``contaminated`` is ``metadata``'s first.
"""

from __future__ import annotations

from typing import Any

import orjson

from alignforge.quality._common import (
    FLAW_TARGET,
    MAX_LINES_KEPT,
    Accumulator,
    ExactSum,
    mix,
    score_of,
)
from alignforge.quality._hashstore import PairHashStore

__all__ = ["DPOAccumulator", "pair_row_failures"]

_EMPTY: dict[str, Any] = {}
SCORE_BINS = [i * 0.5 for i in range(21)]  # 0.0, 0.5, ..., 10.0
GAP_BINS = [float(i) for i in range(-10, 11)]


def _key(value: Any) -> Any:
    return value if type(value) is str else orjson.dumps(value)


def _length(value: Any) -> int:
    return sum(len(m.get("content", "")) for m in value)


def same_text(a: Any, b: Any) -> bool:
    """``a`` equals ``b`` once runs of whitespace are one space and the ends are stripped (per message,
    roles compared too, for conversational values)."""
    if a == b:
        return True
    if type(a) is str and type(b) is str:
        # Counting a few letters is a C loop with no allocation: a cheap exact pre-check, since
        # normalising whitespace never changes them; most different texts stop here.
        return (
            a.count("e") == b.count("e")
            and a.count("t") == b.count("t")
            and a.count("o") == b.count("o")
            and a.split() == b.split()
        )
    if type(a) is list and type(b) is list and len(a) == len(b):
        return all(
            x.get("role") == y.get("role") and same_text(x.get("content", ""), y.get("content", ""))
            for x, y in zip(a, b, strict=True)
        )
    return False


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
    if rules.get("not_identical") and same_text(row["chosen"], row["rejected"]):
        fails.append("not_identical")
    return fails


class DPOAccumulator(Accumulator):
    def __init__(self, rules: dict[str, Any], *, flaw_target: dict[str, float] | None = None) -> None:
        super().__init__(rules)
        self.flaw_target = flaw_target or FLAW_TARGET
        self.engine = "rows"  # how the file was read: "columnar", "rows", or "rows (why not columnar)"
        self.store = PairHashStore()
        self.scored = 0
        self.sum_c, self.sum_r = ExactSum(), ExactSum()
        self.n_c_ok = self.n_r_ok = self.n_gap_ok = self.n_all_ok = 0
        self.hist_c = [0] * len(SCORE_BINS)
        self.hist_r = [0] * len(SCORE_BINS)
        self.hist_gap = [0] * len(GAP_BINS)
        self.identical = 0
        self.identical_lines: list[int] = []  # the first MAX_LINES_KEPT, for the report's warning
        self.len_c = self.len_r = 0
        self.chosen_longer = 0
        self.flaws: dict[str, int] = {}
        self.strategies: dict[str, int] = {}
        self.c_min = rules.get("chosen_score", {}).get("min", 9.0)
        self.r_max = rules.get("rejected_score", {}).get("max", 6.0)
        self.g_min = rules.get("score_gap", {}).get("min", 3.0)

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.rows += 1
        p, c, r = row["prompt"], row["chosen"], row["rejected"]
        standard = type(p) is str and type(c) is str and type(r) is str
        identical = same_text(c, r)
        if standard:
            lc, lr = len(c), len(r)
        else:
            lc, lr = _length(c) if type(c) is list else len(c), _length(r) if type(r) is list else len(r)
            p, c, r = _key(p), _key(c), _key(r)
        self.store.add(hash(p), hash((p, c, r)), None if c == r else hash((p, r, c)), line)
        self.len_c += lc
        self.len_r += lr
        if lc > lr:
            self.chosen_longer += 1
        meta = row.get("metadata") or _EMPTY
        fails = []
        if identical:
            self.identical += 1
            if len(self.identical_lines) < MAX_LINES_KEPT:
                self.identical_lines.append(line)
            if self.rules.get("not_identical"):
                fails.append("not_identical")
        cs = row.get("chosen_score")
        if cs is None:
            cs = meta.get("chosen_score")
        rs = row.get("rejected_score")
        if rs is None:
            rs = meta.get("rejected_score")
        if cs is not None and rs is not None:
            self.scored += 1
            gap = cs - rs
            self.sum_c.add(cs)
            self.sum_r.add(rs)
            # Bins are 0.5 wide on 0-10 (validated range) and 1 wide on -10..10.
            self.hist_c[int(cs * 2)] += 1
            self.hist_r[int(rs * 2)] += 1
            self.hist_gap[min(20, int(gap + 10.0))] += 1
            c_ok, r_ok, g_ok = cs >= self.c_min, rs <= self.r_max, gap >= self.g_min
            self.n_c_ok += c_ok
            self.n_r_ok += r_ok
            self.n_gap_ok += g_ok
            self.n_all_ok += c_ok and r_ok and g_ok
        else:  # each score gate judged on its own score, as pair_row_failures does; the gap needs both
            c_ok = cs is not None and cs >= self.c_min
            r_ok = rs is not None and rs <= self.r_max
            g_ok = False
        if not c_ok and "chosen_score" in self.rules:
            fails.append("chosen_score")
        if not r_ok and "rejected_score" in self.rules:
            fails.append("rejected_score")
        if not g_ok and "score_gap" in self.rules:
            fails.append("score_gap")
        flaw = row.get("flaw_type")
        if flaw is None:
            flaw = meta.get("flaw_type")
        if flaw is not None:
            self.flaws[flaw] = self.flaws.get(flaw, 0) + 1
        strategy = row.get("strategy")
        if strategy is None:
            strategy = meta.get("strategy")
        if strategy is not None:
            self.strategies[strategy] = self.strategies.get(strategy, 0) + 1
        self.note_decontam(row, meta)
        for name in fails:
            self.failures.add(name, line)

    def add_batch(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        """``add`` for many rows at once: list comprehensions instead of per-row attribute traffic."""
        ps = [r["prompt"] for r in rows]
        cs = [r["chosen"] for r in rows]
        rs = [r["rejected"] for r in rows]
        if set(map(type, ps)) | set(map(type, cs)) | set(map(type, rs)) != {str}:
            for line, row in zip(lines, rows, strict=True):
                self.add(line, row)
            return
        self.rows += len(rows)
        self.store.extend(
            [hash(p) for p in ps],
            [hash(t) for t in zip(ps, cs, rs, strict=True)],
            [hash((p, r, c)) for p, c, r in zip(ps, cs, rs, strict=True) if c != r],
            lines,
        )
        lc = [len(c) for c in cs]
        lr = [len(r) for r in rs]
        self.len_c += sum(lc)
        self.len_r += sum(lr)
        self.chosen_longer += sum([a > b for a, b in zip(lc, lr, strict=True)])
        metas = [r.get("metadata") or _EMPTY for r in rows]
        c_sc = [
            m.get("chosen_score") if (v := r.get("chosen_score")) is None else v
            for r, m in zip(rows, metas, strict=True)
        ]
        r_sc = [
            m.get("rejected_score") if (v := r.get("rejected_score")) is None else v
            for r, m in zip(rows, metas, strict=True)
        ]
        rules = self.rules
        identical = [i for i, (c, r) in enumerate(zip(cs, rs, strict=True)) if same_text(c, r)]
        self.identical += len(identical)
        room = MAX_LINES_KEPT - len(self.identical_lines)
        if identical and room > 0:
            self.identical_lines.extend(lines[i] for i in identical[:room])
        add_fail = self.failures.add
        if identical and rules.get("not_identical"):
            for i in identical:
                add_fail("not_identical", lines[i])
        c_min, r_max, g_min = self.c_min, self.r_max, self.g_min
        hist_c, hist_r, hist_g = self.hist_c, self.hist_r, self.hist_gap
        scored_c: list[float] = []
        scored_r: list[float] = []
        scored = n_c = n_r = n_g = n_a = 0
        check_c, check_r, check_g = "chosen_score" in rules, "rejected_score" in rules, "score_gap" in rules
        for i, (a, b) in enumerate(zip(c_sc, r_sc, strict=True)):
            if a is None or b is None:  # judged on its own score, as in add()
                c_ok = a is not None and a >= c_min
                r_ok = b is not None and b <= r_max
                g_ok = False
            else:
                scored += 1
                scored_c.append(a)
                scored_r.append(b)
                gap = a - b
                hist_c[int(a * 2)] += 1  # 0.5-wide bins on the validated 0-10 range
                hist_r[int(b * 2)] += 1
                hist_g[min(20, int(gap + 10.0))] += 1
                c_ok, r_ok, g_ok = a >= c_min, b <= r_max, gap >= g_min
                n_c += c_ok
                n_r += r_ok
                n_g += g_ok
                n_a += c_ok and r_ok and g_ok
            if not c_ok and check_c:
                add_fail("chosen_score", lines[i])
            if not r_ok and check_r:
                add_fail("rejected_score", lines[i])
            if not g_ok and check_g:
                add_fail("score_gap", lines[i])
        self.scored += scored
        self.sum_c.extend(scored_c)
        self.sum_r.extend(scored_r)
        self.n_c_ok += n_c
        self.n_r_ok += n_r
        self.n_gap_ok += n_g
        self.n_all_ok += n_a
        flaws, strategies = self.flaws, self.strategies
        for r, m in zip(rows, metas, strict=True):
            flaw = r.get("flaw_type")
            if flaw is None:
                flaw = m.get("flaw_type")
            if flaw is not None:
                flaws[flaw] = flaws.get(flaw, 0) + 1
            strategy = r.get("strategy")
            if strategy is None:
                strategy = m.get("strategy")
            if strategy is not None:
                strategies[strategy] = strategies.get(strategy, 0) + 1
            flag = m.get("contaminated")
            if flag is None:
                flag = r.get("contaminated")
            if flag is True or flag is False:
                self.decontam_seen += 1
                self.decontam_clean += not flag

    def add_columns(
        self,
        lines: Any,
        *,
        hashes: tuple[Any, Any, Any],
        len_c: Any,
        len_r: Any,
        identical: Any,
        cs: Any,
        rs: Any,
        flaws: list[tuple[Any, int]],
        strategies: list[tuple[Any, int]],
        claimed: tuple[int, int],
    ) -> None:
        """``add`` for a batch of validated standard-shape rows given as columns (numpy arrays).

        ``lines`` their line numbers; ``hashes`` the prompt, pair and reversed-pair hashes (the
        last for the rows whose chosen differs from rejected); ``len_c`` / ``len_r`` characters;
        ``identical`` the positions of pairs equal once whitespace is normalised; ``cs`` / ``rs``
        the scores, NaN where missing; ``flaws`` / ``strategies`` (value, rows) in order of first
        appearance; ``claimed`` (rows with a ``contaminated`` flag, of them clean).
        """
        import numpy as np

        rules, fail = self.rules, self.failures.add_lines
        self.rows += len(lines)
        self.store.extend_arrays(*hashes, lines)
        self.len_c += int(len_c.sum())
        self.len_r += int(len_r.sum())
        self.chosen_longer += int(np.count_nonzero(len_c > len_r))
        if len(identical):
            self.identical += len(identical)
            room = MAX_LINES_KEPT - len(self.identical_lines)
            if room > 0:
                self.identical_lines.extend(lines[identical[:room]].tolist())
            if rules.get("not_identical"):
                fail("not_identical", lines[identical])
        scored = ~(np.isnan(cs) | np.isnan(rs))
        a, b = cs[scored], rs[scored]
        gap = a - b
        # A half-scored pair is judged on the score it has (NaN compares false: a missing score fails).
        alone = {
            "chosen_score": (cs >= self.c_min) & ~scored,
            "rejected_score": (rs <= self.r_max) & ~scored,
            "score_gap": np.zeros(len(lines), dtype=bool),
        }
        self.scored += int(a.size)
        self.sum_c.extend(a)
        self.sum_r.extend(b)
        for hist, index in (
            (self.hist_c, (a * 2).astype(np.int64)),
            (self.hist_r, (b * 2).astype(np.int64)),
            (self.hist_gap, np.minimum(20, (gap + 10.0).astype(np.int64))),
        ):
            for i, k in enumerate(np.bincount(index, minlength=len(hist)).tolist()):
                hist[i] += k
        oks = []
        for gate, ok_scored in (
            ("chosen_score", a >= self.c_min),
            ("rejected_score", b <= self.r_max),
            ("score_gap", gap >= self.g_min),
        ):
            ok = alone[gate]
            ok[scored] = ok_scored
            oks.append(ok_scored)
            if gate in rules:
                fail(gate, lines[~ok])
        self.n_c_ok += int(np.count_nonzero(oks[0]))
        self.n_r_ok += int(np.count_nonzero(oks[1]))
        self.n_gap_ok += int(np.count_nonzero(oks[2]))
        self.n_all_ok += int(np.count_nonzero(oks[0] & oks[1] & oks[2]))
        for mine, theirs in ((self.flaws, flaws), (self.strategies, strategies)):
            for value, n in theirs:
                mine[value] = mine.get(value, 0) + n
        self.decontam_seen += claimed[0]
        self.decontam_clean += claimed[1]

    def cleanup(self) -> None:
        self.store.cleanup()

    def merge(self, other: Accumulator, line_offset: int) -> None:
        assert isinstance(other, DPOAccumulator)
        super().merge(other, line_offset)
        self.store.merge(other.store, line_offset)
        self.sum_c.merge(other.sum_c)
        self.sum_r.merge(other.sum_r)
        for name in (
            "scored",
            "n_c_ok",
            "n_r_ok",
            "n_gap_ok",
            "n_all_ok",
            "identical",
            "len_c",
            "len_r",
            "chosen_longer",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in (
            (self.hist_c, other.hist_c),
            (self.hist_r, other.hist_r),
            (self.hist_gap, other.hist_gap),
        ):
            for i, v in enumerate(theirs):
                mine[i] += v
        room = max(0, MAX_LINES_KEPT - len(self.identical_lines))
        self.identical_lines.extend(x + line_offset for x in other.identical_lines[:room])
        for mine_d, theirs_d in ((self.flaws, other.flaws), (self.strategies, other.strategies)):
            for k, v in theirs_d.items():
                mine_d[k] = mine_d.get(k, 0) + v

    def finish(self) -> dict[str, Any]:
        n = self.rows
        found = self.store.analyse()
        dup_lines, conflict_lines = found["dup_lines"], found["conflict_lines"]
        rules = self.rules
        if rules.get("unique"):
            self.failures.add_many("unique", dup_lines.tolist())
            self.excluded_lines.update(dup_lines.tolist())
            self.excluded_by["unique"] = set(dup_lines.tolist())
        if rules.get("no_conflict"):
            self.failures.add_many("no_conflict", conflict_lines.tolist())
            self.excluded_lines.update(conflict_lines.tolist())
            self.excluded_by["no_conflict"] = set(conflict_lines.tolist())
        scored = self.scored
        sum_c, sum_r = self.sum_c.exact(), self.sum_r.exact()
        flaw_total = sum(self.flaws.values())
        flaw_mix = mix(self.flaws, flaw_total)
        deviation = None
        if flaw_total:
            names = set(self.flaw_target) | set(flaw_mix)
            deviation = max(abs(flaw_mix.get(k, 0.0) - self.flaw_target.get(k, 0.0)) for k in names)
        out: dict[str, Any] = {
            "total_pairs": n,
            "unique_prompts": found["distinct_prompts"],
            "scored_pairs": scored,
            "score_coverage": scored / n if n else None,
            "avg_chosen": ExactSum.mean_of(sum_c, scored) if scored else None,
            "avg_rejected": ExactSum.mean_of(sum_r, scored) if scored else None,
            "avg_gap": ExactSum.mean_of(sum_c - sum_r, scored) if scored else None,
            "share_chosen_ge_min": self.n_c_ok / scored if scored else None,
            "share_rejected_le_max": self.n_r_ok / scored if scored else None,
            "share_gap_ge_min": self.n_gap_ok / scored if scored else None,
            "share_meeting_all": self.n_all_ok / scored if scored else None,
            "identical_pairs": self.identical,
            "identical_pair_lines": self.identical_lines,
            "duplicate_pairs": int(dup_lines.size),
            "conflicting_pairs": int(conflict_lines.size),
            "conflicting_prompts": found["conflict_prompts"],
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
            "scan_engine": self.engine,
        }
        out.update(self.common_figures())
        return out
