"""The n-gram scan: a pure function from a batch of rows to per-row contamination records.

Rules (see docs/curate.md for why):

* **n-gram coverage** - a row matches an item when its text holds at least ``coverage``
  (default 0.6, and at least two) of the distinct n-grams of the item's question, of its
  answer, or of the n-grams straddling question -> answer; or at least ``min_ngrams`` (default 20, a
  27-token verbatim run for n = 8) n-grams of one part, whatever its length.
* **short questions** - a question of fewer than ``n`` (and at least 3) tokens matches when
  a whole segment of a text field (a line, a sentence, a message) is that question, once
  a leading label such as ``Question:`` is dropped (a whole short field counts too, so a
  question broken over lines is caught). Inside a longer sentence it is not
  called: five common words are no evidence. It is also caught by the straddle n-grams
  when it is followed by its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alignforge.curate._index import PARTS, NgramIndex, window_hashes
from alignforge.curate._normalize import normalize, row_texts

__all__ = ["scan_batch", "scan_rows", "ScanRules"]

_LABELS = frozenset({"question", "q", "problem", "input", "prompt", "task", "query", "user", "instruction"})
_SPAN_CHARS = 300


class ScanRules:
    __slots__ = ("coverage", "min_ngrams")

    def __init__(self, *, coverage: float = 0.6, min_ngrams: int = 20) -> None:
        self.coverage = coverage
        self.min_ngrams = min_ngrams


def scan_batch(
    rows: Sequence[Any], index: NgramIndex, rules: ScanRules | None = None
) -> list[list[dict[str, Any]]]:
    """For each row, the list of its matches (empty = clean). Each match names benchmark, item, method, span."""
    return scan_rows(rows, index, rules)[0]


def scan_rows(
    rows: Sequence[Any], index: NgramIndex, rules: ScanRules | None = None
) -> tuple[list[list[dict[str, Any]]], list[bool]]:
    """:func:`scan_batch`, and for each row whether any text was scanned: a row with no token in
    its text fields (``{"query": ...}``, empty strings) has no match because nothing was read, and is
    not clean."""
    import numpy as np

    rules = rules or ScanRules()
    n = index.n
    get = index.vocab.get
    short = index.short
    short_chars = index.short_max_chars if short else 0
    ids: list[int] = []
    toks_all: list[str] = []
    row_starts: list[int] = []
    field_starts: list[int] = []
    field_names: list[str] = []
    found: list[dict[int, dict[str, Any]]] = [{} for _ in rows]
    for r, row in enumerate(rows):
        row_starts.append(len(ids))
        for fname, text in row_texts(row):
            norm = normalize(text)
            toks = norm.split()
            if not toks:
                continue
            field_starts.append(len(ids))
            field_names.append(fname)
            ids.extend([get(t, -1) for t in toks])
            toks_all.extend(toks)
            ids.append(-1)
            toks_all.append("")
            if short:
                # Each line / sentence, and the whole field (a short question broken over lines).
                segs = [s.split() for s in norm.split("\n") if len(s) <= short_chars]
                if len(toks) <= n and len(segs) > 1:
                    segs.append(toks)
                for st in segs:
                    if st and st[0] in _LABELS:
                        st = st[1:]
                    gids = short.get(tuple(st)) if len(st) < n else None
                    if gids:
                        for gid in gids:
                            found[r].setdefault(
                                gid,
                                _record(
                                    index,
                                    gid,
                                    "short_question",
                                    " ".join(st),
                                    fname,
                                    part="question",
                                    coverage=1.0,
                                ),
                            )
    ends = [*row_starts[1:], len(ids)]
    texted = [end > start for start, end in zip(row_starts, ends, strict=True)]
    if ids:
        _ngram_matches(
            np.asarray(ids, np.int64), toks_all, row_starts, field_starts, field_names, index, rules, found
        )
    return [list(f.values()) for f in found], texted


def _record(
    index: NgramIndex,
    gid: int,
    method: str,
    span: str,
    fname: str,
    *,
    part: str,
    coverage: float,
    ngrams: int | None = None,
) -> dict[str, Any]:
    bench, item_id = index.items[gid]
    rec: dict[str, Any] = {
        "benchmark": bench,
        "item_id": item_id,
        "method": method,
        "span": span[:_SPAN_CHARS],
        "field": fname,
        "part": part,
        "coverage": round(coverage, 3),
    }
    if ngrams is not None:
        rec["ngrams"] = ngrams
    return rec


def _ngram_matches(
    ids: Any,
    toks_all: list[str],
    row_starts: list[int],
    field_starts: list[int],
    field_names: list[str],
    index: NgramIndex,
    rules: ScanRules,
    found: list[dict[int, dict[str, Any]]],
) -> None:
    import numpy as np

    n = index.n
    h, valid = window_hashes(ids, n)
    pos = np.flatnonzero(valid)
    if not len(pos) or not len(index.hashes):
        return
    hv = h[pos]
    j = np.searchsorted(index.hashes, hv)
    np.minimum(j, len(index.hashes) - 1, out=j)
    hit = index.hashes[j] == hv
    if not hit.any():
        return
    pos, j = pos[hit], j[hit]
    rows_of = np.searchsorted(np.asarray(row_starts), pos, side="right") - 1
    # Expand each hit into its postings (item part codes).
    cnt = index.ptr[j + 1] - index.ptr[j]
    total = int(cnt.sum())
    offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(index.ptr[j], cnt)
    codes = index.postings[offs]
    r_pos, r_row, r_j = np.repeat(pos, cnt), np.repeat(rows_of, cnt), np.repeat(j, cnt)
    ncodes = len(index.part_sizes)
    key = r_row.astype(np.int64) * ncodes + codes
    # Distinct n-grams per (row, part): a phrase repeated in a row counts once.
    pair = np.unique(key * len(index.hashes) + r_j)
    kk, counts = np.unique(pair // len(index.hashes), return_counts=True)
    sizes = index.part_sizes[kk % ncodes]
    cover = counts / np.maximum(sizes, 1)
    # Two matched n-grams at least (one when the part has only one): a single 8-gram shared with a
    # 9-token question is a shared phrase, not a copy.
    flagged = ((cover >= rules.coverage) & (counts >= np.minimum(sizes, 2))) | (counts >= rules.min_ngrams)
    if not flagged.any():
        return
    order = np.argsort(key, kind="stable")
    skey, spos = key[order], r_pos[order]
    uk, first = np.unique(skey, return_index=True)
    lo = np.minimum.reduceat(spos, first)
    hi = np.maximum.reduceat(spos, first)
    where = np.searchsorted(uk, kk[flagged])
    fs = np.asarray(field_starts)
    cands: dict[int, list[tuple[float, int, int, int, int, int]]] = {}
    for k, c, cov, w in zip(
        kk[flagged].tolist(), counts[flagged].tolist(), cover[flagged].tolist(), where.tolist(), strict=True
    ):
        row, code = divmod(k, ncodes)
        gid, part = divmod(code, 3)
        cands.setdefault(row, []).append((min(cov, 1.0), c, gid, part, int(lo[w]), int(hi[w]) + n))
    for row, lst in cands.items():
        # Explain away: where matches share a span, the best-covered item is the one copied
        # (MBPP alone has "perimeter of a square" and "... of a pentagon").
        lst.sort(key=lambda x: (-x[0], -x[1]))
        kept: list[tuple[int, int]] = []
        for cov, c, gid, part, a, b in lst:
            if any(min(b, y) - max(a, x) > 0.5 * min(b - a, y - x) for x, y in kept):
                continue
            kept.append((a, b))
            prev = found[row].get(gid)
            if prev is None or prev["method"] != "ngram" or prev.get("ngrams", 0) < c:
                fname = field_names[int(np.searchsorted(fs, a, side="right")) - 1]
                found[row][gid] = _record(
                    index,
                    gid,
                    "ngram",
                    " ".join(toks_all[a:b]),
                    fname,
                    part=PARTS[part],
                    coverage=cov,
                    ngrams=c,
                )
