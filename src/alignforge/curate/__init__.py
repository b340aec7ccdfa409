"""Curation: deduplication and benchmark decontamination.

* :func:`dedup` - exact and MinHash near-duplicates within a dataset, first row kept;
  :func:`dedup_file` runs it on a file as the ``dedup`` stage (:class:`DedupStage`).
* :func:`decontaminate` / :func:`calculate_decontamination` - n-gram (and optional
  embedding + LLM-judge) overlap with evaluation benchmarks, per-row records and a
  per-benchmark report; :func:`decontaminate_file` runs it on a file as the ``decontaminate``
  stage (:class:`DecontaminateStage`).
* :func:`load_benchmark` / :func:`register_benchmark` - the benchmark registry;
  :func:`default_benchmark_dir` (``$ALIGNFORGE_BENCHMARK_DIR``, else ``~/.cache/alignforge/benchmarks``),
  :func:`resolve_benchmark_dir`, :func:`available_benchmarks`, :func:`benchmark_table`,
  :func:`import_benchmarks` (``alignforge benchmarks import DIR``).

Dropped rows carry ``metadata.drop_reasons`` (``exact_duplicate``, ``near_duplicate``,
``contamination``), in ``out.dropped.jsonl`` by default (:mod:`alignforge.stages`).
"""

from __future__ import annotations

from alignforge.curate._index import NgramIndex, build_index
from alignforge.curate._scan import ScanRules, scan_batch
from alignforge.curate._store import benchmark_table, import_benchmarks
from alignforge.curate.benchmarks import (
    DEFAULT_BENCHMARKS,
    BenchmarkItem,
    BenchmarkNotFound,
    available_benchmarks,
    benchmark_names,
    default_benchmark_dir,
    load_benchmark,
    register_benchmark,
    resolve_benchmark_dir,
)
from alignforge.curate.decontam import DecontamReport, StreamScan, calculate_decontamination, decontaminate
from alignforge.curate.dedup import DedupResult, dedup, iter_dedup
from alignforge.curate.stage import DecontaminateStage, DedupStage, decontaminate_file, dedup_file

__all__ = [
    "BenchmarkItem",
    "BenchmarkNotFound",
    "DEFAULT_BENCHMARKS",
    "DecontamReport",
    "DecontaminateStage",
    "DedupResult",
    "DedupStage",
    "NgramIndex",
    "ScanRules",
    "StreamScan",
    "available_benchmarks",
    "benchmark_names",
    "benchmark_table",
    "build_index",
    "calculate_decontamination",
    "decontaminate",
    "decontaminate_file",
    "dedup",
    "dedup_file",
    "default_benchmark_dir",
    "import_benchmarks",
    "iter_dedup",
    "load_benchmark",
    "register_benchmark",
    "resolve_benchmark_dir",
    "scan_batch",
]
