"""Stage 7 of the DPO workflow: the evaluation suites and the win rate on the best checkpoint, then
the deployment decision, with the retention figures and the decision written to the manifest."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignforge.workflow._dpo_steps import make_stage, suites_step
from alignforge.workflow.run import Runner, Step

if TYPE_CHECKING:
    from alignforge.workflow.dpo import DPOPlan

__all__ = ["run_final", "retention", "read_json"]


def run_final(plan: DPOPlan, runner: Runner, best: dict[str, Any]) -> dict[str, Any]:
    """Run stage 7 on ``best``; the evaluation and the decision go to the manifest; returns the decision."""
    ev, r = plan.evaluation, plan.run_dir
    tag = "round1" if best["round"] == 1 else f"round{best['round']}"
    runner.run(
        suites_step(
            "final.suites",
            f"Evaluation suites on the best checkpoint (round {best['round']})",
            best["model"],
            r / "evals" / tag,
            ev,
        )
    )
    wr = make_stage(
        "evaluate.winrate",
        model=f"local:{best['model']}",
        baseline=f"local:{plan.sft_model}",
        prompts=ev["prompts"],
        judge=ev["judge"],
        out_dir=r / "final" / "winrate",
        max_new_tokens=ev["winrate_max_new_tokens"],
        limit=ev["winrate_limit"],
    )
    runner.run(Step("final.winrate", "Win rate vs the baseline (SFT) on held-out prompts", wr, kind="eval"))
    metrics_file = Path(best["train_dir"]) / "training_metrics.json"
    dec = make_stage(
        "evaluate.decision",
        baseline_suites=r / "evals" / "sft" / "suites.json",
        tuned_suites=r / "evals" / tag / "suites.json",
        winrate=r / "final" / "winrate" / "winrate.json",
        training_metrics=metrics_file if metrics_file.exists() else None,
        decontamination=plan.check_json,
        thresholds=ev["thresholds"],
        out_dir=r / "final",
    )
    runner.run(Step("final.decision", "Deployment decision", dec, kind="eval", stops=False))
    decision = read_json(r / "final" / "decision.json")
    base, tuned = read_json(r / "evals" / "sft" / "suites.json"), read_json(r / "evals" / tag / "suites.json")
    m = runner.manifest
    m.data["evaluation"] = {
        **retention(base, tuned),
        "win_rate": read_json(r / "final" / "winrate" / "winrate.json"),
        "checkpoint": m.rel(best["model"]),
    }
    m.data["decision"] = {
        "deploy": bool(decision.get("deploy")),
        "failed": list(decision.get("failed") or []),
        "reason": str(decision.get("reason", "")),
    }
    m.write()
    return dict(m.data["decision"])


def retention(base: dict[str, Any], tuned: dict[str, Any]) -> dict[str, Any]:
    """Per suite: baseline, tuned, ratio and a two-sided z-test; retention = the worst ratio."""
    suites: dict[str, Any] = {}
    for name, b in (base.get("suites") or {}).items():
        t = (tuned.get("suites") or {}).get(name)
        if t is None:
            continue
        ratio = t["score"] / b["score"] if b.get("score") else None
        se = math.sqrt((b.get("se") or 0.0) ** 2 + (t.get("se") or 0.0) ** 2)
        z = (t["score"] - b["score"]) / se if se > 0 else None
        p = math.erfc(abs(z) / math.sqrt(2)) if z is not None else None
        suites[name] = {"baseline": b, "tuned": t, "ratio": ratio, "z": z, "p": p}
    ratios = [s["ratio"] for s in suites.values() if s["ratio"] is not None]
    return {"suites": suites, "retention": min(ratios) if ratios else None}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file's object; ``{}`` when it is missing or unreadable."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return {}
