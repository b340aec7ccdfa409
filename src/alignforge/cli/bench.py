"""``alignforge bench``: pass@k of verdicts, checkpoint scores (the ``evaluate.checkpoint`` stage),
capability retention and win rate, over :mod:`alignforge.evaluate`."""

from __future__ import annotations

import sys
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


def _emit(report: dict, json_out: Path | None) -> None:
    import orjson

    if json_out:
        json_out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


@bench_group.command("retention")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON: benchmark -> 0-1 score of the baseline (or a `bench checkpoint` report.json).",
)
@click.option(
    "--tuned",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The same for the tuned model.",
)
@click.option(
    "--gates",
    "gates_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gates YAML (evaluation stage).",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
def retention_cmd(baseline: Path, tuned: Path, gates_path: Path | None, json_out: Path | None) -> None:
    """Capability retention (tuned / baseline, the worst benchmark counts); exit 1 when below the gate.

    \b
    Example:
      alignforge bench retention --baseline sft_scores.json --tuned dpo_scores.json
    """
    from alignforge.evaluate import capability_retention, load_scores
    from alignforge.quality.gates import evaluate, load_gates
    from alignforge.quality.report import fmt, print_gates

    report = capability_retention(load_scores(baseline), load_scores(tuned))
    for name, ratio in report["per_benchmark"].items():
        click.echo(f"{name:32s} {fmt(ratio)}")
    results = evaluate(report, load_gates(gates_path), "evaluation")
    results = [r for r in results if r.name == "capability_retention"]
    print_gates(results, title="Gate: capability retention")
    report["gates"] = [r.as_dict() for r in results]
    _emit(report, json_out)
    sys.exit(1 if any(r.failed for r in results) else 0)


@bench_group.command("winrate")
@click.argument("judgments", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
def winrate_cmd(judgments: Path, json_out: Path | None) -> None:
    """Win rate against the baseline from pairwise judgments (``{"winner": tuned|baseline|tie}``).

    \b
    Example:
      alignforge bench winrate judgments.jsonl
    """
    from alignforge.evaluate import win_rate

    r = win_rate(judgments)
    lo, hi = r["ci95"]
    click.echo(
        f"win rate {r['win_rate']:.3f} (95% CI {lo:.3f}-{hi:.3f}) over {r['judgments']} judgments: "
        f"{r['wins']} wins, {r['ties']} ties, {r['losses']} losses; {r['order_disagreements']} order disagreements"
    )
    _emit(r, json_out)


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


COMMANDS = [bench_group]


def _cell(value: float | None) -> str:
    return f"{'n/a':>8}" if value is None else f"{value:>8.3f}"
