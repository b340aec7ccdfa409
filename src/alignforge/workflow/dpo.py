"""``workflow: dpo``: seed 001's seven stages as steps of the contract, then rounds, then the decision.

:func:`build_dpo` validates the whole file and builds every fixed step before anything runs;
:func:`run_dpo` runs them, then the iterative rounds (each decided continue / stop / rollback with its
reason), then stage 7 on the best checkpoint. Step names: ``sft.*`` (stage 1), ``baseline.suites``,
``pairs.*`` (2), ``init.check`` (3), ``reward.train`` (4), ``dpo.*`` (5), ``roundN.*`` (6),
``final.*`` (7). The file's keys are in :mod:`alignforge.workflow.template`.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.stages import Stage, StageSummary, get_stage
from alignforge.workflow.generic import check_step_inputs, launcher_of
from alignforge.workflow.run import Launcher, Runner, Step, gates_of
from alignforge.workflow.schema import Doc, Key

__all__ = ["DPOPlan", "build_dpo", "run_dpo", "SET_BY_WORKFLOW"]

_TOP = {
    "workflow",
    "description",
    "executor",
    "launcher",
    "model",
    "benchmark_dir",
    "sft",
    "preference",
    "init_check",
    "reward_model",
    "dpo",
    "rounds",
    "evaluation",
}
_SFT = {"data", "validation", "seed", "sft_checkpoint", "train"}
_PREF = {
    "prompts",
    "generate",
    "judge",
    "dedup",
    "decontaminate",
    "gates",
    "gates_stage",
    "validation",
    "seed",
}
_INIT = {"beta", "max_pairs", "kl_prompts", "max_new_tokens", "kl_max", "loss_tol", "reward_tol"}
_RM = {"train", "filter"}
_ROUNDS = {
    "count",
    "prompts",
    "prompts_per_round",
    "samples_per_prompt",
    "min_gain",
    "judge_model",
    "max_tokens",
}
_EVAL = {
    "suites",
    "max_new_tokens",
    "seed",
    "prompts",
    "judge",
    "winrate_limit",
    "winrate_max_new_tokens",
    "thresholds",
}
SUITES = ("humaneval", "mbpp", "gsm8k", "math500", "arc_challenge", "truthfulqa_mc1", "mmlu")
# Train-config keys the workflow fills in from earlier stages.
SET_BY_WORKFLOW = {
    ("model", "base_model"),
    ("model", "policy_model"),
    ("model", "reference_model"),
    ("data", "train_file"),
    ("data", "validation_file"),
    ("logging", "output_dir"),
}


@dataclass
class DPOPlan:
    doc: Doc
    run_dir: Path
    executor: str
    launcher: Launcher
    steps: list[Step]
    sft_model: str
    pairs_val: Path
    dpo_step: Step
    dpo_model: str
    check_json: Path
    rounds: dict[str, Any]
    evaluation: dict[str, Any]
    dpo_raw: dict[str, Any]
    generate: dict[str, Any]
    gates: Any
    merge: bool
    extra: dict[str, Any] = field(default_factory=dict)


def build_dpo(doc: Doc, run_dir: Path) -> DPOPlan:
    """Validate the file and build the fixed steps (stages 1-5); see the module docstring."""
    doc.check_keys((), doc.data, _TOP)
    executor = doc.typed(("executor",), str, "local")
    if executor not in ("local", "ray"):
        raise doc.error(("executor",), f"{executor!r} is not one of local, ray")
    launcher = launcher_of(doc, ("launcher",))
    model = doc.typed(("model",), str, "embedded")
    bench = doc.typed(("benchmark_dir",), str)
    bench_dir = str(doc.resolve(bench)) if bench else None
    if bench_dir and not Path(bench_dir).is_dir():
        raise doc.error(("benchmark_dir",), f"folder {bench_dir} does not exist")
    steps: list[Step] = []
    r = run_dir

    # Stage 1: SFT preparation.
    doc.section(("sft",), _SFT)
    ckpt = doc.typed(("sft", "sft_checkpoint"), str)
    if ckpt:
        ckpt_path = doc.resolve(ckpt)
        if not ckpt_path.is_dir():
            raise doc.error(("sft", "sft_checkpoint"), f"model folder {ckpt_path} does not exist")
        sft_model = str(ckpt_path)
        steps.append(
            Step("sft.split", "90/10 split of the SFT data", None, skip_reason="sft_checkpoint given")
        )
        steps.append(
            Step("sft.train", "SFT training", None, skip_reason=f"sft_checkpoint given: {ckpt_path}")
        )
        merge_sft = False
    else:
        sft_data = doc.file(("sft", "data"))
        validation = _share(doc, ("sft", "validation"), 0.1)
        split = _make(
            "split", sft_data, r / "sft", validation=validation, seed=doc.typed(("sft", "seed"), int, 0)
        )
        steps.append(Step("sft.split", "90/10 split of the SFT data", split))
        out = split.outputs()
        raw = _train_raw(
            doc,
            ("sft", "train"),
            {
                "model": {"base_model": model},
                "data": {"train_file": str(out["out"]), "validation_file": str(out["validation"])},
                "logging": {"output_dir": str(r / "sft" / "model")},
            },
        )
        cfg = _train_config(doc, ("sft", "train"), raw, "sft")
        steps.append(
            Step("sft.train", "SFT training", _make("train.sft", cfg), kind="train", train_config=raw)
        )
        merge_sft = cfg.model["lora"] is not None
        sft_model = str(r / "sft" / ("merged" if merge_sft else "model"))
    steps.append(_merge_step("sft.merge", r / "sft" / "model", Path(sft_model), merge_sft))

    evaluation = _evaluation(doc, bench_dir)
    steps.append(
        _suites_step(
            "baseline.suites",
            "Baseline evaluation (stage-7 suites on the SFT model)",
            sft_model,
            r / "evals" / "sft",
            evaluation,
        )
    )

    # Stage 2: preference data.
    doc.section(("preference",), _PREF)
    prompts = doc.file(("preference", "prompts"))
    generate = _params(doc, ("preference", "generate"), "generate.dpo", {"input_file", "output_file"})
    pairs = r / "pairs"
    gen = _make(
        "generate.dpo", input_file=str(prompts), output_file=str(pairs / "generated.jsonl"), **generate
    )
    steps.append(Step("pairs.generate", "Generate preference pairs", gen))
    last = Path(gen.outputs()["out"])
    if doc.get(("preference", "judge")) is not None:
        judge = _params(doc, ("preference", "judge"), "judge", {"data", "out"})
        st = _make("judge", data=str(last), out=str(pairs / "judged.jsonl"), **judge)
        steps.append(Step("pairs.judge", "Judge the pairs", st))
        last = Path(st.outputs()["out"])
    else:
        steps.append(
            Step(
                "pairs.judge",
                "Judge the pairs",
                None,
                skip_reason="no preference.judge: generate's judge scores stand",
            )
        )
    dedup = _params(doc, ("preference", "dedup"), "dedup", {"data", "out"})
    st = _make("dedup", data=last, out=pairs / "dedup.jsonl", **dedup)
    steps.append(Step("pairs.dedup", "Deduplicate", st))
    decon = _params(doc, ("preference", "decontaminate"), "decontaminate", {"data", "out"})
    decon.setdefault("benchmark_dir", bench_dir)
    if decon["benchmark_dir"] is not None:
        decon["benchmark_dir"] = Path(decon["benchmark_dir"])
    st = _make("decontaminate", data=pairs / "dedup.jsonl", out=pairs / "clean.jsonl", **decon)
    steps.append(Step("pairs.decontaminate", "Decontaminate", st))
    gates = _gates(doc)
    gates_stage = doc.typed(("preference", "gates_stage"), str, "preference_data")
    check, check_json, failing = _check(pairs / "clean.jsonl", pairs, gates, gates_stage, decon, "check")
    steps.append(
        Step("pairs.check", "Pair gates (keep passing)", check, report_role="html", failing_rows=failing)
    )
    split = _make(
        "split",
        pairs / "checked.jsonl",
        pairs,
        validation=_share(doc, ("preference", "validation"), 0.2),
        seed=doc.typed(("preference", "seed"), int, 0),
    )
    steps.append(Step("pairs.split", "80/20 split by prompt", split))
    train_pairs, val_pairs = Path(split.outputs()["out"]), Path(split.outputs()["validation"])

    # Stage 3: model initialisation.
    init = doc.section(("init_check",), _INIT)
    st = _stage(doc, ("init_check",), "train.init_check")(
        policy=sft_model, reference=sft_model, validation=val_pairs, out_dir=r / "init", **init
    )
    steps.append(
        Step("init.check", "Initialisation checks (KL ~ 0, loss ~ ln 2, rewards ~ 0)", st, kind="eval")
    )

    # Stage 4: reward model (optional).
    if doc.get(("reward_model",)) is not None:
        doc.section(("reward_model",), _RM)
        raw = _train_raw(
            doc,
            ("reward_model", "train"),
            {
                "model": {"base_model": sft_model},
                "data": {"train_file": str(train_pairs), "validation_file": str(val_pairs)},
                "logging": {"output_dir": str(r / "reward")},
            },
        )
        cfg = _train_config(doc, ("reward_model", "train"), raw, "reward")
        steps.append(_train_step("reward.train", "Reward model", "train.reward", cfg, raw))
        if doc.typed(("reward_model", "filter"), bool, False):
            filt = _make(
                "train.reward_filter",
                model_dir=r / "reward",
                pairs=train_pairs,
                out=r / "reward" / "filtered_train.jsonl",
            )
            steps.append(Step("reward.filter", "Drop the pairs the reward model disagrees with", filt))
            train_pairs = Path(filt.outputs()["out"])
        else:
            steps.append(
                Step(
                    "reward.filter",
                    "Reward-model pair filter",
                    None,
                    skip_reason="reward_model.filter is false",
                )
            )
    else:
        steps.append(Step("reward.train", "Reward model", None, skip_reason="no reward_model section"))
        steps.append(
            Step("reward.filter", "Reward-model pair filter", None, skip_reason="no reward_model section")
        )

    # Stage 5: DPO.
    dpo_raw = _train_raw(
        doc,
        ("dpo",),
        {
            "model": {"base_model": sft_model},
            "data": {"train_file": str(train_pairs), "validation_file": str(val_pairs)},
            "logging": {"output_dir": str(r / "dpo" / "round1")},
        },
    )
    cfg = _train_config(doc, ("dpo",), dpo_raw, "dpo")
    dpo_step = _train_step("dpo.train", "DPO (KL and margin gates)", "train.dpo", cfg, dpo_raw)
    steps.append(dpo_step)
    merge = cfg.model["lora"] is not None
    dpo_model = str(r / "dpo" / ("round1_merged" if merge else "round1"))
    steps.append(_merge_step("dpo.merge", r / "dpo" / "round1", Path(dpo_model), merge))

    rounds = _rounds(doc, generate)
    check_step_inputs(doc, steps, _STEP_KEYS)
    return DPOPlan(
        doc,
        r,
        executor,
        launcher,
        steps,
        sft_model,
        val_pairs,
        dpo_step,
        dpo_model,
        check_json,
        rounds,
        evaluation,
        dpo_raw,
        generate,
        gates,
        merge,
        {"decon": decon, "gates_stage": gates_stage},
    )


def run_dpo(plan: DPOPlan, runner: Runner) -> dict[str, Any]:
    """Run stages 1-7; returns the decision (also in the manifest)."""
    m = runner.manifest
    runner.insert_before = "final.suites"  # rounds appear between stage 5 and stage 7
    for step in plan.steps:
        runner.run(step)
    dpo_summary = runner.summaries["dpo.train"]
    best: dict[str, Any] = {
        "round": 1,
        "model": plan.dpo_model,
        "train_dir": str(plan.run_dir / "dpo" / "round1"),
        "metrics": _train_metrics(dpo_summary),
    }
    first = {**_round_metrics(best["metrics"]), "win_rate": None, "retention": None}
    first["gates_failed"] = [g["name"] for g in gates_of(dpo_summary) if not g["passed"]]
    count = plan.rounds["count"]
    record_round(
        m,
        1,
        plan.dpo_model,
        first,
        "continue" if count else "stop",
        "stage 5's DPO" + ("" if count else "; rounds.count is 0"),
    )
    prev: dict[str, Any] = {**best, "round_metrics": first}
    for k in range(2, count + 2):
        outcome = _run_round(plan, runner, k, prev)
        decision, reason = decide(
            prev["round_metrics"],
            outcome["round_metrics"],
            min_gain=plan.rounds["min_gain"],
            last=k == count + 1,
            retention_min=_retention_min(plan),
        )
        record_round(m, k, outcome["model"], outcome["round_metrics"], decision, reason)
        runner.echo(f"[round {k}] {decision}: {reason}")
        if decision == "rollback":
            break
        best = prev = outcome
        if decision == "stop":
            break
    return _final(plan, runner, best)


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
    shown = {key: metrics.get(key) for key in ("margin", "kl", "accuracy", "win_rate", "retention")}
    entry = {"round": k, "checkpoint": m.rel(model), "metrics": shown, "decision": decision, "reason": reason}
    m.data["rounds"] = [e for e in m.data["rounds"] if e["round"] < k] + [entry]
    m.write()


# --- rounds -------------------------------------------------------------------------------------


def _run_round(plan: DPOPlan, runner: Runner, k: int, prev: dict[str, Any]) -> dict[str, Any]:
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
    gen = _make("generate.dpo", input_file=str(prompts), output_file=str(r / "pairs.jsonl"), **gen_params)
    runner.run(Step(f"round{k}.generate", f"Round {k}: on-policy pairs from round {prev['round']}", gen))
    check, _, failing = _check(
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
    cfg = _train_config(plan.doc, ("dpo",), raw, "dpo")
    summary = runner.run(
        _train_step(
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
        _suites_step(
            f"round{k}.suites",
            f"Round {k}: retention suites",
            model,
            plan.run_dir / "evals" / f"round{k}",
            ev,
        )
    )
    wr = _make(
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
    metrics = _train_metrics(summary)
    rm = _round_metrics(metrics)
    rm["gates_failed"] = [g["name"] for g in gates_of(summary) if not g["passed"]]
    rm["win_rate"] = _json(r / "winrate" / "winrate.json").get("win_rate")
    rm["retention"] = retention(
        _json(plan.run_dir / "evals" / "sft" / "suites.json"),
        _json(plan.run_dir / "evals" / f"round{k}" / "suites.json"),
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


# --- stage 7 ------------------------------------------------------------------------------------


def _final(plan: DPOPlan, runner: Runner, best: dict[str, Any]) -> dict[str, Any]:
    ev, r = plan.evaluation, plan.run_dir
    tag = "round1" if best["round"] == 1 else f"round{best['round']}"
    runner.run(
        _suites_step(
            "final.suites",
            f"Evaluation suites on the best checkpoint (round {best['round']})",
            best["model"],
            r / "evals" / tag,
            ev,
        )
    )
    wr = _make(
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
    dec = _make(
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
    decision = _json(r / "final" / "decision.json")
    base, tuned = _json(r / "evals" / "sft" / "suites.json"), _json(r / "evals" / tag / "suites.json")
    m = runner.manifest
    m.data["evaluation"] = {
        **retention(base, tuned),
        "win_rate": _json(r / "final" / "winrate" / "winrate.json"),
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


# --- helpers ------------------------------------------------------------------------------------


def _train_metrics(summary: StageSummary) -> dict[str, Any]:
    return dict(summary.figures.get("metrics") or {})


def _round_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    margin = metrics.get("reward_margin", metrics.get("preference_gap"))
    return {
        "margin": margin,
        "kl": metrics.get("kl_divergence"),
        "accuracy": metrics.get("preference_accuracy"),
    }


def _retention_min(plan: DPOPlan) -> float:
    q = ((plan.evaluation["thresholds"] or {}).get("quality_thresholds") or {}).get(
        "capability_retention"
    ) or {}
    return float(q.get("min", 0.95))


def _json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return {}


def _make(name: str, *args: Any, **kwargs: Any) -> Stage:
    """An instance of the registered stage ``name``."""
    cls: Any = get_stage(name)
    stage: Stage = cls(*args, **kwargs)
    return stage


def _stage(doc: Doc, at: Key, name: str) -> Any:
    """The registered stage ``name``; an unregistered one is an error naming the key that needs it."""
    try:
        return get_stage(name)
    except ConfigError as exc:
        raise doc.error(at, f"needs stage {name!r}, which is not registered ({exc})") from None


def _share(doc: Doc, at: Key, default: float) -> float:
    v = doc.typed(at, (int, float), default)
    if not 0 < v < 1:
        raise doc.error(at, f"must lie strictly between 0 and 1, got {v}")
    return float(v)


def _params(doc: Doc, at: Key, stage_name: str, reserved: set[str]) -> dict[str, Any]:
    import dataclasses

    cls = get_stage(stage_name)
    known: set[str] = (
        {f.name for f in dataclasses.fields(cls)} - reserved if dataclasses.is_dataclass(cls) else set()
    )
    body = doc.section(at)
    out = {}
    for key, value in body.items():
        if key in reserved:
            raise doc.error((*at, key), "is set by the workflow (from the previous stage)")
        if key not in known:
            raise doc.error((*at, key), f"unknown key: {stage_name} takes {', '.join(sorted(known))}")
        out[key] = value
    return out


def _train_raw(doc: Doc, at: Key, sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    body = copy.deepcopy(doc.section(at))
    for section, keys in sets.items():
        sec = body.setdefault(section, {}) or {}
        body[section] = sec
        for key, value in keys.items():
            if (section, key) in SET_BY_WORKFLOW and key in sec and sec[key] is not None:
                raise doc.error(
                    (*at, section, key), "is set by the workflow (from the previous stage): remove it"
                )
            sec[key] = value
    return body


def _train_config(doc: Doc, at: Key, raw: dict[str, Any], stage: str) -> Any:
    from alignforge.train.config import parse_config

    raw = copy.deepcopy(raw)
    cons = raw.setdefault("constraints", {}) or {}
    raw["constraints"] = cons
    try:
        return parse_config(raw, stage, source=str(doc.path))
    except ConfigError as exc:
        text = str(exc).removeprefix(f"{doc.path}: ")
        for match in re.finditer(r"\b([a-z_]+)\.([a-z_]+)(?:\.([a-z_]+))?", text):
            path = tuple(p for p in match.groups() if p)
            if (*at, *path) in doc.lines or (*at, *path[:1]) in doc.lines:
                raise doc.error((*at, *path), text) from None
        raise doc.error(at, text) from None


def _train_step(name: str, title: str, stage_name: str, cfg: Any, raw: dict[str, Any]) -> Step:
    """A training step: the config's on_fail decides whether a failed gate stops the run; the stage
    itself always runs with on_fail: flag, so its record is finished and a rerun reuses it."""
    on_fail = cfg.constraints["on_fail"]
    cfg.constraints["on_fail"] = "flag"
    raw = copy.deepcopy(raw)
    raw.setdefault("constraints", {})["on_fail"] = "flag"

    def read(summary: StageSummary) -> list[dict[str, Any]]:
        return [dict(g, on_fail=on_fail if g["on_fail"] == "stop" else "flag") for g in gates_of(summary)]

    return Step(name, title, _make(stage_name, cfg), kind="train", gates=read, train_config=raw)


def _merge_step(name: str, adapter: Path, out: Path, merge: bool) -> Step:
    if not merge:
        return Step(name, "Merge the LoRA adapter", None, skip_reason="full fine-tuning: nothing to merge")
    return Step(
        name,
        "Merge the LoRA adapter into a plain checkpoint",
        _make("workflow.merge", adapter, out),
        kind="train",
    )


def _suites_step(name: str, title: str, model: str, out_dir: Path, ev: dict[str, Any]) -> Step:
    st = _make(
        "evaluate.suites",
        model=f"local:{model}",
        suites=ev["suites"],
        out_dir=out_dir,
        benchmark_dir=ev["benchmark_dir"],
        max_new_tokens=ev["max_new_tokens"],
        seed=ev["seed"],
    )
    return Step(name, title, st, kind="eval")


def _check(
    data: Path, folder: Path, gates: Any, gates_stage: str, decon: dict[str, Any], stem: str
) -> tuple[Stage, Path, Path]:
    against = decon.get("against")
    if isinstance(against, list | tuple):
        against = list(against)
    st = _make(
        "check",
        data=data,
        keep_passing=folder / "checked.jsonl",
        json_out=folder / f"{stem}.json",
        html_out=folder / f"{stem}.html",
        failing_rows=folder / "failing_rows",
        gates=gates,
        gates_stage=gates_stage,
        against=against,
        benchmark_dir=decon.get("benchmark_dir"),
    )
    return st, folder / f"{stem}.json", folder / "failing_rows"


def _gates(doc: Doc) -> Any:
    at: Key = ("preference", "gates")
    value = doc.get(at)
    if value is None:
        return None
    if isinstance(value, str):
        return doc.file(at)
    if not isinstance(value, dict):
        raise doc.error(at, "a gates file path or a gates mapping (the `alignforge gates init` shape)")
    import tempfile

    import yaml

    from alignforge.quality.gates import load_gates

    with tempfile.TemporaryDirectory() as tmp:  # validated by the gates file's own loader
        p = Path(tmp) / "gates.yaml"
        p.write_text(yaml.safe_dump(value), encoding="utf-8")
        try:
            load_gates(p)
        except ConfigError as exc:
            raise doc.error(at, str(exc).replace(f"{p}: ", "")) from None
    return value


def _rounds(doc: Doc, generate: dict[str, Any]) -> dict[str, Any]:
    at: Key = ("rounds",)
    doc.section(at, _ROUNDS)
    count = doc.typed((*at, "count"), int, 0)
    out: dict[str, Any] = {
        "count": count,
        "prompts": None,
        "prompts_per_round": doc.typed((*at, "prompts_per_round"), int, 8),
        "samples_per_prompt": doc.typed((*at, "samples_per_prompt"), int, 4),
        "min_gain": float(doc.typed((*at, "min_gain"), (int, float), 0.0)),
        "judge_model": doc.typed((*at, "judge_model"), str) or generate.get("judge_model"),
        "max_tokens": doc.typed((*at, "max_tokens"), int),
    }
    if count < 0:
        raise doc.error((*at, "count"), "must be >= 0")
    if count:
        out["prompts"] = doc.file((*at, "prompts"))
        rows = sum(1 for line in out["prompts"].read_text(encoding="utf-8").splitlines() if line.strip())
        need = count * out["prompts_per_round"]
        if rows < need:
            raise doc.error(
                (*at, "prompts"),
                f"{rows} prompts, but {count} rounds x {out['prompts_per_round']} fresh prompts need {need}",
            )
    return out


# The file's section each step is built from: a missing input is reported at its key.
_STEP_KEYS: dict[str, Key] = {
    "sft.split": ("sft", "data"),
    "sft.train": ("sft", "train"),
    "baseline.suites": ("evaluation", "suites"),
    "pairs.generate": ("preference", "prompts"),
    "pairs.judge": ("preference", "judge"),
    "pairs.dedup": ("preference", "dedup"),
    "pairs.decontaminate": ("preference", "decontaminate"),
    "pairs.check": ("preference", "gates"),
    "init.check": ("init_check",),
    "reward.train": ("reward_model",),
    "reward.filter": ("reward_model", "filter"),
    "dpo.train": ("dpo",),
}


def _evaluation(doc: Doc, bench_dir: str | None) -> dict[str, Any]:
    at: Key = ("evaluation",)
    doc.section(at, _EVAL)
    suites = doc.typed((*at, "suites"), list)
    if not suites:
        raise doc.error((*at, "suites"), "is required: a list of {name, limit}")
    checked = []
    for i, s in enumerate(suites):
        where = (*at, "suites", i)
        if not isinstance(s, dict):
            raise doc.error(where, "expected {name: ..., limit: ...}")
        doc.check_keys(where, s, {"name", "limit"})
        name = doc.typed((*where, "name"), str)
        if name not in SUITES:
            raise doc.error((*where, "name"), f"{name!r} is not one of {', '.join(SUITES)}")
        checked.append({"name": name, "limit": doc.typed((*where, "limit"), int)})
        probe = _make(
            "evaluate.suites",
            model="none:probe",
            suites=[checked[-1]],
            out_dir=Path("."),
            benchmark_dir=bench_dir,
        )
        if probe.inputs().get(f"suite.{name}") is None:
            from alignforge.curate import resolve_benchmark_dir

            folder = resolve_benchmark_dir(bench_dir)
            raise doc.error(
                (*where, "name"),
                f"no {name} data under the benchmark folder {folder} (set benchmark_dir, or ALIGNFORGE_BENCHMARK_DIR)",
            )
    thresholds = doc.section(
        (*at, "thresholds"),
        {"capability_benchmarks", "quality_thresholds", "win_rate", "alignment_evaluation"},
    )
    if thresholds:
        from alignforge.evaluate.decision import normalize_thresholds

        try:
            normalize_thresholds(copy.deepcopy(thresholds))
        except ConfigError as exc:
            raise doc.error((*at, "thresholds"), str(exc)) from None
    return {
        "suites": checked,
        "benchmark_dir": bench_dir,
        "max_new_tokens": doc.typed((*at, "max_new_tokens"), int, 256),
        "seed": doc.typed((*at, "seed"), int, 0),
        "prompts": doc.file((*at, "prompts")),
        "judge": doc.typed((*at, "judge"), str, "local"),
        "winrate_limit": doc.typed((*at, "winrate_limit"), int),
        "winrate_max_new_tokens": doc.typed((*at, "winrate_max_new_tokens"), int, 256),
        "thresholds": thresholds or None,
    }
