"""Curation: deduplication and benchmark decontamination.

* :func:`dedup` - exact and MinHash near-duplicates within a dataset, first row kept.
* :func:`decontaminate` / :func:`calculate_decontamination` - n-gram (and optional
  embedding + LLM-judge) overlap with evaluation benchmarks, per-row records and a
  per-benchmark report.
* :func:`load_benchmark` / :func:`register_benchmark` - the benchmark registry.
"""

from __future__ import annotations

from alignforge.curate._index import NgramIndex, build_index
from alignforge.curate._scan import ScanRules, scan_batch
from alignforge.curate.benchmarks import (
    DEFAULT_BENCHMARKS,
    BenchmarkItem,
    BenchmarkNotFound,
    benchmark_names,
    load_benchmark,
    register_benchmark,
)
from alignforge.curate.decontam import DecontamReport, calculate_decontamination, decontaminate
from alignforge.curate.dedup import DedupResult, dedup, iter_dedup

__all__ = [
    "BenchmarkItem",
    "BenchmarkNotFound",
    "DEFAULT_BENCHMARKS",
    "DecontamReport",
    "DedupResult",
    "NgramIndex",
    "ScanRules",
    "benchmark_names",
    "build_index",
    "calculate_decontamination",
    "decontaminate",
    "dedup",
    "iter_dedup",
    "load_benchmark",
    "register_benchmark",
    "scan_batch",
]
