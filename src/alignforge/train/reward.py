"""Reward-model recipe: config -> checked pairs -> TRL RewardTrainer -> train -> train/validation accuracy.

Accuracy is the share of pairs whose chosen reward is strictly above the rejected one (ties count
as wrong, as in TRL). Both are measured after training with the same evaluation pass, so the
train/validation gap compares like with like (not TRL's running average over training batches).
"""

from __future__ import annotations

import time
from typing import Any

from alignforge._deps import require
from alignforge.records import Kind
from alignforge.train._data import load_split, to_dataset
from alignforge.train._run import RunResult, finish, last_checkpoint, make_monitor, set_report_env
from alignforge.train._runtime import load_causal_lm, load_tokenizer, lora_config
from alignforge.train.config import TrainConfig, trl_args

__all__ = ["run_reward"]


def run_reward(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RunResult:
    trl = require("trl", extra="train")
    started = time.time()
    set_report_env(cfg)

    # 1. Data: preference pairs, read strictly.
    data = load_split(cfg, Kind.DPO, stage="reward")

    # 2. A sequence classifier with one output on top of the base model.
    tokenizer = load_tokenizer(cfg)
    model = load_causal_lm(cfg, sequence_classification=True)
    model.config.pad_token_id = tokenizer.pad_token_id

    # 3. The TRL trainer.
    monitor = make_monitor(cfg, "reward")
    train_set = to_dataset(data.train, Kind.DPO)
    trainer = trl.RewardTrainer(
        model=model,
        args=trl_args(cfg),
        train_dataset=train_set,
        eval_dataset=to_dataset(data.validation, Kind.DPO),
        processing_class=tokenizer,
        peft_config=lora_config(cfg, task_type="SEQ_CLS"),
        callbacks=[monitor, *(callbacks or [])],
    )

    # 4. Train, resuming when a checkpoint exists.
    resume = last_checkpoint(cfg)
    if resume:
        monitor.restore(resume)
    trainer.train(resume_from_checkpoint=resume)

    # 5. Measure: train accuracy, then validation accuracy with the same evaluation pass. TRL names
    #    its own metrics eval_* whatever the prefix, so the validation pass runs last for the monitor.
    on_train = trainer.evaluate(eval_dataset=train_set, metric_key_prefix="train_eval")
    train_acc = float(on_train.get("train_eval_accuracy", on_train["eval_accuracy"]))
    trainer.evaluate()
    monitor.metrics["rm_train_accuracy"] = train_acc
    monitor.metrics["rm_train_val_gap"] = train_acc - monitor.metrics["rm_val_accuracy"]

    # 6. Gates, saved model, run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )
