"""The ``dedup`` and ``decontaminate`` stages: :func:`~alignforge.curate.dedup.iter_dedup` and
:func:`~alignforge.curate.decontam.decontaminate` run on files under the stage contract.

``dedup_file`` and ``decontaminate_file`` are what the CLI calls: they run the stage through
:func:`~alignforge.stages.run_stage`, so a rerun with the same inputs and parameters whose outputs are
unchanged is recognised as done and does nothing. Kept rows go to ``out``, dropped rows to
``out.dropped.jsonl`` (or the path given), each with ``metadata.drop_reasons``:
``exact_duplicate`` / ``near_duplicate`` (detail: the row's line, the kept row's id and line, the
similarity) or ``contamination`` (detail: one match, its benchmark, item, method and span).

Resume: both stages carry state from row to row (the hashes seen so far; the per-benchmark tally
that the report and the gates are computed from), so a run that was killed is redone from the
start. Every output is written to a temporary file and renamed into place when the run completes
(:class:`~alignforge.curate._outputs.AtomicOutputs`): a killed run leaves no partial output, and
the rerun writes each row exactly once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.curate._index import source_files
from alignforge.curate._normalize import TEXT_FIELDS
from alignforge.curate._outputs import AtomicOutputs
from alignforge.curate.benchmarks import DEFAULT_BENCHMARKS, resolve_benchmark_dir
from alignforge.curate.decontam import (
    CONTAMINATION,
    MAX_SHARE,
    MIN_SCORE,
    DecontamReport,
    _iter_rows,
    decontaminate,
    parse_against,
)
from alignforge.curate.dedup import iter_dedup_numbered
from alignforge.errors import ConfigError
from alignforge.stages import (
    Stage,
    StageSummary,
    Tracker,
    add_drop_reason,
    refuse_outputs_on_inputs,
    run_stage,
    side_paths,
)

__all__ = ["DedupStage", "DecontaminateStage", "dedup_file", "decontaminate_file"]

Pathish = str | os.PathLike[str]


def _path(p: Pathish | None) -> Path | None:
    return Path(p) if p is not None else None


def _strs(paths: dict[str, Any]) -> dict[str, str]:
    return {role: os.fspath(p) for role, p in paths.items()}


# --- dedup ----------------------------------------------------------------------------------


@dataclass
class DedupStage(Stage):
    """Exact (and, with ``near``, MinHash near-) duplicates within one JSONL or Parquet file; the first
    row wins."""

    data: Path
    out: Path
    dropped: Path | None = None  # default: out.dropped.jsonl
    kind: str | None = None  # detected from the first row when None
    near: float | None = None
    num_perm: int = 128

    name = "dedup"
    resumable = False  # a failed run renamed no output into place: it leaves no `running` record

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        self.dropped = Path(self.dropped) if self.dropped is not None else side_paths(self.out).dropped
        if self.near is not None and not 0.0 < self.near <= 1.0:
            raise ConfigError(f"near must be a Jaccard similarity in (0, 1], got {self.near}")

    def inputs(self) -> dict[str, Pathish | None]:
        return {"data": self.data}

    def outputs(self) -> dict[str, Pathish]:
        assert self.dropped is not None
        return {"out": self.out, "dropped": self.dropped}

    def params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "near": self.near,
            "num_perm": self.num_perm,
            "writes": _strs(self.outputs()),
        }

    def execute(self) -> StageSummary:
        from alignforge.io import detect_file_kind

        kind = self.kind or detect_file_kind(self.data).value
        summary = StageSummary(self.name, outputs=_strs(self.outputs()))
        files = AtomicOutputs(out=self.out, dropped=self.dropped)
        ok = False
        try:
            rows = _iter_rows(self.data)
            for line, row, drop in iter_dedup_numbered(
                rows, kind=kind, near=self.near, num_perm=self.num_perm
            ):
                if drop is None:
                    files.write("out", row)
                    summary.written += 1
                    continue
                detail = {"line": line, "duplicate_of": drop["duplicate_of"], "kept_line": drop["kept_index"]}
                if "similarity" in drop:
                    detail["similarity"] = drop["similarity"]
                kept = {**row, "metadata": dict(row.get("metadata") or {})}
                files.write("dropped", add_drop_reason(kept, drop["reason"], detail))
                summary.drop(drop["reason"])
            ok = True
        finally:
            files.close(commit=ok)
        rows_seen = summary.written + summary.dropped
        compared = "the prompt" if kind in ("dpo", "grpo", "rlvr") else "the whole record"
        near = f"; near duplicates: MinHash Jaccard >= {self.near}" if self.near is not None else ""
        summary.figures = {"kind": kind, "rows": rows_seen, "kept": summary.written}
        summary.notes = [f"kept {summary.written} of {rows_seen} rows ({kind}), compared on {compared}{near}"]
        return summary


def dedup_file(
    data: Pathish,
    *,
    out: Pathish,
    dropped: Pathish | None = None,
    kind: str | None = None,
    near: float | None = None,
    num_perm: int = 128,
) -> StageSummary:
    """Run the ``dedup`` stage on ``data`` (JSONL or Parquet; the outputs are JSONL): unique rows to
    ``out``, duplicates to ``dropped`` (default ``out.dropped.jsonl``). Bad input raises
    :class:`~alignforge.io.DataError` (file, line)."""
    stage = DedupStage(Path(data), Path(out), _path(dropped), kind=kind, near=near, num_perm=num_perm)
    return run_stage(stage)


# --- decontaminate --------------------------------------------------------------------------


class _CountingJudge:
    """The judge LLM, its answered requests counted (requests, tokens, cost) for the summary."""

    def __init__(self, llm: Any, tracker: Tracker) -> None:
        self.llm, self.tracker, self.name = llm, tracker, llm.name

    def generate(self, requests: Sequence[Any], *, on_result: Callable[..., None] | None = None) -> list[Any]:
        from alignforge.llm.base import ChatResponse

        results = self.llm.generate(requests, on_result=on_result)
        for r in results:
            if isinstance(r, ChatResponse):
                self.tracker.on_usage(r, self.name)
        return list(results)


@dataclass
class DecontaminateStage(Stage):
    """Rows of one JSONL or Parquet file that overlap evaluation benchmarks, dropped with the match; a report and gates.

    The main output is ``out`` (clean rows); with no ``out``, the ``report``. The benchmark files
    read are inputs, so a changed benchmark file changes the fingerprint. With neither ``out`` nor
    ``report`` nothing is written and there is nothing to record: :func:`decontaminate_file` then
    runs :meth:`execute` alone.
    """

    data: Path
    against: str | Sequence[str] = DEFAULT_BENCHMARKS
    out: Path | None = None
    dropped: Path | None = None  # default: out.dropped.jsonl (none without out)
    annotate: Path | None = None
    report: Path | None = None
    benchmark_dir: Path | None = None
    n: int = 8
    embeddings: bool = False
    embedding_threshold: float | None = None
    judge_model: Any = None  # a spec (``openai:gpt-4o-mini``) or an LLM object
    min_score: float = MIN_SCORE
    max_share: float = MAX_SHARE
    executor: str = "local"
    use_cache: bool = True

    name = "decontaminate"
    resumable = False

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.out, self.annotate, self.report = _path(self.out), _path(self.annotate), _path(self.report)
        self.benchmark_dir = _path(self.benchmark_dir)
        if self.dropped is not None:
            self.dropped = Path(self.dropped)
        elif self.out is not None:
            self.dropped = side_paths(self.out).dropped
        self.names = parse_against(self.against)
        for gate, value in (("min_score", self.min_score), ("max_share", self.max_share)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{gate} is a share between 0 and 1 (0.9 = 90 %), got {value}")
        if self.judge_model and not self.embeddings:
            raise ConfigError("--judge-model reviews embedding matches: add --embeddings")

    def inputs(self) -> dict[str, Pathish | None]:
        found: dict[str, Pathish | None] = {"data": self.data}
        for name in self.names:
            files = source_files(name, self.benchmark_dir)
            for i, f in enumerate(files):
                found[f"benchmark:{name}" + (f":{i}" if len(files) > 1 else "")] = f
        return found

    def outputs(self) -> dict[str, Pathish]:
        main = self.out if self.out is not None else self.report
        roles = {"out": main, "dropped": self.dropped, "annotate": self.annotate, "report": self.report}
        return {role: p for role, p in roles.items() if p is not None} if main is not None else {}

    def params(self) -> dict[str, Any]:
        return {
            "against": self.names,
            "benchmark_dir": str(resolve_benchmark_dir(self.benchmark_dir)),
            "n": self.n,
            "embeddings": self.embeddings,
            "embedding_threshold": self.embedding_threshold,
            "judge_model": self.judge_model,
            "min_score": self.min_score,
            "max_share": self.max_share,
            "writes": _strs(self.outputs()),
        }

    def execute(self) -> StageSummary:
        tracker = Tracker(target=0)
        judge = None
        if self.judge_model:
            from alignforge.llm import resolve_llm

            cache = (self.report or self.out or self.data).with_name(".alignforge-decontam-judge.sqlite")
            judge = resolve_llm(self.judge_model, cache=cache)
        try:
            rep = decontaminate(
                self.data,
                against=self.names,
                benchmark_dir=self.benchmark_dir,
                n=self.n,
                embeddings=self.embeddings,
                embedding_threshold=self.embedding_threshold,
                judge=_CountingJudge(judge, tracker) if judge is not None else None,
                out=self.out,
                removed=self.dropped,
                annotate=self.annotate,
                executor=self.executor,
                use_cache=self.use_cache,
            )
        finally:
            if judge is not None and judge is not self.judge_model and hasattr(judge, "close"):
                judge.close()
        rep.min_score, rep.max_share = self.min_score, self.max_share
        if self.report is not None:
            rep.write_json(self.report)
        summary = StageSummary(self.name, outputs=_strs(self.outputs()))
        summary.written = rep.clean_rows + rep.unscanned_rows if self.out is not None else 0
        if rep.contaminated_rows:
            summary.drop(CONTAMINATION, rep.contaminated_rows)
        summary.figures = {k: v for k, v in rep.to_dict().items() if k != "removed"}
        summary.notes = report_lines(rep, report=self.report, out=self.out, data=self.data)
        return tracker.fill(summary)


def decontaminate_file(
    data: Pathish,
    *,
    against: str | Sequence[str] = DEFAULT_BENCHMARKS,
    out: Pathish | None = None,
    dropped: Pathish | None = None,
    annotate: Pathish | None = None,
    report: Pathish | None = None,
    benchmark_dir: Pathish | None = None,
    n: int = 8,
    embeddings: bool = False,
    embedding_threshold: float | None = None,
    judge_model: Any = None,
    min_score: float = MIN_SCORE,
    max_share: float = MAX_SHARE,
    executor: str = "local",
    use_cache: bool = True,
) -> StageSummary:
    """Run the ``decontaminate`` stage on ``data`` (JSONL or Parquet; the outputs are JSONL). The gates'
    verdict is ``summary.passed``; the report's figures are in ``summary.figures``. A missing benchmark raises
    :class:`~alignforge.curate.benchmarks.BenchmarkNotFound`, bad input :class:`~alignforge.io.DataError`."""
    stage = DecontaminateStage(
        Path(data),
        against,
        out=_path(out),
        dropped=_path(dropped),
        annotate=_path(annotate),
        report=_path(report),
        benchmark_dir=_path(benchmark_dir),
        n=n,
        embeddings=embeddings,
        embedding_threshold=embedding_threshold,
        judge_model=judge_model,
        min_score=min_score,
        max_share=max_share,
        executor=executor,
        use_cache=use_cache,
    )
    if not stage.outputs():  # a scan with no file to record beside: nothing to record or reuse
        refuse_outputs_on_inputs(stage.name, stage.inputs(), {"annotate": stage.annotate})
        return stage.execute()
    return run_stage(stage)


def report_lines(rep: DecontamReport, *, report: Path | None, out: Path | None, data: Path) -> list[str]:
    """The per-benchmark table, the counts, the gates and where the report is: the stage's own lines."""
    return [*_table(rep), *_verdict(rep), *_unscanned(rep, out), *_bound(rep, report, out, data)]


def _table(rep: DecontamReport) -> Iterator[str]:
    width = max([len("benchmark"), *(len(b) for b in rep.per_benchmark)])
    yield f"benchmark overlap (n = {rep.n}):"
    yield f"   {'benchmark':<{width}}  {'items':>7}  {'overlapped':>10}  {'share':>7}  gate <= {rep.max_share:.0%}"
    for name, b in rep.per_benchmark.items():
        ok = "pass" if b["share"] <= rep.max_share else "FAIL"
        yield f"   {name:<{width}}  {b['items']:>7}  {b['overlapped_items']:>10}  {b['share']:>7.2%}  {ok}"


def _verdict(rep: DecontamReport) -> Iterator[str]:
    methods = ", ".join(f"{k}: {v.get('rows', 0)} rows" for k, v in rep.methods.items())
    gate = "pass" if rep.decontamination_score >= rep.min_score else "FAIL"
    unscanned = f", unscanned {rep.unscanned_rows}" if rep.unscanned_rows else ""
    yield f"rows {rep.rows}, clean {rep.clean_rows}, contaminated {rep.contaminated_rows}{unscanned} ({methods})"
    yield (
        f"decontamination score {rep.decontamination_score:.4f} (gate >= {rep.min_score}) {gate}; "
        f"max benchmark share {rep.max_benchmark_share:.2%}; "
        f"index {rep.timings.get('index_s', 0):.2f}s, scan {rep.timings.get('scan_s', 0):.2f}s"
    )


def _unscanned(rep: DecontamReport, out: Path | None) -> Iterator[str]:
    if not rep.unscanned_rows:
        return
    n = rep.unscanned_rows
    lines = ", ".join(map(str, rep.unscanned_lines[:10])) + (", ..." if n > 10 else "")
    kept = f"; kept in {out}" if out is not None else ""
    yield (
        f"warning: {n} row{'s' if n != 1 else ''} unscanned (line{'s' if n != 1 else ''} {lines}): no text "
        f"in the fields the scan reads ({', '.join(TEXT_FIELDS)}), so not counted as clean{kept}"
    )


def _bound(rep: DecontamReport, report: Path | None, out: Path | None, data: Path) -> Iterator[str]:
    if report is None or rep.scanned is None:
        return
    bound = f"{data} (sha256 {rep.scanned['sha256'][:16]}...)"
    if rep.output is not None:
        bound += f" and {out} (sha256 {rep.output['sha256'][:16]}...)"
    yield f"report -> {report}: `alignforge check --decontam-report {report}` accepts it for {bound}"
