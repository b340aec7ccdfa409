"""``workflow: dpo``: seed 001's seven stages as steps of the contract, then rounds, then the decision.

:func:`build_dpo` validates the whole file and builds every fixed step before anything runs;
:func:`run_dpo` runs them, then the iterative rounds (each decided continue / stop / rollback with its
reason), then stage 7 on the best checkpoint. Step names: ``sft.*`` (stage 1), ``baseline.suites``,
``pairs.*`` (2), ``init.check`` (3), ``reward.train`` (4), ``dpo.*`` (5), ``roundN.*`` (6),
``final.*`` (7). The file's keys are in :mod:`alignforge.workflow.template`.

The parts: the file's sections and their checks in :mod:`~alignforge.workflow._dpo_doc`, the step
builders in :mod:`~alignforge.workflow._dpo_steps`, the rounds and their decision in
:mod:`~alignforge.workflow._dpo_rounds`, stage 7 in :mod:`~alignforge.workflow._dpo_final`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.workflow._dpo_doc import (
    INIT_KEYS,
    PREF_KEYS,
    RM_KEYS,
    SFT_KEYS,
    STEP_KEYS,
    TOP_KEYS,
    read_evaluation,
    read_gates,
    read_rounds,
    read_share,
)
from alignforge.workflow._dpo_final import retention, run_final
from alignforge.workflow._dpo_rounds import (
    decide,
    min_retention,
    record_round,
    round_metrics,
    run_round,
    train_metrics,
)
from alignforge.workflow._dpo_steps import (
    SET_BY_WORKFLOW,
    make_stage,
    merge_step,
    pair_check,
    registered_stage,
    stage_params,
    suites_step,
    train_config,
    train_raw,
    train_step,
)
from alignforge.workflow.generic import check_step_inputs, launcher_of
from alignforge.workflow.run import Launcher, Runner, Step, gates_of
from alignforge.workflow.schema import Doc

__all__ = ["DPOPlan", "build_dpo", "run_dpo", "SET_BY_WORKFLOW", "decide", "retention"]


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
    doc.check_keys((), doc.data, TOP_KEYS)
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
    doc.section(("sft",), SFT_KEYS)
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
        validation = read_share(doc, ("sft", "validation"), 0.1)
        split = make_stage(
            "split", sft_data, r / "sft", validation=validation, seed=doc.typed(("sft", "seed"), int, 0)
        )
        steps.append(Step("sft.split", "90/10 split of the SFT data", split))
        out = split.outputs()
        raw = train_raw(
            doc,
            ("sft", "train"),
            {
                "model": {"base_model": model},
                "data": {"train_file": str(out["out"]), "validation_file": str(out["validation"])},
                "logging": {"output_dir": str(r / "sft" / "model")},
            },
        )
        cfg = train_config(doc, ("sft", "train"), raw, "sft")
        steps.append(
            Step("sft.train", "SFT training", make_stage("train.sft", cfg), kind="train", train_config=raw)
        )
        merge_sft = cfg.model["lora"] is not None
        sft_model = str(r / "sft" / ("merged" if merge_sft else "model"))
    steps.append(merge_step("sft.merge", r / "sft" / "model", Path(sft_model), merge_sft))

    evaluation = read_evaluation(doc, bench_dir)
    steps.append(
        suites_step(
            "baseline.suites",
            "Baseline evaluation (stage-7 suites on the SFT model)",
            sft_model,
            r / "evals" / "sft",
            evaluation,
        )
    )

    # Stage 2: preference data.
    doc.section(("preference",), PREF_KEYS)
    prompts = doc.file(("preference", "prompts"))
    generate = stage_params(doc, ("preference", "generate"), "generate.dpo", {"input_file", "output_file"})
    pairs = r / "pairs"
    gen = make_stage(
        "generate.dpo", input_file=str(prompts), output_file=str(pairs / "generated.jsonl"), **generate
    )
    steps.append(Step("pairs.generate", "Generate preference pairs", gen))
    last = Path(gen.outputs()["out"])
    if doc.get(("preference", "judge")) is not None:
        judge = stage_params(doc, ("preference", "judge"), "judge", {"data", "out"})
        st = make_stage("judge", data=str(last), out=str(pairs / "judged.jsonl"), **judge)
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
    dedup = stage_params(doc, ("preference", "dedup"), "dedup", {"data", "out"})
    st = make_stage("dedup", data=last, out=pairs / "dedup.jsonl", **dedup)
    steps.append(Step("pairs.dedup", "Deduplicate", st))
    decon = stage_params(doc, ("preference", "decontaminate"), "decontaminate", {"data", "out"})
    decon.setdefault("benchmark_dir", bench_dir)
    if decon["benchmark_dir"] is not None:
        decon["benchmark_dir"] = Path(decon["benchmark_dir"])
    st = make_stage("decontaminate", data=pairs / "dedup.jsonl", out=pairs / "clean.jsonl", **decon)
    steps.append(Step("pairs.decontaminate", "Decontaminate", st))
    gates = read_gates(doc)
    gates_stage = doc.typed(("preference", "gates_stage"), str, "preference_data")
    check, check_json, failing = pair_check(pairs / "clean.jsonl", pairs, gates, gates_stage, decon, "check")
    steps.append(
        Step("pairs.check", "Pair gates (keep passing)", check, report_role="html", failing_rows=failing)
    )
    split = make_stage(
        "split",
        pairs / "checked.jsonl",
        pairs,
        validation=read_share(doc, ("preference", "validation"), 0.2),
        seed=doc.typed(("preference", "seed"), int, 0),
    )
    steps.append(Step("pairs.split", "80/20 split by prompt", split))
    train_pairs, val_pairs = Path(split.outputs()["out"]), Path(split.outputs()["validation"])

    # Stage 3: model initialisation.
    init = doc.section(("init_check",), INIT_KEYS)
    st = registered_stage(doc, ("init_check",), "train.init_check")(
        policy=sft_model, reference=sft_model, validation=val_pairs, out_dir=r / "init", **init
    )
    steps.append(
        Step("init.check", "Initialisation checks (KL ~ 0, loss ~ ln 2, rewards ~ 0)", st, kind="eval")
    )

    # Stage 4: reward model (optional).
    if doc.get(("reward_model",)) is not None:
        doc.section(("reward_model",), RM_KEYS)
        raw = train_raw(
            doc,
            ("reward_model", "train"),
            {
                "model": {"base_model": sft_model},
                "data": {"train_file": str(train_pairs), "validation_file": str(val_pairs)},
                "logging": {"output_dir": str(r / "reward")},
            },
        )
        cfg = train_config(doc, ("reward_model", "train"), raw, "reward")
        steps.append(train_step("reward.train", "Reward model", "train.reward", cfg, raw))
        if doc.typed(("reward_model", "filter"), bool, False):
            filt = make_stage(
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
    dpo_raw = train_raw(
        doc,
        ("dpo",),
        {
            "model": {"base_model": sft_model},
            "data": {"train_file": str(train_pairs), "validation_file": str(val_pairs)},
            "logging": {"output_dir": str(r / "dpo" / "round1")},
        },
    )
    cfg = train_config(doc, ("dpo",), dpo_raw, "dpo")
    dpo_step = train_step("dpo.train", "DPO (KL and margin gates)", "train.dpo", cfg, dpo_raw)
    steps.append(dpo_step)
    merge = cfg.model["lora"] is not None
    dpo_model = str(r / "dpo" / ("round1_merged" if merge else "round1"))
    steps.append(merge_step("dpo.merge", r / "dpo" / "round1", Path(dpo_model), merge))

    rounds = read_rounds(doc, generate)
    check_step_inputs(doc, steps, STEP_KEYS)
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
        "metrics": train_metrics(dpo_summary),
    }
    first = {**round_metrics(best["metrics"]), "win_rate": None, "retention": None}
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
        outcome = run_round(plan, runner, k, prev)
        decision, reason = decide(
            prev["round_metrics"],
            outcome["round_metrics"],
            min_gain=plan.rounds["min_gain"],
            last=k == count + 1,
            retention_min=min_retention(plan),
        )
        record_round(m, k, outcome["model"], outcome["round_metrics"], decision, reason)
        runner.echo(f"[round {k}] {decision}: {reason}")
        if decision == "rollback":
            break
        best = prev = outcome
        if decision == "stop":
            break
    return run_final(plan, runner, best)
