"""KTO recipe: config -> checked prompt/completion/label rows -> TRL KTOTrainer -> train -> margin, KL -> gates."""

from __future__ import annotations

import json
import time
from typing import Any

from alignforge._deps import require
from alignforge.records import Kind
from alignforge.stages import StageSummary
from alignforge.train._data import load_split, to_dataset
from alignforge.train._loading import load_causal_lm, load_tokenizer, lora_config
from alignforge.train._recipe_steps import RecipeResult, finish, make_monitor, set_report_env, train_resuming
from alignforge.train.config import TrainConfig, trl_args

__all__ = ["run_kto", "kto_recipe"]


def run_kto(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> StageSummary:
    """Train ``kto`` as the ``train.kto`` stage (see :mod:`alignforge.train.stage`): a finished run
    with the same config, data and base model is reused; a killed one resumes from its checkpoint."""
    from alignforge.train.stage import run_training

    return run_training(cfg, callbacks=callbacks, expect="kto")


def kto_recipe(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RecipeResult:
    trl = require("trl", extra="train")
    started = time.time()
    set_report_env(cfg)

    # 1. Data: prompt/completion/label rows, read strictly; both labels must be present.
    data = load_split(cfg, Kind.KTO, stage="kto")
    labels = {bool(r["label"]) for r in data.train}
    data.report["desirable_rows"] = sum(bool(r["label"]) for r in data.train)
    if labels != {True, False}:
        from alignforge.io import DataError

        raise DataError(
            cfg.data["train_file"],
            None,
            "KTO needs both desirable (true) and undesirable (false) rows",
            field="label",
        )

    # 2. Policy, tokenizer, frozen reference (for the KL monitor; PEFT needs none).
    tokenizer = load_tokenizer(cfg)
    policy = load_causal_lm(cfg)
    peft_config = lora_config(cfg)
    need_ref = peft_config is None and (cfg.monitors["kl_prompts"] or cfg.model["reference_model"])
    ref = load_causal_lm(cfg, "reference") if need_ref else None

    # 3. The TRL trainer.
    # One KL prompt per distinct validation prompt (KTO rows repeat prompts), kept in its own shape:
    # conversational prompts go through the chat template, as TRL renders them.
    unique = {json.dumps(r["prompt"], sort_keys=True): r["prompt"] for r in data.validation}
    prompts = list(unique.values())
    monitor = make_monitor(cfg, "kto", tokenizer=tokenizer, prompts=prompts, ref_model=ref)
    trainer = trl.KTOTrainer(
        model=policy,
        ref_model=ref,
        args=trl_args(cfg),
        train_dataset=to_dataset(data.train, Kind.KTO),
        eval_dataset=to_dataset(data.validation, Kind.KTO),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[monitor, *(callbacks or [])],
    )
    if ref is not None:
        monitor.ref_model = trainer.ref_model

    # 4. Train, resuming when a checkpoint exists.
    resume = train_resuming(trainer, cfg, monitor)

    # 5. Measure: margin and TRL's KL estimate on validation rows; our KL on policy samples.
    trainer.evaluate()

    # 6. Gates, saved model, run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )
