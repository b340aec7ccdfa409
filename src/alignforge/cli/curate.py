"""``alignforge dedup`` and ``alignforge decontaminate``: thin wrappers over :mod:`alignforge.curate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["COMMANDS", "dedup_cmd", "decontaminate_cmd"]

_ALL = "humaneval,mbpp,gsm8k,math500,truthfulqa,hellaswag"


@click.command("dedup")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Unique rows (the first of each group of duplicates).",
)
@click.option(
    "--dropped",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Dropped rows, each with metadata.duplicate_of and metadata.dedup_reason.",
)
@click.option(
    "--near",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=None,
    help="Also drop near-duplicates with estimated Jaccard >= this (MinHash LSH, word 3-grams).",
)
@click.option(
    "--kind",
    type=click.Choice(["sft", "dpo", "kto", "grpo", "rlvr", "completion"]),
    default=None,
    help="Record kind (decides the compared fields); detected from the first row when omitted.",
)
def dedup_cmd(
    input_path: Path, out: Path, dropped: Path | None, near: float | None, kind: str | None
) -> None:
    """Drop exact and near-duplicate rows, keeping the first.

    DPO / GRPO / RLVR rows are compared on the prompt, other kinds on the whole record.

    \b
    Example:
      alignforge dedup pairs.jsonl --out unique.jsonl --near 0.8 --dropped dupes.jsonl
    """
    from alignforge.curate.decontam import _Outputs
    from alignforge.curate.dedup import iter_dedup
    from alignforge.io import DataError, detect_file_kind, iter_jsonl

    k = kind or detect_file_kind(input_path).value
    kept = 0
    drops: list[dict[str, Any]] = []

    def rows() -> Any:
        for line, obj in iter_jsonl(input_path):
            if not isinstance(obj, dict):
                raise DataError(
                    input_path, line, f"expected a JSON object per line, got {type(obj).__name__}"
                )
            yield obj

    outputs = _Outputs(out=out, dropped=dropped)
    ok = False
    try:
        for row, drop in iter_dedup(rows(), kind=k, near=near):
            if drop is None:
                kept += 1
                outputs.write("out", row)
                continue
            meta = {
                **(row.get("metadata") or {}),
                "duplicate_of": drop["duplicate_of"],
                "dedup_reason": drop["reason"],
                "row": drop["index"],
            }
            if "similarity" in drop:
                meta["similarity"] = drop["similarity"]
            drops.append({"metadata": {"dedup_reason": drop["reason"]}})
            outputs.write("dropped", {**row, "metadata": meta})
        ok = True
    finally:
        outputs.close(commit=ok)
    reasons: dict[str, int] = {}
    for d in drops:
        reasons[d["metadata"]["dedup_reason"]] = reasons.get(d["metadata"]["dedup_reason"], 0) + 1
    detail = ", ".join(f"{r}: {c}" for r, c in sorted(reasons.items())) or "none"
    click.echo(f"kept {kept} of {kept + len(drops)} rows ({k}); dropped {len(drops)} ({detail}) -> {out}")


@click.command("decontaminate")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--against",
    default=_ALL,
    show_default=True,
    help="Comma-separated benchmarks (registry names or paths to JSONL files of question/answer).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Clean rows.")
@click.option(
    "--removed",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Contaminated rows with metadata.contamination records.",
)
@click.option(
    "--annotate",
    type=click.Path(dir_okay=False, path_type=Path),
    help="ALL rows, each with metadata.contaminated (and .contamination when true).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON report with the sha256 of INPUT (and of --out): `check --decontam-report` accepts it "
    "for those files only.",
)
@click.option(
    "--benchmark-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with benchmark files in their original format (layout of shared/benchmarks); "
    "default $ALIGNFORGE_BENCHMARK_DIR, else ~/.cache/alignforge/benchmarks (`alignforge benchmarks list`).",
)
@click.option(
    "-n", "--ngram", "n", type=click.IntRange(3, 64), default=8, show_default=True, help="n-gram size."
)
@click.option(
    "--embeddings", is_flag=True, help="Also flag light paraphrases with all-MiniLM-L6-v2 (offline)."
)
@click.option(
    "--embedding-threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Cosine threshold for --embeddings (default: the one chosen on data, see docs/curate.md).",
)
@click.option(
    "--judge-model",
    default=None,
    help="With --embeddings: an LLM (local, openai:<model>, ...) reviews borderline matches; "
    "an unanswered review keeps the row flagged (fails closed).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run the scan in-process or on Ray Data.",
)
@click.option(
    "--min-score", type=float, default=0.9, show_default=True, help="Gate: minimum share of clean rows."
)
@click.option(
    "--max-share",
    type=float,
    default=0.02,
    show_default=True,
    help="Gate: maximum share of any benchmark's items overlapped.",
)
@click.option("--no-cache", is_flag=True, help="Rebuild the benchmark index instead of using the disk cache.")
def decontaminate_cmd(
    input_path: Path,
    against: str,
    out: Path | None,
    removed: Path | None,
    annotate: Path | None,
    report: Path | None,
    benchmark_dir: Path | None,
    n: int,
    embeddings: bool,
    embedding_threshold: float | None,
    judge_model: str | None,
    executor: str,
    min_score: float,
    max_share: float,
    no_cache: bool,
) -> None:
    """Find training rows that overlap evaluation benchmarks; exit 1 when a gate fails.

    Gates: decontamination score (share of clean rows) >= 0.9, and no benchmark with more
    than 2 % of its items overlapped. Exit codes: 0 gates pass, 1 a gate fails, 2 invalid input.

    \b
    Example:
      alignforge decontaminate pairs.jsonl --against humaneval,mbpp,gsm8k,math500,truthfulqa,hellaswag \\
          --out clean.jsonl --removed removed.jsonl --report report.json --benchmark-dir ../shared/benchmarks
    """
    from alignforge.curate.decontam import decontaminate

    judge = None
    if judge_model:
        if not embeddings:
            raise click.UsageError("--judge-model reviews embedding matches: add --embeddings")
        from alignforge.llm import get_llm

        cache = (report or out or input_path).with_name(".alignforge-decontam-judge.sqlite")
        judge = get_llm(judge_model, cache=cache)
    rep = decontaminate(
        input_path,
        against=against,
        benchmark_dir=benchmark_dir,
        n=n,
        embeddings=embeddings,
        embedding_threshold=embedding_threshold,
        judge=judge,
        out=out,
        removed=removed,
        annotate=annotate,
        executor=executor,
        use_cache=not no_cache,
    )
    rep.min_score, rep.max_share = min_score, max_share
    if report is not None:
        rep.write_json(report)
    _print_report(rep)
    if report is not None and rep.scanned is not None:
        bound = f"{input_path} (sha256 {rep.scanned['sha256'][:16]}...)"
        if rep.output is not None:
            bound += f" and {out} (sha256 {rep.output['sha256'][:16]}...)"
        click.echo(
            f"report -> {report}: `alignforge check --decontam-report {report}` accepts it for {bound}"
        )
    sys.exit(0 if rep.passed else 1)


def _print_report(rep: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False, highlight=False)
    table = Table(title=f"Benchmark overlap (n = {rep.n})")
    for col in ("benchmark", "items", "overlapped", "share", f"gate <= {rep.max_share:.0%}"):
        table.add_column(col, justify="left" if col == "benchmark" else "right")
    for name, b in rep.per_benchmark.items():
        ok = b["share"] <= rep.max_share
        table.add_row(
            name,
            str(b["items"]),
            str(b["overlapped_items"]),
            f"{b['share']:.2%}",
            "[green]pass[/]" if ok else "[red]FAIL[/]",
        )
    console.print(table)
    methods = ", ".join(f"{k}: {v.get('rows', 0)} rows" for k, v in rep.methods.items())
    gate = "[green]pass[/]" if rep.decontamination_score >= rep.min_score else "[red]FAIL[/]"
    console.print(
        f"rows {rep.rows}, clean {rep.clean_rows}, contaminated {rep.contaminated_rows} ({methods})"
    )
    console.print(
        f"decontamination score {rep.decontamination_score:.4f} (gate >= {rep.min_score}) {gate}; "
        f"max benchmark share {rep.max_benchmark_share:.2%}; "
        f"index {rep.timings.get('index_s', 0):.2f}s, scan {rep.timings.get('scan_s', 0):.2f}s"
    )


COMMANDS = [dedup_cmd, decontaminate_cmd]
