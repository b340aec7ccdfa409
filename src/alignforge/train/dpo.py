"""DPO recipe: config -> checked pairs -> TRL DPOTrainer -> train -> KL, margin, accuracy -> gates -> run card.

Fast-path switches (all in the config, all TRL's own): ``compute.precision: bf16``,
``training.precompute_ref_log_probs: true`` (the reference model is freed after one pass),
``compute.gradient_checkpointing: false`` (TRL's default is on), ``compute.liger: auto``.
"""

from __future__ import annotations

import time
from typing import Any

from alignforge._deps import require
from alignforge.records import Kind
from alignforge.stages import StageSummary
from alignforge.train._data import cut_prompts, load_split, to_dataset
from alignforge.train._loading import load_causal_lm, load_tokenizer, lora_config
from alignforge.train._recipe_steps import (
    RecipeResult,
    finish,
    last_checkpoint,
    make_monitor,
    pin_tensorboard_dir,
    set_report_env,
    train_resuming,
)
from alignforge.train.config import TrainConfig, trl_args

__all__ = ["run_dpo", "dpo_recipe"]


def run_dpo(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> StageSummary:
    """Train ``dpo`` as the ``train.dpo`` stage (see :mod:`alignforge.train.stage`): a finished run
    with the same config, data and base model is reused; a killed one resumes from its checkpoint."""
    from alignforge.train.stage import run_training

    return run_training(cfg, callbacks=callbacks, expect="dpo")


def dpo_recipe(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RecipeResult:
    trl = require("trl", extra="train")
    started = time.time()
    set_report_env(cfg)

    # 1. Data, through the same strict reader as `check`.
    data = load_split(cfg, Kind.DPO, stage="dpo")

    # 2. Policy, tokenizer and the frozen reference (kept when the KL monitor needs it; PEFT needs none).
    tokenizer = load_tokenizer(cfg)
    cut_prompts(data, tokenizer, cfg.data["max_prompt_length"])  # the template's max_prompt_length
    policy = load_causal_lm(cfg)
    peft_config = lora_config(cfg)
    need_ref = peft_config is None and (cfg.monitors["kl_prompts"] or cfg.model["reference_model"])
    ref = load_causal_lm(cfg, "reference") if need_ref else None

    # 3. The TRL trainer, with our monitor riding along.
    args = trl_args(cfg)
    monitor = make_monitor(
        cfg, "dpo", tokenizer=tokenizer, prompts=[r["prompt"] for r in data.validation], ref_model=ref
    )
    trainer = trl.DPOTrainer(
        model=policy,
        ref_model=ref,
        args=args,
        train_dataset=to_dataset(data.train, Kind.DPO),
        eval_dataset=to_dataset(data.validation, Kind.DPO),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[monitor, *(callbacks or [])],
    )
    if ref is not None:
        monitor.ref_model = trainer.ref_model

    # 4. Train (resuming from the newest checkpoint when there is one). A fresh run first evaluates
    #    once: the log-prob baseline of the "chosen and rejected both fell" warning.
    if monitor.logp_trend_warning and data.validation and last_checkpoint(cfg) is None:
        pin_tensorboard_dir(trainer)
        trainer.evaluate()
    resume = train_resuming(trainer, cfg, monitor)

    # 5. Measure: the monitor takes margin, accuracy and log-probs on the validation pairs from this
    #    evaluation and samples the policy on held-out prompts for KL.
    trainer.evaluate()

    # 6. Gates, the saved model with training_metrics.json, and the run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )
