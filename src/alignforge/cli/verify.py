"""``alignforge prepare``, ``alignforge verify`` (+ ``calibrate``) and ``alignforge bench passk``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

__all__ = ["COMMANDS"]


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not ks or ks[0] < 1:
        raise click.BadParameter("k values must be >= 1")
    return ks


@click.command("prepare")
@click.argument("name", type=click.Choice(["humaneval", "mbpp", "gsm8k", "math500"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--source", type=click.Path(exists=True, file_okay=False), help="Folder with the original files."
)
@click.option("--validation-size", default=20, show_default=True, type=click.IntRange(0))
@click.option("--workers", type=click.IntRange(1), help="Sandbox workers for the reference check.")
def prepare_cmd(
    name: str, out_dir: str, source: str | None, validation_size: int, workers: int | None
) -> None:
    """Turn a benchmark into RLVR task files; every reference solution is checked against its tests.

    \b
    Example:
      alignforge prepare humaneval --out data/rlvr --validation-size 20
      alignforge prepare mbpp --out data/rlvr --source ../shared/benchmarks/mbpp
    """
    from alignforge.verify.prepare import prepare_dataset

    summary = prepare_dataset(name, out_dir, source=source, validation_size=validation_size, workers=workers)
    for split, s in summary["splits"].items():
        click.echo(
            f"{split}: {s['written']}/{s['tasks']} tasks written; reference failures "
            f"{len(s['reference_failures'])}; prompts repaired {s['prompts_repaired']}, "
            f"refused {len(s['prompts_refused'])}"
        )
        for tid, why in list(s["reference_failures"].items())[:10]:
            click.echo(f"  reference fails: {tid}: {why[:160]}")
    click.echo(f"summary: {Path(out_dir) / 'dataset_summary.json'}")


@click.group("verify", invoke_without_command=True)
@click.option("--tasks", type=click.Path(exists=True, dir_okay=False), help="Task file (JSONL).")
@click.option("--completions", type=click.Path(exists=True, dir_okay=False), help="Completions (JSONL).")
@click.option("--out", type=click.Path(dir_okay=False), help="Verdicts (JSONL).")
@click.option("--k", "ks", default=None, help="Also print pass@k, e.g. 1,5,10.")
@click.option("--workers", type=click.IntRange(1))
@click.option(
    "--timeout", "timeout_s", default=5.0, show_default=True, type=float, help="CPU seconds per sample."
)
@click.option("--memory-mb", default=1024, show_default=True, type=click.IntRange(64))
@click.option("--partial", is_flag=True, help="Reward = fraction of tests passed.")
@click.option("--isolation", type=click.Choice(["process", "bwrap"]), default="process", show_default=True)
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False), help="SQLite verdict cache.")
@click.option("--fresh", is_flag=True, help="Start over instead of resuming an existing --out file.")
@click.pass_context
def verify_group(
    ctx: click.Context,
    tasks: str | None,
    completions: str | None,
    out: str | None,
    ks: str | None,
    workers: int | None,
    timeout_s: float,
    memory_mb: int,
    partial: bool,
    isolation: str,
    cache_path: str | None,
    fresh: bool,
) -> None:
    """Verify completions in the sandbox and write one verdict per line.

    \b
    Example:
      alignforge verify --tasks data/rlvr/humaneval_full.jsonl --completions samples.jsonl \\
          --out verdicts.jsonl --k 1,5,10
      alignforge verify calibrate --tasks data/rlvr/humaneval_full.jsonl
    """
    if ctx.invoked_subcommand is not None:
        return
    if not tasks or not completions or not out:
        raise click.UsageError("give --tasks, --completions and --out (or a subcommand such as calibrate)")
    from alignforge.io import JsonlWriter
    from alignforge.verify.engine import VerdictCache, verify_completions
    from alignforge.verify.passk import pass_at_k_table
    from alignforge.verify.tasks import load_tasks

    k_list = _ks(ks) if ks else []
    task_map = load_tasks(tasks)
    done = [] if fresh else _finished(out)
    verdicts = [{"task_id": v["task_id"], "passed": v["passed"]} for v in done]
    counts: dict[str, int] = {}
    hits = 0
    cache = VerdictCache(cache_path)
    rows = _rows(completions, task_map, done, out)
    pool = _pool(task_map, workers, isolation)
    try:
        with JsonlWriter(out, append=not fresh) as writer:
            for v in verify_completions(
                task_map,
                rows,
                timeout_s=timeout_s,
                partial=partial,
                memory_mb=memory_mb,
                cache=cache,
                pool=pool,
                workers=workers,
            ):
                writer.write(v)
                counts[v["status"]] = counts.get(v["status"], 0) + 1
                hits += bool(v.get("cache_hit"))
                verdicts.append({"task_id": v["task_id"], "passed": v["passed"]})
    finally:
        if pool is not None:
            pool.close()
    if done:
        click.echo(f"resumed: {len(done)} verdicts were already in {out}")
    total = sum(counts.values())
    click.echo(
        f"{total} verdicts -> {out}: "
        + ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        + f"; cache hits {hits}"
    )
    if k_list:
        table = pass_at_k_table(verdicts, k_list)["overall"]
        click.echo(
            "  ".join(
                f"pass@{k} {table[f'pass@{k}']:.4f}" if table[f"pass@{k}"] is not None else f"pass@{k} n/a"
                for k in k_list
            )
        )


def _pool(task_map: dict[str, Any], workers: int | None, isolation: str) -> Any:
    """The sandbox pool when any task runs code (None otherwise); says on stderr what isolation it fell back to."""
    if not any(t["domain"] == "code" for t in task_map.values()):
        return None
    from alignforge.verify._pool import SandboxPool

    pool = SandboxPool(workers, isolation=isolation)
    if pool.fallback:
        click.echo(f"warning: {pool.fallback}", err=True)
    return pool


def _finished(out: str) -> list[dict[str, Any]]:
    """Verdicts already written by an earlier (possibly killed) run, partial last line removed."""
    from alignforge.io import iter_jsonl, repair_tail

    if not Path(out).is_file() or Path(out).stat().st_size == 0:
        return []
    repair_tail(out)
    return [row for _, row in iter_jsonl(out)]


def _rows(
    path: str, task_map: dict[str, Any], done: list[dict[str, Any]], out: str
) -> Iterator[dict[str, Any]]:
    """Completion rows with sample indices filled in; rows already verdicted in ``done`` are skipped."""
    from alignforge.io import DataError, iter_jsonl

    counters: dict[str, int] = {}
    for n, (line, row) in enumerate(iter_jsonl(path)):
        if not isinstance(row, dict) or not isinstance(row.get("completion"), str) or "task_id" not in row:
            raise DataError(
                path, line, "field 'completion': expected an object with task_id and a string completion"
            )
        tid = str(row["task_id"])
        if tid not in task_map:
            raise DataError(path, line, f"field 'task_id': unknown task {tid!r} (not in the --tasks file)")
        idx = row.get("sample_index")
        if idx is None:
            idx = counters.get(tid, 0)
        elif not isinstance(idx, int) or isinstance(idx, bool):
            raise DataError(path, line, "field 'sample_index': expected an integer")
        counters[tid] = max(counters.get(tid, 0), idx + 1)
        if n < len(done):
            if str(done[n].get("task_id")) != tid or done[n].get("sample_index") != idx:
                raise DataError(out, n + 1, f"does not match {path}:{line}; run again with --fresh")
            continue
        yield {**row, "task_id": tid, "sample_index": idx}


@verify_group.command("calibrate")
@click.option("--tasks", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--limit", type=click.IntRange(1), help="Only the first N tasks.")
@click.option("--workers", type=click.IntRange(1))
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the report as JSON.")
@click.option(
    "--timeout", "timeout_s", default=5.0, show_default=True, type=float, help="CPU seconds per probe."
)
def calibrate_cmd(
    tasks: str, limit: int | None, workers: int | None, json_out: str | None, timeout_s: float
) -> None:
    """Measure false-positive and false-negative rates with references, wrong variants and hack probes.

    \b
    Example:
      alignforge verify calibrate --tasks data/rlvr/humaneval_full.jsonl
    Exit code 1 when a target is missed.
    """
    from alignforge.verify.calibration import calibrate, format_report
    from alignforge.verify.tasks import load_tasks

    task_map = load_tasks(tasks)
    pool = _pool(task_map, workers, "process")
    try:
        report = calibrate(task_map, limit=limit, workers=workers, timeout_s=timeout_s, pool=pool)
    finally:
        if pool is not None:
            pool.close()
    click.echo(format_report(report))
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2) + "\n")
    if not report["meets_targets"]:
        raise SystemExit(1)


@click.group("bench")
def bench_group() -> None:
    """Benchmarks of checkpoints and verdicts."""


@bench_group.command("passk")
@click.argument("verdicts", type=click.Path(exists=True, dir_okay=False))
@click.option("--k", "ks", default="1,5,10", show_default=True)
@click.option("--per-task", is_flag=True, help="Print every task's pass@k.")
def passk_cmd(verdicts: str, ks: str, per_task: bool) -> None:
    """pass@k (unbiased estimator) per task and overall from a verdicts file.

    \b
    Example:
      alignforge bench passk verdicts.jsonl --k 1,5,10
    """
    from alignforge.io import DataError, iter_jsonl
    from alignforge.verify.passk import pass_at_k_table

    rows = []
    for line, row in iter_jsonl(verdicts):
        if not isinstance(row, dict) or "task_id" not in row or not isinstance(row.get("passed"), bool):
            raise DataError(verdicts, line, "field 'passed': expected a verdict with task_id and passed")
        rows.append(row)
    table = pass_at_k_table(rows, _ks(ks))
    if per_task:
        for tid, t in table["tasks"].items():
            click.echo(
                f"{tid}\tn={t['n']}\tc={t['c']}\t"
                + "\t".join(f"{k}={v:.4f}" for k, v in t.items() if k.startswith("pass@"))
            )
    o = table["overall"]
    for k in _ks(ks):
        val = o[f"pass@{k}"]
        click.echo(
            f"pass@{k}: "
            + (f"{val:.4f}" if val is not None else "n/a")
            + f"  ({o[f'tasks@{k}']} tasks; {o[f'skipped@{k}']} with fewer than {k} samples skipped)"
        )


COMMANDS = [prepare_cmd, verify_group, bench_group]
