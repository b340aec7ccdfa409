"""Reward-model recipe: config -> checked pairs -> TRL RewardTrainer -> train -> train/validation accuracy.

Accuracy is the share of pairs whose chosen reward is strictly above the rejected one (ties count
as wrong, as in TRL), counted over every pair after training with the same pass on both splits, so
the train/validation gap compares like with like (not TRL's mean of per-batch accuracies).
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

    # 5. Measure: train and validation accuracy with the same exact pass over every pair (TRL's own
    #    eval accuracy is a mean of per-batch means, off when the last batch is short).
    trainer.evaluate()  # eval loss and TRL's figures for the monitor
    train_acc = _pair_accuracy(trainer, trainer.train_dataset)
    val_acc = _pair_accuracy(trainer, trainer.eval_dataset)
    monitor.metrics.update(
        rm_train_accuracy=train_acc, rm_val_accuracy=val_acc, rm_train_val_gap=train_acc - val_acc
    )

    # 6. Gates, saved model, run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )


def _pair_accuracy(trainer: Any, dataset: Any) -> float:
    """Share of pairs whose chosen reward is strictly above the rejected one, over every pair."""
    import torch

    model = trainer.model
    was_training = model.training
    model.eval()
    right = total = 0
    try:
        with torch.no_grad():
            for batch in trainer.get_eval_dataloader(dataset):
                batch = trainer._prepare_inputs(batch)
                out = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
                )
                chosen, rejected = torch.chunk(out.logits.squeeze(-1), chunks=2)
                wins = trainer.accelerator.gather_for_metrics(chosen > rejected)  # ties count as wrong
                right += int(wins.sum())
                total += int(wins.numel())
    finally:
        model.train(was_training)
    return right / total
