"""SFT recipe: config -> checked rows -> TRL SFTTrainer -> train -> validation loss -> gates -> run card."""

from __future__ import annotations

import time
from typing import Any

from alignforge._deps import require
from alignforge.records import Kind
from alignforge.stages import StageSummary
from alignforge.train._data import load_split, to_dataset
from alignforge.train._loading import load_causal_lm, load_tokenizer, lora_config
from alignforge.train._recipe_steps import RecipeResult, finish, make_monitor, set_report_env, train_resuming
from alignforge.train.config import TrainConfig, trl_args

__all__ = ["run_sft", "sft_recipe"]


def run_sft(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> StageSummary:
    """Train ``sft`` as the ``train.sft`` stage (see :mod:`alignforge.train.stage`): a finished run
    with the same config, data and base model is reused; a killed one resumes from its checkpoint."""
    from alignforge.train.stage import run_training

    return run_training(cfg, callbacks=callbacks, expect="sft")


def sft_recipe(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RecipeResult:
    trl = require("trl", extra="train")
    started = time.time()
    set_report_env(cfg)

    # 1. Data: messages or prompt/completion rows, read strictly.
    data = load_split(cfg, Kind.SFT, stage="sft")

    # 2. Model and tokenizer.
    tokenizer = load_tokenizer(cfg)
    model = load_causal_lm(cfg)

    # 3. The TRL trainer.
    monitor = make_monitor(cfg, "sft")
    trainer = trl.SFTTrainer(
        model=model,
        args=trl_args(cfg),
        train_dataset=to_dataset(data.train, Kind.SFT),
        eval_dataset=to_dataset(data.validation, Kind.SFT),
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=[monitor, *(callbacks or [])],
    )

    # 4. Train, resuming when a checkpoint exists.
    resume = train_resuming(trainer, cfg, monitor)

    # 5. Measure: validation loss.
    trainer.evaluate()

    # 6. Gates, saved model, run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )
