"""Curation: deduplication and benchmark decontamination.

* :func:`dedup` - exact and MinHash near-duplicates within a dataset, first row kept.
* :func:`decontaminate` / :func:`calculate_decontamination` - n-gram (and optional
  embedding + LLM-judge) overlap with evaluation benchmarks, per-row records and a
  per-benchmark report.
* :func:`load_benchmark` / :func:`register_benchmark` - the benchmark registry;
  :func:`default_benchmark_dir` (``$ALIGNFORGE_BENCHMARK_DIR``, else ``~/.cache/alignforge/benchmarks``),
  :func:`available_benchmarks`, :func:`import_benchmarks` (``alignforge benchmarks import DIR``).
"""

from __future__ import annotations

from alignforge.curate._index import NgramIndex, build_index
from alignforge.curate._scan import ScanRules, scan_batch
from alignforge.curate._store import import_benchmarks
from alignforge.curate.benchmarks import (
    DEFAULT_BENCHMARKS,
    BenchmarkItem,
    BenchmarkNotFound,
    available_benchmarks,
    benchmark_names,
    default_benchmark_dir,
    load_benchmark,
    register_benchmark,
)
from alignforge.curate.decontam import DecontamReport, StreamScan, calculate_decontamination, decontaminate
from alignforge.curate.dedup import DedupResult, dedup, iter_dedup

__all__ = [
    "BenchmarkItem",
    "BenchmarkNotFound",
    "DEFAULT_BENCHMARKS",
    "DecontamReport",
    "DedupResult",
    "NgramIndex",
    "ScanRules",
    "StreamScan",
    "available_benchmarks",
    "benchmark_names",
    "build_index",
    "calculate_decontamination",
    "decontaminate",
    "dedup",
    "default_benchmark_dir",
    "import_benchmarks",
    "iter_dedup",
    "load_benchmark",
    "register_benchmark",
    "scan_batch",
]
