"""``alignforge prepare`` and ``alignforge verify`` (+ ``calibrate``); ``bench passk`` is in cli/bench.py."""

from __future__ import annotations

import json
from pathlib import Path

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
@click.option(
    "--strengthen",
    is_flag=True,
    help="Code tasks: add plus_tests that kill more mutants (alignforge strengthen).",
)
def prepare_cmd(
    name: str, out_dir: str, source: str | None, validation_size: int, workers: int | None, strengthen: bool
) -> None:
    """Turn a benchmark into RLVR task files; every reference solution is checked against its tests.

    \b
    Example:
      alignforge prepare humaneval --out data/rlvr --validation-size 20
      alignforge prepare mbpp --out data/rlvr --source ../shared/benchmarks/mbpp
      alignforge prepare humaneval --out data/rlvr --strengthen      # + plus_tests (HumanEval+ style)
    """
    from alignforge.verify.prepare import prepare_dataset

    summary = prepare_dataset(
        name, out_dir, source=source, validation_size=validation_size, workers=workers, strengthen=strengthen
    )
    for line in summary.lines():
        click.echo(line)


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
@click.option(
    "--plus", is_flag=True, help="Score against tests + plus_tests (alignforge strengthen), as HumanEval+."
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Verify in this process's sandbox pool, or on Ray: one pool per node, one shared verdict cache.",
)
@click.option(
    "--ray-address",
    default=None,
    help="With --executor ray: the Ray cluster to join (default: RAY_ADDRESS, else a local Ray).",
)
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
    plus: bool,
    executor: str,
    ray_address: str | None,
) -> None:
    """Verify completions in the sandbox and write one verdict per line.

    \b
    Example:
      alignforge verify --tasks data/rlvr/humaneval_full.jsonl --completions samples.jsonl \\
          --out verdicts.jsonl --k 1,5,10
      alignforge verify --tasks tasks.jsonl --completions samples.jsonl --out verdicts.jsonl \\
          --executor ray --ray-address 10.0.0.5:6379      # a sandbox pool on every Ray node
      alignforge verify calibrate --tasks data/rlvr/humaneval_full.jsonl
    """
    if ctx.invoked_subcommand is not None:
        return
    if not tasks or not completions or not out:
        raise click.UsageError("give --tasks, --completions and --out (or a subcommand such as calibrate)")
    if ray_address and executor != "ray":
        raise click.UsageError("--ray-address needs --executor ray")
    from alignforge.verify.stage import verify_file

    summary = verify_file(
        tasks,
        completions,
        out,
        workers=workers,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        partial=partial,
        isolation=isolation,
        cache=cache_path,
        ks=_ks(ks) if ks else (),
        fresh=fresh,
        plus=plus,
        executor=executor,
        ray_address=ray_address,
    )
    for line in summary.lines():
        click.echo(line)


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
    from alignforge.verify.stage import sandbox_pool
    from alignforge.verify.tasks import load_tasks

    task_map = load_tasks(tasks)
    pool = sandbox_pool(task_map, workers)
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


COMMANDS = [prepare_cmd, verify_group]
