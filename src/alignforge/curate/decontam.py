"""Benchmark decontamination: n-gram scan (+ optional embeddings and LLM judge), report, gates.

``decontaminate`` streams rows in batches through :func:`scan_batch` (a pure function,
so ``executor="ray"`` can run it on Ray Data), writes the clean / removed / annotated
rows, and returns a :class:`DecontamReport`. Gates: decontamination score (share of
clean rows) >= 0.9 and no benchmark with more than 2 % of its items overlapped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.curate._index import NgramIndex, build_index
from alignforge.curate._scan import ScanRules, scan_batch
from alignforge.io import DataError, JsonlWriter, iter_jsonl

__all__ = [
    "DecontamReport",
    "decontaminate",
    "calculate_decontamination",
    "parse_against",
    "MIN_SCORE",
    "MAX_SHARE",
]

MIN_SCORE = 0.9
MAX_SHARE = 0.02


@dataclass
class DecontamReport:
    """Counts, per-benchmark overlap and the removed rows of one decontamination run."""

    rows: int = 0
    clean_rows: int = 0
    n: int = 8
    per_benchmark: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, Any] = field(default_factory=dict)
    removed: list[dict[str, Any]] = field(default_factory=list)
    min_score: float = MIN_SCORE
    max_share: float = MAX_SHARE
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def contaminated_rows(self) -> int:
        return self.rows - self.clean_rows

    @property
    def decontamination_score(self) -> float:
        """Share of rows with no detected overlap (1.0 for an empty input: nothing leaked)."""
        return self.clean_rows / self.rows if self.rows else 1.0

    @property
    def max_benchmark_share(self) -> float:
        return max((b["share"] for b in self.per_benchmark.values()), default=0.0)

    @property
    def gates(self) -> dict[str, dict[str, Any]]:
        score, share = self.decontamination_score, self.max_benchmark_share
        return {
            "decontamination_score": {
                "value": score,
                "min": self.min_score,
                "passed": score >= self.min_score,
            },
            "max_benchmark_share": {"value": share, "max": self.max_share, "passed": share <= self.max_share},
        }

    @property
    def passed(self) -> bool:
        return all(g["passed"] for g in self.gates.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "decontamination_score": self.decontamination_score,
            "rows": self.rows,
            "clean_rows": self.clean_rows,
            "contaminated_rows": self.contaminated_rows,
            "n": self.n,
            "per_benchmark": self.per_benchmark,
            "max_benchmark_share": self.max_benchmark_share,
            "gates": self.gates,
            "passed": self.passed,
            "methods": self.methods,
            "timings_s": self.timings,
            "removed": self.removed,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
        tmp.write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2))
        os.replace(tmp, p)


def parse_against(against: str | Sequence[str]) -> list[str]:
    names = against.split(",") if isinstance(against, str) else list(against)
    names = [x.strip() for x in names if x and x.strip()]
    if not names:
        raise DataError("--against", None, "name at least one benchmark")
    return names


def _iter_rows(rows_or_path: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(rows_or_path, str | os.PathLike):
        path = rows_or_path
        for line, obj in iter_jsonl(path):
            if not isinstance(obj, dict):
                raise DataError(path, line, f"expected a JSON object per line, got {type(obj).__name__}")
            yield line, obj
    else:
        for i, obj in enumerate(rows_or_path, 1):
            if not isinstance(obj, dict):
                raise DataError("<rows>", i, f"expected a dict per row, got {type(obj).__name__}")
            yield i, obj


def _batches(
    it: Iterable[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    for x in it:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Outputs:
    """Clean / removed / annotated files, written to temporary names and renamed when complete."""

    def __init__(self, **paths: str | os.PathLike[str] | None) -> None:
        self._w: dict[str, tuple[JsonlWriter, Path, Path]] = {}
        for name, p in paths.items():
            if p is not None:
                final = Path(p)
                tmp = final.with_name(f".{final.name}.tmp{os.getpid()}")
                self._w[name] = (JsonlWriter(tmp, append=False), tmp, final)

    def write(self, name: str, row: dict[str, Any]) -> None:
        if name in self._w:
            self._w[name][0].write(row)

    def close(self, *, commit: bool) -> None:
        for w, tmp, final in self._w.values():
            w.close()
            if commit:
                os.replace(tmp, final)
            else:
                tmp.unlink(missing_ok=True)


def decontaminate(
    rows_or_path: Any,
    *,
    against: str | Sequence[str],
    benchmark_dir: str | os.PathLike[str] | None = None,
    n: int = 8,
    embeddings: bool = False,
    embedding_threshold: float | None = None,
    judge: Any = None,
    out: str | os.PathLike[str] | None = None,
    removed: str | os.PathLike[str] | None = None,
    annotate: str | os.PathLike[str] | None = None,
    rules: ScanRules | None = None,
    executor: str = "local",
    batch_size: int = 4096,
    index: NgramIndex | None = None,
    use_cache: bool = True,
) -> DecontamReport:
    """Scan rows (a JSONL path or an iterable of dicts) against benchmarks; see the module docstring.

    ``judge`` (an :class:`alignforge.llm.base.LLM`) reviews borderline embedding matches;
    an unanswered review keeps the row flagged. A missing benchmark raises
    :class:`~alignforge.curate.benchmarks.BenchmarkNotFound`.
    """
    names = parse_against(against)
    rules = rules or ScanRules()
    t0 = time.perf_counter()
    idx = index or build_index(names, benchmark_dir=benchmark_dir, n=n, use_cache=use_cache)
    report = DecontamReport(n=idx.n)
    report.timings["index_s"] = round(idx.build_s if index is None else 0.0, 3)
    report.methods["ngram"] = {
        "n": idx.n,
        "coverage": rules.coverage,
        "min_ngrams": rules.min_ngrams,
        "max_df": idx.max_df,
        "index_cached": idx.cached,
        "rows": 0,
    }
    report.methods["short_question"] = {
        "min_tokens": 3,
        "max_tokens": idx.n - 1,
        "questions": len(idx.short),
        "rows": 0,
    }
    embedder = None
    if embeddings:
        from alignforge.curate.embed import EmbeddingMatcher

        embedder = EmbeddingMatcher(
            names, benchmark_dir=benchmark_dir, threshold=embedding_threshold, judge=judge
        )
        report.methods["embedding"] = embedder.describe()
    overlapped: dict[str, set[str]] = {b: set() for b in idx.benchmarks}
    outputs = _Outputs(out=out, removed=removed, annotate=annotate)
    t1 = time.perf_counter()
    ok = False
    try:
        for batch in _run(_batches(_iter_rows(rows_or_path), batch_size), idx, rules, executor):
            rows = [r for _, (_, r) in batch]
            if embedder is not None:
                extra = embedder.scan(rows)
                for (matches, _), more in zip(batch, extra, strict=True):
                    matches.extend(more)
            for matches, (line, row) in batch:
                report.rows += 1
                meta = dict(row.get("metadata") or {})
                meta["contaminated"] = bool(matches)
                if matches:
                    meta["contamination"] = matches
                    for m in matches:
                        overlapped.setdefault(m["benchmark"], set()).add(m["item_id"])
                    for key in {m["method"] for m in matches}:
                        entry = report.methods.setdefault(key, {})
                        entry["rows"] = entry.get("rows", 0) + 1
                    report.removed.append({"row": report.rows, "line": line, "contamination": matches})
                    outputs.write("removed", {**row, "metadata": meta})
                else:
                    report.clean_rows += 1
                    outputs.write("out", row)
                outputs.write("annotate", {**row, "metadata": meta})
        ok = True
    finally:
        outputs.close(commit=ok)
    if embedder is not None:
        report.methods["embedding"].update(embedder.stats)
    report.timings["scan_s"] = round(time.perf_counter() - t1, 3)
    report.timings["total_s"] = round(time.perf_counter() - t0, 3)
    for bench, items in sorted(idx.benchmarks.items()):
        hit = len(overlapped.get(bench, ()))
        report.per_benchmark[bench] = {
            "items": items,
            "overlapped_items": hit,
            "share": hit / items if items else 0.0,
        }
    return report


def _run(
    batches: Iterator[list[tuple[int, dict[str, Any]]]], idx: NgramIndex, rules: ScanRules, executor: str
) -> Iterator[list[tuple[list[dict[str, Any]], tuple[int, dict[str, Any]]]]]:
    if executor == "local":
        for b in batches:
            res = scan_batch([r for _, r in b], idx, rules)
            yield list(zip(res, b, strict=True))
    elif executor == "ray":
        from alignforge.curate._ray import ray_scan

        yield from ray_scan(batches, idx, rules)
    else:
        raise DataError("--executor", None, f"unknown executor '{executor}': use local or ray")


def calculate_decontamination(
    training_data: Path | str,
    eval_benchmarks: list[str],
    *,
    benchmark_dir: str | os.PathLike[str] | None = None,
    n: int = 8,
) -> float:
    """Share of training rows with no detected benchmark overlap (the seed's API; gate >= 0.9)."""
    return decontaminate(
        training_data, against=eval_benchmarks, benchmark_dir=benchmark_dir, n=n
    ).decontamination_score
