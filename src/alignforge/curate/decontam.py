"""Benchmark decontamination: n-gram scan (+ optional embeddings and LLM judge), report, gates.

``decontaminate`` streams rows in batches through :func:`scan_batch` (a pure function,
so ``executor="ray"`` can run it on Ray Data), writes the clean / removed / annotated
rows (a removed row carries ``metadata.drop_reasons``: one ``contamination`` entry per match,
its detail the match), and returns a :class:`DecontamReport`. A row none of whose text fields holds
text (``{"query": ...}``) is *unscanned*: kept, counted on its own, never clean. Gates:
decontamination score (share of clean rows) >= 0.9 and no benchmark with more than 2 % of its items
overlapped. The ``decontaminate`` stage (:class:`alignforge.curate.stage.DecontaminateStage`) runs
it on files (JSONL or Parquet) under the stage contract.

The report binds its figures to the bytes they were measured on: ``scanned`` holds the
sha256 of the input (hashed while it streams) and ``output`` that of the clean file, with
the figures of that file counted as it is written. ``check --decontam-report`` accepts the
report only for a file with one of those hashes. :class:`StreamScan` is the same scan for
rows someone else reads (``check --against``).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge._io_parquet import _is_parquet, _iter_parquet_raw
from alignforge.curate._index import NgramIndex, build_index
from alignforge.curate._outputs import AtomicOutputs
from alignforge.curate._scan import ScanRules, scan_rows
from alignforge.io import DataError, iter_jsonl
from alignforge.stages.sidefiles import add_drop_reason

__all__ = [
    "DecontamReport",
    "OverlapTally",
    "StreamScan",
    "decontaminate",
    "calculate_decontamination",
    "parse_against",
    "dropped_row",
    "CONTAMINATION",
    "MIN_SCORE",
    "MAX_SHARE",
]

CONTAMINATION = "contamination"  # the drop reason of a row that overlaps a benchmark
MIN_SCORE = 0.9
MAX_SHARE = 0.02
REPORT_VERSION = 2  # 2: `scanned` / `output` carry the sha256 of the files the figures belong to
_FIRST_LINES = 200


class OverlapTally:
    """Exact counts of one scan: rows, clean, contaminated and unscanned rows, overlapped items per
    benchmark, rows per method.

    A row with no match is clean only when text was scanned (``texted``); one with no text in the
    fields the scan reads is *unscanned*, which the score does not count as clean. Holds no index, so
    a worker process can return it to be merged.
    """

    def __init__(self, benchmarks: dict[str, int]) -> None:
        self.benchmarks = dict(benchmarks)  # name -> number of items
        self.rows = 0
        self.clean_rows = 0
        self.unscanned_rows = 0
        self.overlapped: dict[str, set[str]] = {b: set() for b in benchmarks}
        self.method_rows: dict[str, int] = {}
        self.first_lines: list[int] = []  # of contaminated rows, capped
        self.unscanned_lines: list[int] = []  # of unscanned rows, capped

    def add(self, line: int, matches: list[dict[str, Any]], *, texted: bool = True) -> None:
        self.rows += 1
        if not matches:
            if texted:
                self.clean_rows += 1
            else:
                self.unscanned_rows += 1
                if len(self.unscanned_lines) < _FIRST_LINES:
                    self.unscanned_lines.append(line)
            return
        if len(self.first_lines) < _FIRST_LINES:
            self.first_lines.append(line)
        for m in matches:
            self.overlapped.setdefault(m["benchmark"], set()).add(m["item_id"])
        for key in {m["method"] for m in matches}:
            self.method_rows[key] = self.method_rows.get(key, 0) + 1

    def merge(self, other: OverlapTally, line_offset: int) -> None:
        self.rows += other.rows
        self.clean_rows += other.clean_rows
        self.unscanned_rows += other.unscanned_rows
        for b, ids in other.overlapped.items():
            self.overlapped.setdefault(b, set()).update(ids)
        for k, v in other.method_rows.items():
            self.method_rows[k] = self.method_rows.get(k, 0) + v
        room = max(0, _FIRST_LINES - len(self.first_lines))
        self.first_lines.extend(x + line_offset for x in other.first_lines[:room])
        room = max(0, _FIRST_LINES - len(self.unscanned_lines))
        self.unscanned_lines.extend(x + line_offset for x in other.unscanned_lines[:room])

    @property
    def contaminated_rows(self) -> int:
        return self.rows - self.clean_rows - self.unscanned_rows

    @property
    def score(self) -> float:
        """Share of rows scanned and found with no overlap (1.0 for no rows: nothing leaked)."""
        return self.clean_rows / self.rows if self.rows else 1.0

    def per_benchmark(self) -> dict[str, dict[str, Any]]:
        out = {}
        for bench, items in sorted(self.benchmarks.items()):
            hit = len(self.overlapped.get(bench, ()))
            out[bench] = {"items": items, "overlapped_items": hit, "share": hit / items if items else 0.0}
        return out

    def figures(self) -> dict[str, Any]:
        per = self.per_benchmark()
        return {
            "rows": self.rows,
            "clean_rows": self.clean_rows,
            "contaminated_rows": self.contaminated_rows,
            "unscanned_rows": self.unscanned_rows,
            "decontamination_score": self.score,
            "per_benchmark": per,
            "max_benchmark_share": max((b["share"] for b in per.values()), default=0.0),
        }


class StreamScan:
    """The n-gram scan of :func:`decontaminate` over batches of rows read elsewhere (``check --against``)."""

    def __init__(self, index: NgramIndex, rules: ScanRules | None = None) -> None:
        self.index = index
        self.rules = rules or ScanRules()
        self.tally = OverlapTally(index.benchmarks)

    def add_batch(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        found, texted = scan_rows(rows, self.index, self.rules)
        for line, matches, has_text in zip(lines, found, texted, strict=True):
            self.tally.add(line, matches, texted=has_text)


@dataclass
class DecontamReport:
    """Counts, per-benchmark overlap and the removed rows of one decontamination run."""

    rows: int = 0
    clean_rows: int = 0
    unscanned_rows: int = 0  # no text in the fields the scan reads: kept, not clean
    unscanned_lines: list[int] = field(default_factory=list)  # the first 200
    n: int = 8
    per_benchmark: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, Any] = field(default_factory=dict)
    removed: list[dict[str, Any]] = field(default_factory=list)
    min_score: float = MIN_SCORE
    max_share: float = MAX_SHARE
    timings: dict[str, float] = field(default_factory=dict)
    against: list[str] = field(default_factory=list)
    scanned: dict[str, Any] | None = None  # {path, sha256, rows} of the input file
    output: dict[str, Any] | None = None  # {path, sha256, rows, figures of that file} of --out

    @property
    def contaminated_rows(self) -> int:
        return self.rows - self.clean_rows - self.unscanned_rows

    @property
    def decontamination_score(self) -> float:
        """Share of rows scanned and found with no overlap (1.0 for an empty input: nothing leaked);
        an unscanned row is not clean."""
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
            "report_version": REPORT_VERSION,
            "scanned": self.scanned,
            "output": self.output,
            "against": self.against,
            "decontamination_score": self.decontamination_score,
            "rows": self.rows,
            "clean_rows": self.clean_rows,
            "contaminated_rows": self.contaminated_rows,
            "unscanned_rows": self.unscanned_rows,
            "unscanned_lines": self.unscanned_lines,
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


def dropped_row(row: dict[str, Any], matches: list[dict[str, Any]]) -> dict[str, Any]:
    """``row`` as the dropped side file holds it: one ``contamination`` drop reason per match, its
    detail the match (benchmark, item_id, method, span, field, part, ...)."""
    out = {**row, "metadata": dict(row.get("metadata") or {})}
    for m in matches:
        add_drop_reason(out, CONTAMINATION, m)
    return out


def _iter_rows(rows_or_path: Any, digest: Any = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, row)`` of a JSONL or Parquet file (row numbers for lines), or of an iterable of dicts.

    ``digest`` is fed the file's bytes: a JSONL file's as it streams, a Parquet file's before its rows
    are read (its rows are not its bytes)."""
    if isinstance(rows_or_path, str | os.PathLike) and _is_parquet(rows_or_path):
        path = rows_or_path
        try:
            before = os.stat(path)
            if digest is not None:
                with open(path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
        except FileNotFoundError:
            raise DataError(path, None, "no such file") from None
        yield from _iter_parquet_raw(path)
        after = os.stat(path)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise DataError(path, None, "the file changed while it was read; run again on a finished file")
    elif isinstance(rows_or_path, str | os.PathLike):
        path = rows_or_path
        for line, obj in iter_jsonl(path, digest=digest):
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
    """Scan rows (a JSONL or Parquet path, or an iterable of dicts) against benchmarks; see the module docstring.

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
    tally = OverlapTally(idx.benchmarks)
    out_tally = OverlapTally(idx.benchmarks)  # the figures of the --out file, counted as it is written
    outputs = AtomicOutputs(out=out, removed=removed, annotate=annotate)
    is_path = isinstance(rows_or_path, str | os.PathLike)
    digest = hashlib.sha256() if is_path else None
    t1 = time.perf_counter()
    ok = False
    try:
        for batch in _run(_batches(_iter_rows(rows_or_path, digest), batch_size), idx, rules, executor):
            rows = [r for _, _, (_, r) in batch]
            if embedder is not None:
                extra = embedder.scan(rows)
                for (matches, _, _), more in zip(batch, extra, strict=True):
                    matches.extend(more)
            for matches, texted, (line, row) in batch:
                tally.add(line, matches, texted=texted)
                if matches:
                    report.removed.append({"row": tally.rows, "line": line, "contamination": matches})
                    outputs.write("removed", dropped_row(row, matches))
                else:
                    outputs.write("out", row)
                    out_tally.add(outputs.rows.get("out", 0), matches, texted=texted)
                if annotate is not None:
                    meta = dict(row.get("metadata") or {})
                    # An unscanned row is not called clean: no claim either way (null), and it says why.
                    meta["contaminated"] = bool(matches) if matches or texted else None
                    if matches:
                        meta["contamination"] = matches
                    elif not texted:
                        meta["unscanned"] = True
                    outputs.write("annotate", {**row, "metadata": meta})
        ok = True
    finally:
        outputs.close(commit=ok)
    if embedder is not None:
        report.methods["embedding"].update(embedder.stats)
    for key, count in tally.method_rows.items():
        report.methods.setdefault(key, {})["rows"] = count
    report.rows, report.clean_rows = tally.rows, tally.clean_rows
    report.unscanned_rows, report.unscanned_lines = tally.unscanned_rows, tally.unscanned_lines
    report.per_benchmark = tally.per_benchmark()
    report.against = names
    if digest is not None:
        report.scanned = {
            "path": str(Path(rows_or_path).resolve()),
            "sha256": digest.hexdigest(),
            "rows": tally.rows,
        }
    if out is not None:
        report.output = {
            "path": str(Path(out).resolve()),
            "sha256": outputs.sha256["out"].hexdigest(),
            **out_tally.figures(),
        }
    report.timings["scan_s"] = round(time.perf_counter() - t1, 3)
    report.timings["total_s"] = round(time.perf_counter() - t0, 3)
    return report


def _run(
    batches: Iterator[list[tuple[int, dict[str, Any]]]], idx: NgramIndex, rules: ScanRules, executor: str
) -> Iterator[list[tuple[list[dict[str, Any]], bool, tuple[int, dict[str, Any]]]]]:
    """Per batch, ``(matches, texted, (line, row))`` for each row (``texted``: some text was scanned)."""
    if executor == "local":
        for b in batches:
            res, texted = scan_rows([r for _, r in b], idx, rules)
            yield list(zip(res, texted, b, strict=True))
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
    """Share of training rows scanned and found with no benchmark overlap (the seed's API; gate >= 0.9);
    a row with no text in the scanned fields is not clean.

    ``benchmark_dir`` defaults to :func:`~alignforge.curate.benchmarks.default_benchmark_dir`.
    """
    return decontaminate(
        training_data, against=eval_benchmarks, benchmark_dir=benchmark_dir, n=n
    ).decontamination_score
