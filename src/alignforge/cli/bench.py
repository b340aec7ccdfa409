"""``alignforge bench``: pass@k of verdicts, checkpoint scores (the ``evaluate.checkpoint`` stage) and suites; the
deployment commands (retention, win rate, decision) live in :mod:`alignforge.cli._bench_deploy`."""

from __future__ import annotations

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


@bench_group.command("suites")
@click.option(
    "--model",
    required=True,
    help="Model spec: local, local:<checkpoint folder> (openai:... for generated suites).",
)
@click.option(
    "--suite",
    "suites",
    multiple=True,
    required=True,
    metavar="NAME[:LIMIT]",
    help="humaneval, mbpp, gsm8k, math500, arc_challenge, truthfulqa_mc1 or mmlu; repeatable.",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--benchmark-dir", help="Folder with the benchmarks' original files (default: the alignforge cache)."
)
@click.option("--max-new-tokens", type=int, default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the choice of LIMIT items.")
@click.option("--workers", type=int, help="Sandbox workers (default: the CPU count).")
def suites_cmd(model, suites, out_dir, benchmark_dir, max_new_tokens, seed, workers) -> None:
    """Capability suites of one model: pass@1 / accuracy by the project's verifiers, multiple choice by
    log-likelihood (lm-eval's task definitions); writes OUT/suites.json.

    \b
    Example:
      alignforge bench suites --model local --suite arc_challenge:100 --suite gsm8k:50 \
        --benchmark-dir ../shared/benchmarks --out eval/baseline
    """
    from alignforge.errors import ConfigError
    from alignforge.evaluate.suites import run_suites

    parsed = []
    for item in suites:
        name, sep, limit = item.partition(":")
        try:
            parsed.append({"name": name, "limit": int(limit) if sep else None})
        except ValueError:
            raise ConfigError(
                f"--suite {item!r}: expected NAME or NAME:LIMIT with an integer LIMIT"
            ) from None
    summary = run_suites(
        model,
        parsed,
        out_dir,
        benchmark_dir=benchmark_dir,
        max_new_tokens=max_new_tokens,
        seed=seed,
        workers=workers,
    )
    for line in summary.lines():
        click.echo(line)


@bench_group.command("checkpoint")
@click.option(
    "--model", required=True, help="Backend spec: local, local:/path/to/checkpoint, openai:<model>, ..."
)
@click.option(
    "--tasks", type=click.Path(dir_okay=False, path_type=Path), required=True, help="RLVR task file."
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--n", type=int, default=10, show_default=True, help="Samples per task.")
@click.option("--k", "ks", default="1,5,10", show_default=True)
@click.option("--temperature", type=float, default=0.8, show_default=True)
@click.option("--max-tokens", type=int, default=384, show_default=True)
@click.option("--limit", type=int, help="Only the first N tasks.")
def checkpoint_cmd(model, tasks, out_dir, n, ks, temperature, max_tokens, limit) -> None:
    """Sample n completions per task, verify them in the sandbox, report pass@k (resumable: cached).

    \b
    Example:
      alignforge bench checkpoint --model local:outputs/dpo --tasks data/rlvr/humaneval_validation.jsonl --out scores/dpo
    """
    from alignforge.evaluate import score_checkpoint

    summary = score_checkpoint(
        model, tasks, out_dir, n=n, ks=_ks(ks), temperature=temperature, max_tokens=max_tokens, limit=limit
    )
    for line in summary.lines():
        click.echo(line)


@bench_group.command("checkpoints")
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="benchmark.yaml."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="SECTION.KEY=VALUE",
    help="Override one config key (YAML value), repeatable.",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--workers", type=int, help="Sandbox workers (default: the CPU count).")
def checkpoints_cmd(config_path: str, overrides: tuple[str, ...], out_dir: Path, workers: int | None) -> None:
    """Score every checkpoint of a benchmark.yaml: samples_per_problem x k_values, one table and report.json.

    \b
    Example:
      alignforge bench checkpoints --config examples/seeds/benchmark.yaml --out scores
      alignforge bench checkpoints --config benchmark.yaml --set 'model.checkpoints=[local]' --out scores
    """
    import yaml

    from alignforge.errors import ConfigError
    from alignforge.evaluate import load_benchmark_config, score_checkpoints

    parsed = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE")
        parsed[key] = yaml.safe_load(value)
    cfg = load_benchmark_config(config_path, overrides=parsed)
    report = score_checkpoints(cfg, out_dir, workers=workers)
    heads = [f"pass@{k}" for k in cfg.k_values]
    width = max(len("checkpoint"), *(len(n) for n in report["checkpoints"]))
    click.echo(f"{'checkpoint':<{width}}  " + "  ".join(f"{h:>8}" for h in heads))
    for name, row in report["checkpoints"].items():
        click.echo(f"{name:<{width}}  " + "  ".join(_cell(row["pass_at_k"][h]) for h in heads))
    click.echo(
        f"{report['n_tasks']} tasks x {cfg.samples_per_problem} samples per checkpoint; "
        f"report -> {out_dir / 'report.json'}"
    )


from alignforge.cli._bench_deploy import register as _register_deploy  # noqa: E402

_register_deploy(bench_group)
COMMANDS = [bench_group]


def _cell(value: float | None) -> str:
    return f"{'n/a':>8}" if value is None else f"{value:>8.3f}"
