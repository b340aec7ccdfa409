"""Reward-model recipe: config -> checked pairs -> TRL RewardTrainer -> train -> train/validation accuracy.

Accuracy is the share of pairs whose chosen reward is strictly above the rejected one (ties count
as wrong, as in TRL), counted over every pair with the same pass on both splits at every
evaluation (so gates can be checked there) and after training; the train/validation gap compares
like with like (not TRL's mean of per-batch accuracies, nor its running average over training).
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback

from alignforge._deps import require
from alignforge.records import Kind
from alignforge.stages import StageSummary
from alignforge.train._data import load_split, to_dataset
from alignforge.train._loading import load_causal_lm, load_tokenizer, lora_config
from alignforge.train._recipe_steps import RecipeResult, finish, make_monitor, set_report_env, train_resuming
from alignforge.train.config import TrainConfig, trl_args

__all__ = ["run_reward", "reward_recipe"]


def run_reward(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> StageSummary:
    """Train ``reward`` as the ``train.reward`` stage (see :mod:`alignforge.train.stage`): a finished run
    with the same config, data and base model is reused; a killed one resumes from its checkpoint."""
    from alignforge.train.stage import run_training

    return run_training(cfg, callbacks=callbacks, expect="reward")


def reward_recipe(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> RecipeResult:
    trl = require("trl", extra="train")
    started = time.time()
    set_report_env(cfg)

    # 1. Data: preference pairs, read strictly.
    data = load_split(cfg, Kind.DPO, stage="reward")

    # 2. A sequence classifier with one output on top of the base model.
    tokenizer = load_tokenizer(cfg)
    model = load_causal_lm(cfg, sequence_classification=True)
    model.config.pad_token_id = tokenizer.pad_token_id

    # 3. The TRL trainer; exact accuracies at every evaluation, before the monitor checks gates.
    monitor = make_monitor(cfg, "reward")
    accuracy = _Accuracy(monitor)
    train_set = to_dataset(data.train, Kind.DPO)
    trainer = trl.RewardTrainer(
        model=model,
        args=trl_args(cfg),
        train_dataset=train_set,
        eval_dataset=to_dataset(data.validation, Kind.DPO),
        processing_class=tokenizer,
        peft_config=lora_config(cfg, task_type="SEQ_CLS"),
        callbacks=[accuracy, monitor, *(callbacks or [])],
    )
    accuracy.trainer = trainer

    # 4. Train, resuming when a checkpoint exists.
    resume = train_resuming(trainer, cfg, monitor)

    # 5. Measure: the final evaluation (train and validation accuracy, see _Accuracy).
    trainer.evaluate()

    # 6. Gates, saved model, run card.
    return finish(
        cfg, monitor, trainer=trainer, data_report=data.report, resumed_from=resume, started=started
    )


class _Accuracy(TrainerCallback):
    """Train and validation accuracy over every pair, with the same pass, at each evaluation (TRL's own
    eval accuracy is a mean of per-batch means, off when the last batch is short)."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        self.trainer: Any = None

    def on_evaluate(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.trainer is None:
            return
        train_acc = _pair_accuracy(self.trainer, self.trainer.train_dataset)
        val_acc = _pair_accuracy(self.trainer, self.trainer.eval_dataset)
        self.monitor.metrics.update(
            rm_train_accuracy=train_acc, rm_val_accuracy=val_acc, rm_train_val_gap=train_acc - val_acc
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
