"""Recall per kind of copy and false positives on clean rows, on a labelled set built from real items."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from _curate_helpers import curate_cache, shared_index

from alignforge.curate import scan_batch
from alignforge.curate._labelled import CONTAMINATED_KINDS, labelled_set, recall_table
from alignforge.curate.benchmarks import load_benchmark

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


def test_near_misses_are_reported_apart_and_name_their_template(
    benchmarks_dir: Path, shared_index: Any
) -> None:
    rows = labelled_set(benchmarks_dir, per_kind=0, clean=0, near_miss=60, seed=5)
    assert len(rows) == 60 and {r["metadata"]["label"] for r in rows} == {"near_miss"}
    items = {it.id: it.question for it in load_benchmark("gsm8k", benchmark_dir=benchmarks_dir)}
    for row in rows:  # the numbers changed, the words did not
        original = items[row["metadata"]["item_id"]]
        assert row["prompt"] != original
        assert re.sub(r"\d", "", re.sub(r"\d+(?:[.,]\d+)*", "0", row["prompt"])) == re.sub(
            r"\d", "", re.sub(r"\d+(?:[.,]\d+)*", "0", original)
        )
    results = scan_batch(rows, shared_index)
    table = recall_table(rows, [bool(r) for r in results])
    print("near-miss flag rate", round(table["near_miss"]["rate"], 3))
    for row, res in zip(rows, results, strict=True):
        if res:  # a flagged near miss points at the very item whose template it copies
            assert row["metadata"]["item_id"] in {m["item_id"] for m in res}
