"""GRPO recipe: config -> checked prompt/task rows -> verifiers as TRL reward functions -> GRPOTrainer ->
train -> mean reward, zero-variance groups, validation pass rate, KL -> gates -> run card.

TRL logs ``reward`` and ``frac_reward_zero_std`` per step; the monitor keeps them as ``mean_reward``
and ``frac_zero_std_groups``. After training, ``num_generations`` samples per validation prompt give
``pass_rate`` (share that pass the first reward function, the verifier) and ``pass_at_1``.
"""

from __future__ import annotations

import time
from typing import Any

from alignforge._deps import require
from alignforge.errors import ConfigError
from alignforge.stages import StageSummary
from alignforge.train._data import load_split
from alignforge.train._loading import load_causal_lm, load_tokenizer, lora_config
from alignforge.train._recipe_steps import RecipeResult, finish, make_monitor, set_report_env, train_resuming
from alignforge.train._rollout import pass_at_k, sample, score, task_columns
from alignforge.train.config import TrainConfig, trl_args
from alignforge.train.rewards import check_task_domains, implementation, resolve_rewards

__all__ = ["run_grpo", "grpo_recipe"]


def run_grpo(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> StageSummary:
    """Train ``grpo`` as the ``train.grpo`` stage (see :mod:`alignforge.train.stage`): a finished run
    with the same config, data and base model is reused; a killed one resumes from its checkpoint."""
    from alignforge.train.stage import run_training

    return run_training(cfg, callbacks=callbacks, expect="grpo")


def grpo_recipe(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RecipeResult:
    trl = require("trl", extra="train")
    datasets = require("datasets", extra="train")
    started = time.time()
    set_report_env(cfg)

    # 1. Data: prompts with what the verifiers need (answer, or tests + entry_point), read strictly.
    data = load_split(cfg, None, stage="grpo")
    names = cfg.rewards["functions"]
    if "verified" in names:  # a task of no known domain: refused before anything is sampled
        check_task_domains(cfg.data)
    funcs = resolve_rewards(
        names,
        timeout_s=cfg.rewards["timeout_s"],
        judge_model=cfg.rewards["judge_model"],
        executor=cfg.verifier["executor"],
    )
    weights = cfg.rewards["weights"]
    if weights is not None and len(weights) != len(funcs):
        raise ConfigError(
            f"{cfg.source}: rewards.weights has {len(weights)} values for {len(funcs)} functions"
        )
    data.report["rewards"] = {n: implementation(n) for n in names}

    # 2. Policy, tokenizer, and a reference for the KL monitor (PEFT: adapters off).
    tokenizer = load_tokenizer(cfg)
    policy = load_causal_lm(cfg)
    peft_config = lora_config(cfg)
    ref = load_causal_lm(cfg, "reference") if peft_config is None and cfg.monitors["kl_prompts"] else None

    # 3. The TRL trainer with the verifiers as reward functions.
    monitor = make_monitor(
        cfg, "grpo", tokenizer=tokenizer, prompts=[r["prompt"] for r in data.validation], ref_model=ref
    )
    args = trl_args(cfg, reward_weights=weights)
    trainer = trl.GRPOTrainer(
        model=policy,
        reward_funcs=funcs,
        args=args,
        train_dataset=datasets.Dataset.from_dict(task_columns(data.train)),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[monitor, *(callbacks or [])],
    )

    # 4. Train, resuming when a checkpoint exists.
    resume = train_resuming(trainer, cfg, monitor)

    # 5. Measure: validation pass rate from fresh samples, and KL on policy samples.
    n = cfg.training["num_generations"]
    completions = sample(
        trainer.model,
        tokenizer,
        [r["prompt"] for r in data.validation],
        n=n,
        temperature=cfg.training["temperature"],
        max_new_tokens=cfg.training["max_completion_length"],
        seed=cfg.training["seed"],
    )
    _, passed = score(funcs, data.validation, completions, weights)
    flat = [p for group in passed for p in group]
    monitor.metrics["pass_rate"] = sum(flat) / len(flat)
    at1 = [pass_at_k(len(g), sum(g), 1) for g in passed]
    monitor.metrics["pass_at_1"] = sum(a for a in at1 if a is not None) / len(at1)
    monitor.measure_kl(trainer.model)

    # 6. Gates, saved model, run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )
