"""RAFT recipe (the RLVR guide): per cycle, sample N completions per prompt at temperature 0.7, verify
them, keep the passing ones, SFT on them with TRL's SFTTrainer; then pass@1/5/10 on the validation
tasks. Each cycle leaves a full checkpoint in ``<output_dir>/cycle_<k>`` (LoRA adapters are merged)
with its samples, its ``training_metrics.json`` and a ``.complete`` marker; a rerun skips finished
cycles and continues from the last one. ``checkpointing.save_every_cycle: false`` keeps only the newest
cycle's weights (the older cycles keep their samples and metrics).

A cycle's kept samples are ``cycle_<k>/samples.jsonl``; the others are ``samples.dropped.jsonl``, each
with ``metadata.drop_reasons`` (``failed_verification``, ``duplicate``, ``over_keep_per_prompt``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from alignforge._deps import require
from alignforge.io import write_jsonl
from alignforge.stages import StageSummary, add_drop_reason, side_paths
from alignforge.train._data import load_split
from alignforge.train._loading import is_main_process, load_causal_lm, load_tokenizer, lora_config
from alignforge.train._recipe_steps import (
    RecipeResult,
    finish,
    make_monitor,
    set_report_env,
    weights_checksum,
)
from alignforge.train._rollout import chat_prompts, pass_at_k, sample, score
from alignforge.train.config import TrainConfig, trl_args
from alignforge.train.monitors import METRICS_FILE, write_metrics
from alignforge.train.rewards import check_task_domains, implementation, resolve_rewards

__all__ = ["run_raft", "raft_recipe"]

# A cycle's own bookkeeping in its training_metrics.json, not a metric of the model.
_BOOKKEEPING = ("cycle", "units", "stage", "steps", "weights_changed", "dropped")


def run_raft(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> StageSummary:
    """Train ``raft`` as the ``train.raft`` stage (see :mod:`alignforge.train.stage`): a finished run
    with the same config, data and base model is reused; a killed one resumes from its checkpoint."""
    from alignforge.train.stage import run_training

    return run_training(cfg, callbacks=callbacks, expect="raft")


def raft_recipe(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RecipeResult:
    trl = require("trl", extra="train")
    datasets = require("datasets", extra="train")
    started = time.time()
    set_report_env(cfg)
    r, out = cfg.raft, cfg.output_dir

    # 1. Data: tasks (prompt + answer, or prompt + tests) and the verifier that decides "passed".
    data = load_split(cfg, None, stage="raft")
    if (
        r["prompt_format"] == "chat"
    ):  # asked as the benchmark asks (evaluate.checkpoint), in the chat template
        data.train, data.validation = chat_prompts(data.train), chat_prompts(data.validation)
    data.report["prompt_format"] = r["prompt_format"]
    names = cfg.rewards["functions"]
    if "verified" in names:  # a task of no known domain: refused before anything is sampled
        check_task_domains(cfg.data)
    funcs = resolve_rewards(
        names,
        timeout_s=cfg.rewards["timeout_s"],
        judge_model=cfg.rewards["judge_model"],
        executor=cfg.verifier["executor"],
    )
    data.report["rewards"] = {n: implementation(n) for n in names}
    tokenizer = load_tokenizer(cfg)
    monitor = make_monitor(cfg, "raft")
    cycles: list[dict[str, Any]] = []
    model = None
    resumed_from = None
    resumed_steps = 0
    drop_reasons: dict[str, int] = {}

    for k in range(1, r["cycles"] + 1):
        cycle_dir = out / f"cycle_{k}"
        if (cycle_dir / ".complete").exists():  # finished earlier: take its metrics, start from it
            done = json.loads((cycle_dir / METRICS_FILE).read_text())
            cycles.append(done)
            resumed_steps += int(done.get("steps") or 0)
            resumed_from, model = str(cycle_dir), None
            continue
        if model is None:
            model = _load(cfg, resumed_from)

        # 2. Generate N samples per prompt and verify them.
        prompts = [row["prompt"] for row in data.train]
        completions = sample(
            model,
            tokenizer,
            prompts,
            n=r["samples_per_prompt"],
            temperature=r["temperature"],
            max_new_tokens=r["max_new_tokens"],
            seed=cfg.training["seed"] + k,
        )
        rewards, passed = score(funcs, data.train, completions)

        # 3. Keep the passing samples (each drop has its reasons, in samples.dropped.jsonl).
        kept, kept_log, dropped_log = _select(data.train, completions, rewards, passed, r["keep_per_prompt"])
        cycle_dir.mkdir(parents=True, exist_ok=True)
        samples = side_paths(cycle_dir / "samples.jsonl")
        write_jsonl(samples.out, kept_log)
        write_jsonl(samples.dropped, dropped_log)
        dropped: dict[str, int] = {}
        for row in dropped_log:
            reason = row["metadata"]["drop_reasons"][0]["reason"]
            dropped[reason] = dropped.get(reason, 0) + 1
            drop_reasons[reason] = drop_reasons.get(reason, 0) + 1

        # 4. SFT on what passed.
        train_loss = None
        steps, changed = 0, False
        if kept:
            before = weights_checksum(model, trainable_only=False)
            peft_config = lora_config(cfg)
            args = trl_args(
                cfg,
                stage="raft",
                output_dir=str(cycle_dir / "trainer"),
                eval_strategy="no",
                save_strategy="no",
                report_to=cfg.logging["report_to"],
            )
            trainer = trl.SFTTrainer(
                model=model,
                args=args,
                train_dataset=datasets.Dataset.from_list(kept),
                processing_class=tokenizer,
                peft_config=peft_config,
                callbacks=list(callbacks or []),
            )
            train_loss = trainer.train().training_loss
            steps = int(trainer.state.global_step)
            model = trainer.model.merge_and_unload() if peft_config is not None else trainer.model
            changed = weights_checksum(model, trainable_only=False) != before

        # 5. pass@k on the validation tasks, then the cycle checkpoint.
        metrics = _evaluate(cfg, model, tokenizer, funcs, data.validation)
        flat = [p for group in passed for p in group]
        metrics.update(
            cycle=k,
            pass_rate=sum(flat) / len(flat),
            kept_samples=len(kept),
            train_loss=train_loss,
            mean_reward=sum(x for g in rewards for x in g) / len(flat),
            # prompts whose samples all scored the same teach nothing to a group-relative method
            frac_zero_std_groups=sum(len(set(g)) <= 1 for g in rewards) / len(rewards),
            steps=steps,
            weights_changed=changed,
            dropped=dropped,
        )
        if is_main_process():
            model.save_pretrained(cycle_dir)
            tokenizer.save_pretrained(cycle_dir)
            write_metrics(cycle_dir, metrics, stage="raft")
            (cycle_dir / ".complete").write_text("ok\n")
            if not cfg.logging["save_every_cycle"] and k > 1:
                _drop_weights(out / f"cycle_{k - 1}")
        cycles.append(metrics)
        monitor.metrics.update({k2: v for k2, v in metrics.items() if k2 not in _BOOKKEEPING})
        failed = [g for g in monitor.check() if not g.passed] if cfg.constraints["check_at_eval"] else []
        if failed and cfg.constraints["on_fail"] == "stop":  # gates after every cycle, when asked
            monitor.stopped_by = failed
            break
        if failed:
            monitor.warnings.append(
                f"cycle {k}: gates failed: " + "; ".join(f"{g.metric} {g.reason}" for g in failed)
            )

    # 6. Gates on the last cycle, the final model, the run card (with every cycle's figures).
    last = cycles[-1]
    monitor.metrics.update({k2: v for k2, v in last.items() if k2 not in _BOOKKEEPING})
    # Cycles from before the stage contract have no "weights_changed": they trained when they kept samples.
    monitor.weights_changed = any(c.get("weights_changed", (c.get("kept_samples") or 0) > 0) for c in cycles)
    if model is not None and is_main_process():
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    elif is_main_process():  # every cycle was already done: the last one is the final model
        _load(cfg, resumed_from).save_pretrained(out)
        tokenizer.save_pretrained(out)
    return finish(
        cfg,
        monitor,
        data_report=data.report,
        resumed_from=resumed_from,
        started=started,
        extra={"cycles": cycles},
        steps=sum(int(c.get("steps") or 0) for c in cycles),
        resumed_steps=resumed_steps,
        drop_reasons=drop_reasons,
    )


def _load(cfg: TrainConfig, checkpoint: str | None) -> Any:
    if checkpoint is None:
        return load_causal_lm(cfg)
    from dataclasses import replace

    moved = replace(cfg, sections={**cfg.sections, "model": {**cfg.model, "policy_model": checkpoint}})
    return load_causal_lm(moved)


def _drop_weights(cycle_dir: Path) -> None:
    for pattern in ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin"):
        for path in cycle_dir.glob(pattern):
            path.unlink()


def _select(
    rows: list[dict[str, Any]],
    completions: list[list[str]],
    rewards: list[list[float]],
    passed: list[list[bool]],
    cap: int | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The SFT rows of the kept samples, the kept samples' log rows and the dropped ones (with reasons)."""
    kept, kept_log, dropped_log = [], [], []
    for i, (row, group, rs, ps) in enumerate(zip(rows, completions, rewards, passed, strict=True)):
        seen: set[str] = set()
        for j, (text, reward, ok) in enumerate(zip(group, rs, ps, strict=True)):
            entry = {
                "task_id": row.get("task_id", f"row-{i}"),
                "sample_index": j,
                "completion": text,
                "reward": reward,
                "passed": ok,
            }
            if not ok:
                dropped_log.append(add_drop_reason(entry, "failed_verification", {"reward": reward}))
            elif text in seen:
                dropped_log.append(add_drop_reason(entry, "duplicate", "the same text as a kept sample"))
            elif cap is not None and len(seen) >= cap:
                dropped_log.append(add_drop_reason(entry, "over_keep_per_prompt", {"keep_per_prompt": cap}))
            else:
                seen.add(text)
                kept_log.append(entry)
                completion: Any = (
                    text if isinstance(row["prompt"], str) else [{"role": "assistant", "content": text}]
                )
                kept.append({"prompt": row["prompt"], "completion": completion})
    return kept, kept_log, dropped_log


def _evaluate(
    cfg: TrainConfig, model: Any, tokenizer: Any, funcs: list[Any], tasks: list[dict[str, Any]]
) -> dict[str, Any]:
    r = cfg.raft
    completions = sample(
        model,
        tokenizer,
        [t["prompt"] for t in tasks],
        n=r["eval_samples"],
        temperature=r["temperature"],
        max_new_tokens=r["max_new_tokens"],
        seed=cfg.training["seed"],
    )
    _, passed = score(funcs, tasks, completions)
    out: dict[str, Any] = {}
    for k in r["pass_k"]:
        values = [pass_at_k(len(g), sum(g), int(k)) for g in passed]
        known = [v for v in values if v is not None]
        out[f"pass_at_{k}"] = sum(known) / len(known) if known else None
    return out


def cycle_dirs(output_dir: str | Path) -> list[Path]:
    """Finished cycle checkpoints, in order."""
    found = [p for p in Path(output_dir).glob("cycle_*") if (p / ".complete").exists()]
    return sorted(found, key=lambda p: int(p.name.split("_")[1]))
