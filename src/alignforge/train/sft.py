"""SFT recipe: config -> checked rows -> TRL SFTTrainer -> train -> validation loss -> gates -> run card."""

from __future__ import annotations

import time
from typing import Any

from alignforge._deps import require
from alignforge.records import Kind
from alignforge.train._data import load_split, to_dataset
from alignforge.train._run import RunResult, finish, make_monitor, set_report_env, train_resuming
from alignforge.train._runtime import load_causal_lm, load_tokenizer, lora_config
from alignforge.train.config import TrainConfig, trl_args

__all__ = ["run_sft"]


def run_sft(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RunResult:
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
