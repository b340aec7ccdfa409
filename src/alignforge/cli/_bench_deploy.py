"""The deployment half of ``alignforge bench``: capability retention, win rate and the
deployment decision (seed 001's evaluation stage). Registered on the ``bench`` group by
:mod:`alignforge.cli.bench`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["register"]


def register(bench_group: click.Group) -> None:
    """Add the deployment commands to the ``bench`` group."""
    for command in (retention_cmd, winrate_cmd, decision_cmd):
        bench_group.add_command(command)


def _emit(report: dict, json_out: Path | None) -> None:
    import orjson

    if json_out:
        json_out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


@click.command("retention")
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


@click.command("winrate")
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


@click.command("decision")
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
    from alignforge.evaluate.decision import load_thresholds, run_decision

    thresholds = None if thresholds_path is None else load_thresholds(thresholds_path)
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
