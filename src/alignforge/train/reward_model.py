"""Reward-model recipe: config -> checked pairs -> TRL RewardTrainer -> train -> train/validation accuracy.

Accuracy is the share of pairs whose chosen reward is strictly above the rejected one (ties count
as wrong, as in TRL), counted over every pair with the same pass on both splits at every
evaluation (so gates can be checked there) and after training; the train/validation gap compares
like with like (not TRL's mean of per-batch accuracies, nor its running average over training).

The summary's ``rm_gates`` figure holds the seed's stage-4 checklist as workflow gate dicts: train and
validation accuracy >= 70 % and a train/validation gap < 10 % (``constraints.rm_accuracy_target`` and
``rm_gap_max`` move the bounds; ``constraints.on_fail`` is their ``on_fail``). ``filter_pairs`` (stage
``train.reward_filter``) then drops the pairs the trained model disagrees with, each with its reason.
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
from alignforge.train.init_check import make_gate
from alignforge.train.reward_filter import filter_pairs

__all__ = ["RM_ACCURACY_MIN", "RM_GAP_MAX", "filter_pairs", "reward_recipe", "rm_gates", "run_reward"]

RM_ACCURACY_MIN = 0.70  # the seed's stage 4: training and validation accuracy >= 70 %
RM_GAP_MAX = 0.10  # and train/validation gap < 10 % (overfitting)


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

    # 6. Gates (the stage-4 checklist as workflow gates beside the configured ones), saved model, run card.
    extra = {"rm_gates": rm_gates(monitor.metrics, cfg.constraints)}
    return finish(
        cfg,
        monitor,
        trainer=trainer,
        data_report=data.report,
        resumed_from=resume,
        started=started,
        extra=extra,
    )


def rm_gates(metrics: dict[str, Any], constraints: dict[str, Any]) -> list[dict[str, Any]]:
    """Accuracy >= 70 % on both splits and train/validation gap < 10 %, as workflow gate dicts."""
    acc = constraints.get("rm_accuracy_target")
    gap = constraints.get("rm_gap_max")
    acc = RM_ACCURACY_MIN if acc is None else float(acc)
    gap = RM_GAP_MAX if gap is None else float(gap)
    on_fail = constraints.get("on_fail") or "stop"
    unit = "fraction, ties count as wrong"
    return [
        make_gate(key, key, metrics.get(key), ">=", acc, unit, on_fail=on_fail)
        for key in ("rm_train_accuracy", "rm_val_accuracy")
    ] + [
        make_gate(
            "rm_train_val_gap",
            "rm_train_val_gap",
            metrics.get("rm_train_val_gap"),
            "<",
            gap,
            "fraction (train accuracy - validation accuracy)",
            on_fail=on_fail,
        )
    ]


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
