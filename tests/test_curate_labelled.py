"""Recall per kind of copy and false positives on clean rows, on a labelled set built from real items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _curate_helpers import curate_cache, shared_index

from alignforge.curate import scan_batch
from alignforge.curate._labelled import CONTAMINATED_KINDS, labelled_set, recall_table

__all__ = ["curate_cache", "shared_index"]


def test_labelled_set_is_deterministic(benchmarks_dir: Path) -> None:
    a = labelled_set(benchmarks_dir, per_kind=3, clean=10, seed=7)
    b = labelled_set(benchmarks_dir, per_kind=3, clean=10, seed=7)
    c = labelled_set(benchmarks_dir, per_kind=3, clean=10, seed=8)
    assert a == b and a != c
    assert {r["metadata"]["label"] for r in a} == {*CONTAMINATED_KINDS, "clean"}


def test_recall_per_kind_and_false_positives(benchmarks_dir: Path, shared_index: Any) -> None:
    rows = labelled_set(benchmarks_dir, per_kind=30, clean=400, seed=3)
    results = scan_batch(rows, shared_index)
    table = recall_table(rows, [bool(r) for r in results])
    print({k: round(v["rate"], 3) for k, v in sorted(table.items())})
    for kind in ("verbatim", "prompt_only", "embedded"):
        assert table[kind]["rate"] == 1.0, (kind, table[kind])
    assert table["reformatted"]["rate"] >= 0.98
    assert table["paraphrased"]["rate"] >= 0.3  # n-grams alone; --embeddings covers the rest
    assert table["clean"]["rate"] <= 0.01
    # a flagged contaminated row names the item it was built from
    for row, res in zip(rows, results, strict=True):
        meta = row["metadata"]
        if meta["label"] in ("verbatim", "prompt_only", "embedded") and res:
            assert meta["item_id"] in {m["item_id"] for m in res}, (meta, res)
