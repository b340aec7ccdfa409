"""Stage 6 of the DPO workflow: the iterative rounds, each decided continue / stop / rollback.

Round k (k >= 2) generates on-policy pairs from round k-1's model on fresh prompts, gates them, trains
DPO from round k-1 with the SFT model as the reference, and measures retention and the win rate
against round k-1 (:func:`run_round`); :func:`decide` weighs it against round k-1, and
:func:`record_round` puts the decision and its reason in the manifest.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignforge.errors import ConfigError
from alignforge.stages import StageSummary
from alignforge.workflow._dpo_final import read_json, retention
from alignforge.workflow._dpo_steps import make_stage, pair_check, suites_step, train_config, train_step
from alignforge.workflow.run import Runner, Step, gates_of

if TYPE_CHECKING:
    from alignforge.workflow.dpo import DPOPlan

__all__ = ["decide", "record_round", "run_round", "train_metrics", "round_metrics", "min_retention"]


def decide(
    prev: dict[str, Any], cur: dict[str, Any], *, min_gain: float, last: bool, retention_min: float
) -> tuple[str, str]:
    """continue / stop / rollback for round N+1 against round N, with the reason.

    Rollback when a gate regressed: a training gate round N passed fails now, the validation margin
    fell, the win rate against round N is under 0.5, or retention fell under ``retention_min``.
    """
    regressed = []
    new_fails = [g for g in cur.get("gates_failed") or [] if g not in (prev.get("gates_failed") or [])]
    if new_fails:
        regressed.append(f"training gates that round N passed now fail: {', '.join(new_fails)}")
    if cur.get("win_rate") is not None and cur["win_rate"] < 0.5:
        regressed.append(f"win rate vs the previous round {cur['win_rate']:.3f} < 0.5")
    ret, before = cur.get("retention"), prev.get("retention")
    if ret is not None and ret < retention_min and (before is None or ret < before):
        regressed.append(f"retention {ret:.3f} < {retention_min:g}")
    gain = (cur.get("margin") or 0.0) - (prev.get("margin") or 0.0)
    if gain < 0:
        regressed.append(f"validation margin fell by {-gain:.4f}")
    if regressed:
        return "rollback", "; ".join(regressed) + ": the previous round stays the best"
    if gain < min_gain:
        return "stop", f"converged: validation margin gain {gain:+.4f} < min_gain {min_gain:g}"
    if last:
        return "stop", f"round limit reached (validation margin gain {gain:+.4f})"
    return "continue", f"validation margin gain {gain:+.4f} >= min_gain {min_gain:g}"


def record_round(m: Any, k: int, model: str, metrics: dict[str, Any], decision: str, reason: str) -> None:
    """Round k's entry in the manifest's ``rounds``, in place of round k's and any later round's."""
    shown = {key: metrics.get(key) for key in ("margin", "kl", "accuracy", "win_rate", "retention")}
    entry = {"round": k, "checkpoint": m.rel(model), "metrics": shown, "decision": decision, "reason": reason}
    m.data["rounds"] = [e for e in m.data["rounds"] if e["round"] < k] + [entry]
    m.write()


def run_round(plan: DPOPlan, runner: Runner, k: int, prev: dict[str, Any]) -> dict[str, Any]:
    """Run round k from ``prev``'s model; its model and metrics (``round_metrics`` for :func:`decide`)."""
    r = plan.run_dir / f"round{k}"
    rc = plan.rounds
    prompts = _round_prompts(rc["prompts"], k, rc["prompts_per_round"], r / "prompts.jsonl")
    gen_params = {
        key: v
        for key, v in plan.generate.items()
        if key not in ("strategy", "model", "best_of", "n", "limit")
    }
    gen_params.update(strategy="best-of-n", model=f"local:{prev['model']}", best_of=rc["samples_per_prompt"])
    if rc["judge_model"]:
        gen_params["judge_model"] = rc["judge_model"]
    if rc["max_tokens"]:
        gen_params["max_tokens"] = rc["max_tokens"]
    gen = make_stage(
        "generate.dpo", input_file=str(prompts), output_file=str(r / "pairs.jsonl"), **gen_params
    )
    runner.run(Step(f"round{k}.generate", f"Round {k}: on-policy pairs from round {prev['round']}", gen))
    check, _, failing = pair_check(
        r / "pairs.jsonl", r, plan.gates, plan.extra["gates_stage"], plan.extra["decon"], "check"
    )
    runner.run(
        Step(f"round{k}.check", f"Round {k}: pair gates", check, report_role="html", failing_rows=failing)
    )
    raw = copy.deepcopy(plan.dpo_raw)
    raw["model"].pop("lora", None)  # a LoRA's reference is its own base; the reference here is the SFT model
    raw["model"].update(base_model=prev["model"], policy_model=prev["model"], reference_model=plan.sft_model)
    raw["data"].update(train_file=str(r / "checked.jsonl"), validation_file=str(plan.pairs_val))
    raw["logging"]["output_dir"] = str(r / "model")
    cfg = train_config(plan.doc, ("dpo",), raw, "dpo")
    summary = runner.run(
        train_step(
            f"round{k}.train",
            f"Round {k}: DPO from round {prev['round']} (reference: SFT)",
            "train.dpo",
            cfg,
            raw,
        )
    )
    assert summary is not None
    model = str(r / "model")
    ev = plan.evaluation
    runner.run(
        suites_step(
            f"round{k}.suites",
            f"Round {k}: retention suites",
            model,
            plan.run_dir / "evals" / f"round{k}",
            ev,
        )
    )
    wr = make_stage(
        "evaluate.winrate",
        model=f"local:{model}",
        baseline=f"local:{prev['model']}",
        prompts=ev["prompts"],
        judge=ev["judge"],
        out_dir=r / "winrate",
        max_new_tokens=ev["winrate_max_new_tokens"],
        limit=ev["winrate_limit"],
    )
    runner.run(Step(f"round{k}.winrate", f"Round {k}: win rate vs round {prev['round']}", wr, kind="eval"))
    metrics = train_metrics(summary)
    rm = round_metrics(metrics)
    rm["gates_failed"] = [g["name"] for g in gates_of(summary) if not g["passed"]]
    rm["win_rate"] = read_json(r / "winrate" / "winrate.json").get("win_rate")
    rm["retention"] = retention(
        read_json(plan.run_dir / "evals" / "sft" / "suites.json"),
        read_json(plan.run_dir / "evals" / f"round{k}" / "suites.json"),
    )["retention"]
    return {
        "round": k,
        "model": model,
        "train_dir": str(r / "model"),
        "metrics": metrics,
        "round_metrics": rm,
    }


def _round_prompts(source: Path, k: int, per_round: int, out: Path) -> Path:
    """Round k's fresh prompts: rows [(k-2)*n, (k-1)*n) of the rounds' prompts file (rewritten only when they change)."""
    rows = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    chunk = rows[(k - 2) * per_round : (k - 1) * per_round]
    if not chunk:
        raise ConfigError(
            f"{source}: no fresh prompts left for round {k} ({len(rows)} rows, {per_round} a round)"
        )
    text = "\n".join(chunk) + "\n"
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    return out


def train_metrics(summary: StageSummary) -> dict[str, Any]:
    return dict(summary.figures.get("metrics") or {})


def round_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    margin = metrics.get("reward_margin", metrics.get("preference_gap"))
    return {
        "margin": margin,
        "kl": metrics.get("kl_divergence"),
        "accuracy": metrics.get("preference_accuracy"),
    }


def min_retention(plan: DPOPlan) -> float:
    """The retention floor for :func:`decide`: ``capability_retention.min`` of the thresholds, else 0.95."""
    q = ((plan.evaluation["thresholds"] or {}).get("quality_thresholds") or {}).get(
        "capability_retention"
    ) or {}
    return float(q.get("min", 0.95))
