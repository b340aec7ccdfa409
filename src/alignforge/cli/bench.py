"""``alignforge bench``: pass@k of verdicts, checkpoint scores (the ``evaluate.checkpoint`` stage),
capability suites, retention, win rate and the deployment decision, over :mod:`alignforge.evaluate`."""

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


def _options(items: tuple[str, ...], flag: str) -> dict:
    import yaml

    from alignforge.errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key] = yaml.safe_load(value)
    return out


@bench_group.command("winrate")
@click.argument("judgments", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--model", help="Tuned model spec (local:<dir>, openai:<model>, ...): generate and judge.")
@click.option("--baseline", help="Baseline model spec.")
@click.option(
    "--prompts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Held-out prompts JSONL (field prompt).",
)
@click.option("--judge", "judge_spec", help="Judge model spec (the pairwise judge, both orders).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--limit", type=int, help="Only the first N prompts.")
@click.option("--max-new-tokens", type=int, default=256, show_default=True)
@click.option(
    "--judge-option", "judge_options", multiple=True, metavar="KEY=VALUE", help="Judge backend option."
)
@click.option(
    "--model-option", "model_options", multiple=True, metavar="KEY=VALUE", help="Option of both models."
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path))
def winrate_cmd(
    judgments, model, baseline, prompts, judge_spec, out_dir, limit, max_new_tokens, judge_options,
    model_options, json_out,
) -> None:  # fmt: skip
    """Win rate against the baseline: from a judgments file, or end to end (answers from both models on
    held-out prompts, judged pairwise in both orders; the ``evaluate.winrate`` stage).

    \b
    Examples:
      alignforge bench winrate judgments.jsonl
      alignforge bench winrate --model local:outputs/dpo --baseline local:outputs/sft \
        --prompts data/heldout.jsonl --judge openai:gpt-4o-mini --out eval/winrate
    """
    from alignforge.errors import ConfigError

    if judgments is not None:
        if any(v is not None for v in (model, baseline, prompts, judge_spec, out_dir)):
            raise ConfigError(
                "bench winrate: give a judgments file, or --model/--baseline/--prompts/--judge/--out"
            )
        from alignforge.evaluate import win_rate

        r = win_rate(judgments)
        lo, hi = r["ci95"]
        click.echo(
            f"win rate {r['win_rate']:.3f} (95% CI {lo:.3f}-{hi:.3f}) over {r['judgments']} judgments: "
            f"{r['wins']} wins, {r['ties']} ties, {r['losses']} losses; {r['order_disagreements']} order disagreements"
        )
        _emit(r, json_out)
        return
    missing = [f"--{n}" for n, v in (("model", model), ("baseline", baseline), ("prompts", prompts),
                                     ("judge", judge_spec), ("out", out_dir)) if v is None]  # fmt: skip
    if missing:
        raise ConfigError(f"bench winrate: missing {', '.join(missing)} (or give a judgments file)")
    from alignforge.evaluate.winrate import WinRateStage
    from alignforge.stages import run_stage

    summary = run_stage(
        WinRateStage(
            model,
            baseline,
            prompts,
            judge_spec,
            out_dir,
            max_new_tokens=max_new_tokens,
            limit=limit,
            judge_options=_options(judge_options, "--judge-option") or None,
            model_options=_options(model_options, "--model-option") or None,
        )
    )
    for line in summary.lines():
        click.echo(line)
    _emit(dict(summary.figures), json_out)


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


@bench_group.command("decision")
@click.option("--baseline-suites", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--tuned-suites", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--winrate", type=click.Path(dir_okay=False, path_type=Path), help="winrate.json of bench winrate."
)
@click.option(
    "--training-metrics",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint's training_metrics.json.",
)
@click.option(
    "--decontamination",
    type=click.Path(dir_okay=False, path_type=Path),
    help="`check --json` metrics or a `decontaminate --report` of the training data.",
)
@click.option(
    "--thresholds",
    "thresholds_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML/JSON in the seed's EVALUATION_CONFIG shape (default: the seed's values).",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
def decision_cmd(
    baseline_suites, tuned_suites, winrate, training_metrics, decontamination, thresholds_path, out_dir
) -> None:
    """Deploy or not: the seed's evaluation thresholds, every failed gate named; writes decision.json and
    evaluation_report.md. Exit 0 to deploy, 1 not to deploy, 2 on bad input.

    \b
    Example:
      alignforge bench decision --baseline-suites eval/baseline/suites.json --tuned-suites eval/dpo/suites.json \
        --winrate eval/winrate/winrate.json --training-metrics outputs/dpo/training_metrics.json \
        --decontamination metrics.json --out eval/decision
    """
    from alignforge.errors import ConfigError
    from alignforge.evaluate.decision import run_decision

    thresholds = None
    if thresholds_path is not None:
        import yaml

        try:
            thresholds = yaml.safe_load(thresholds_path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{thresholds_path}: no such thresholds file") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{thresholds_path}: not valid YAML ({exc})") from None
        if not isinstance(thresholds, dict):
            raise ConfigError(f"{thresholds_path}: expected a mapping (the seed's EVALUATION_CONFIG shape)")
        thresholds = thresholds.get("EVALUATION_CONFIG", thresholds)
    summary = run_decision(
        baseline_suites=baseline_suites,
        tuned_suites=tuned_suites,
        out_dir=out_dir,
        winrate=winrate,
        training_metrics=training_metrics,
        decontamination=decontamination,
        thresholds=thresholds,
    )
    for g in summary.gates:
        value = "not measured" if g["value"] is None else f"{g['value']:.4f}"
        click.echo(
            f"{'PASS' if g['passed'] else 'FAIL'}  {g['name']:28s} {value:>12s}  {g['op']} {g['bound']:g}"
        )
    for line in summary.lines():
        click.echo(line)
    sys.exit(0 if summary.deploy else 1)


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
