"""``alignforge dedup`` and ``alignforge decontaminate``: parse options, run the stage, print its summary."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["COMMANDS", "dedup_cmd", "decontaminate_cmd"]

_ALL = "humaneval,mbpp,gsm8k,math500,truthfulqa,hellaswag"  # curate.DEFAULT_BENCHMARKS (kept light)


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
    help="Dropped rows, each with metadata.drop_reasons (exact_duplicate / near_duplicate and the kept "
    "row's id and line) [default: OUT's .dropped.jsonl].",
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
    from alignforge.curate import dedup_file

    summary = dedup_file(input_path, out=out, dropped=dropped, kind=kind, near=near)
    for line in summary.lines():
        click.echo(line)


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
    "--dropped",
    "removed",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Contaminated rows, each with metadata.drop_reasons (contamination: benchmark, item, method, span) "
    "[default with --out: OUT's .dropped.jsonl].",
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
    "--min-score",
    type=click.FloatRange(0.0, 1.0),
    default=0.9,
    show_default=True,
    help="Gate: minimum share of clean rows (0 to 1).",
)
@click.option(
    "--max-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.02,
    show_default=True,
    help="Gate: maximum share of any benchmark's items overlapped (0 to 1; 0.02 = 2 %).",
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
    from alignforge.curate import decontaminate_file

    summary = decontaminate_file(
        input_path,
        against=against,
        out=out,
        dropped=removed,
        annotate=annotate,
        report=report,
        benchmark_dir=benchmark_dir,
        n=n,
        embeddings=embeddings,
        embedding_threshold=embedding_threshold,
        judge_model=judge_model,
        executor=executor,
        min_score=min_score,
        max_share=max_share,
        use_cache=not no_cache,
    )
    for line in summary.lines():
        click.echo(line)
    sys.exit(0 if summary.passed else 1)


COMMANDS = [dedup_cmd, decontaminate_cmd]
