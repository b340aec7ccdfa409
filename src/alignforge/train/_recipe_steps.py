"""The steps every recipe shares around TRL: monitor set-up, training with resume (and the weights'
checksum before and after), then the final gates, the saved model and the run card."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import GateFailure
from alignforge.train._loading import is_main_process, world_size
from alignforge.train.gates import GateResult, gates_for
from alignforge.train.monitors import Monitor, write_metrics

__all__ = [
    "RecipeResult",
    "finish",
    "last_checkpoint",
    "make_monitor",
    "set_report_env",
    "train_resuming",
    "weights_checksum",
]

RUN_CARD = "run_card.json"


@dataclass
class RecipeResult:
    """What a recipe hands its stage (:mod:`alignforge.train.stage` turns it into the StageSummary).

    ``steps``: optimizer steps of the saved model (RAFT: over every cycle); ``resumed_steps``: those
    an earlier run had done (a checkpoint or finished cycles); ``weights_changed``: the trainable
    parameters' checksum differs between the start of the stage and its end.
    """

    stage: str
    output_dir: Path
    metrics: dict[str, Any]
    gates: list[GateResult]
    warnings: list[str] = field(default_factory=list)
    stopped_early: bool = False
    resumed_from: str | None = None
    checkpoints: list[str] = field(default_factory=list)
    steps: int = 0
    resumed_steps: int = 0
    weights_changed: bool = False
    drop_reasons: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)


def set_report_env(cfg: Any) -> None:
    """Experiment trackers read their project names from the environment; TensorBoard needs nothing."""
    lg = cfg.logging
    if lg["wandb_project"]:
        os.environ.setdefault("WANDB_PROJECT", lg["wandb_project"])
    if lg["mlflow_experiment"]:
        os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", lg["mlflow_experiment"])
    if lg["mlflow_tracking_uri"]:
        os.environ.setdefault("MLFLOW_TRACKING_URI", lg["mlflow_tracking_uri"])


def last_checkpoint(cfg: Any) -> str | None:
    """The newest complete ``checkpoint-N`` under the output dir when ``training.resume`` is on.

    A checkpoint is complete once its ``trainer_state.json`` is written (transformers writes it after
    the weights, optimizer and RNG state); a run killed while saving leaves a newer, partial folder,
    which is passed over (the resumed run writes it again when it reaches that step).
    """
    if not cfg.training["resume"] or not cfg.output_dir.is_dir():
        return None
    found = []
    for p in cfg.output_dir.glob("checkpoint-*"):
        step = p.name.rpartition("-")[2]
        if p.is_dir() and step.isdigit() and (p / "trainer_state.json").is_file():
            found.append((int(step), p))
    return str(max(found)[1]) if found else None


def weights_checksum(model: Any, *, trainable_only: bool = True) -> str:
    """A checksum of the trainable parameters (all of them in full fine-tuning, the adapters with LoRA;
    every parameter with ``trainable_only=False``).

    Per parameter, in name order: its float64 sum and sum of squares, reduced where the parameter
    lives in chunks of 16M values (no copy of the weights to the host, memory flat).
    """
    import torch

    h = hashlib.sha256()
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if trainable_only and not p.requires_grad:
                continue
            total = squares = 0.0
            for chunk in p.detach().reshape(-1).split(1 << 24):
                d = chunk.to(torch.float64)
                total += float(d.sum())
                squares += float((d * d).sum())
            h.update(f"{name}:{total!r}:{squares!r};".encode())
    return h.hexdigest()


def pin_tensorboard_dir(trainer: Any) -> None:
    """TensorBoard logs under ``<output_dir>/runs`` even when the trainer logs before it trains.

    transformers 5's TensorBoardCallback picks its folder at ``on_train_begin``; an ``evaluate()``
    before that (the DPO recipe's log-prob baseline, or a resumed run with nothing left to train)
    opens a writer on the default ``./runs`` of the current directory instead.
    """
    for cb in getattr(getattr(trainer, "callback_handler", None), "callbacks", ()):
        if type(cb).__name__ == "TensorBoardCallback" and getattr(cb, "logging_dir", "set") is None:
            cb.logging_dir = os.path.join(trainer.args.output_dir, "runs")


def train_resuming(trainer: Any, cfg: Any, monitor: Monitor) -> str | None:
    """``trainer.train()``, resuming from the newest checkpoint (and its monitor state) when there is one.

    The trainable weights are checksummed as the trainer built them (the base model, fresh adapters)
    and after training (a resumed run loads its checkpoint in between); ``monitor.weights_changed``
    says whether they differ, the post-condition of a finished training stage.
    """
    pin_tensorboard_dir(trainer)
    resume = last_checkpoint(cfg)
    if resume:
        monitor.restore(resume)
    before = weights_checksum(trainer.model)
    trainer.train(resume_from_checkpoint=resume)
    monitor.weights_changed = weights_checksum(trainer.model) != before
    return resume


def make_monitor(
    cfg: Any, stage: str, *, tokenizer: Any = None, prompts: list[Any] | None = None, ref_model: Any = None
) -> Monitor:
    mon = cfg.monitors
    gates, skipped = gates_for(cfg)
    monitor = Monitor(
        stage,
        tokenizer=tokenizer,
        kl_prompts=(prompts or [])[: mon["kl_prompts"] or 0],
        ref_model=ref_model,
        kl_max_new_tokens=mon["kl_max_new_tokens"],
        kl_temperature=mon["kl_temperature"],
        seed=cfg.training["seed"],
        gates=gates,
        check_at_eval=cfg.constraints["check_at_eval"],
        on_fail=cfg.constraints["on_fail"],
        logp_trend_warning=mon["logp_trend_warning"] if mon["logp_trend_warning"] is not None else True,
        is_main=is_main_process(),
    )
    if skipped:
        monitor.warnings.append(f"gates not applicable to train {stage}: {', '.join(skipped)}")
    wanted = cfg.compute["num_devices"]
    if wanted is not None and wanted != world_size():
        monitor.warnings.append(
            f"compute.num_devices is {wanted} but this run has {world_size()} process(es): the launcher decides "
            f"(accelerate launch --num_processes {wanted} -m alignforge train {stage} --config ...)"
        )
    return monitor


def finish(
    cfg: Any,
    monitor: Monitor,
    *,
    trainer: Any = None,
    data_report: dict[str, Any] | None = None,
    resumed_from: str | None = None,
    started: float | None = None,
    extra: dict[str, Any] | None = None,
    steps: int | None = None,
    resumed_steps: int = 0,
    drop_reasons: dict[str, int] | None = None,
) -> RecipeResult:
    """Save the final model, write ``training_metrics.json`` and the run card, apply the gates.

    ``steps`` defaults to the trainer's global step; a recipe without one trainer (RAFT) gives it.
    """
    out = cfg.output_dir
    stopped = bool(monitor.stopped_by)
    if trainer is not None:
        trainer.save_model(str(out))
        state = trainer.state
        stopped = stopped or (state.max_steps > 0 and state.global_step < state.max_steps)
        if steps is None:
            steps = int(state.global_step)
        if resumed_from:
            resumed_steps = _checkpoint_step(resumed_from)
    results = monitor.check()
    result = RecipeResult(
        stage=cfg.stage,
        output_dir=out,
        metrics=dict(monitor.metrics),
        gates=results,
        warnings=list(monitor.warnings),
        stopped_early=stopped,
        resumed_from=resumed_from,
        checkpoints=sorted(str(p) for p in out.glob("checkpoint-*") if p.is_dir()),
        steps=steps or 0,
        resumed_steps=resumed_steps,
        weights_changed=bool(monitor.weights_changed),
        drop_reasons=dict(drop_reasons or {}),
        extra=dict(extra or {}),
    )
    if is_main_process():
        step = trainer.state.global_step if trainer is not None else None
        write_metrics(
            out,
            monitor.metrics,
            stage=cfg.stage,
            step=step,
            warnings=result.warnings,
            gates=[g.to_dict() for g in results],
            gates_passed=result.passed,
        )
        _run_card(cfg, result, data_report or {}, started, extra or {})
    if not result.passed and cfg.constraints["on_fail"] == "stop":
        failed = "; ".join(f"{g.metric} {g.reason}" for g in results if not g.passed)
        raise GateFailure(f"train {cfg.stage}: gates failed: {failed} (run card: {out / RUN_CARD})")
    return result


def _checkpoint_step(path: str) -> int:
    """``.../checkpoint-12`` -> 12."""
    tail = Path(path).name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def _run_card(
    cfg: Any, result: RecipeResult, data: dict[str, Any], started: float | None, extra: dict[str, Any]
) -> None:
    import torch
    import transformers
    import trl

    card = {
        "stage": cfg.stage,
        "config_file": cfg.source,
        "config": cfg.to_dict(),
        "notes": list(getattr(cfg, "notes", [])),
        "data": data,
        "versions": {
            "trl": trl.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "processes": world_size(),
        "device": "cuda" if torch.cuda.is_available() and cfg.compute["device"] != "cpu" else "cpu",
        "resumed_from": result.resumed_from,
        "stopped_early": result.stopped_early,
        "metrics": result.metrics,
        "gates": [g.to_dict() for g in result.gates],
        "gates_passed": result.passed,
        "on_fail": cfg.constraints["on_fail"],
        "warnings": result.warnings,
        "checkpoints": result.checkpoints,
        "steps": result.steps,
        "weights_changed": result.weights_changed,
        "wall_s": round(time.time() - started, 2) if started else None,
        **extra,
    }
    (result.output_dir / RUN_CARD).write_text(json.dumps(card, indent=2, default=str) + "\n")
    lines = [
        f"# Run card: train {cfg.stage}",
        "",
        f"- config: `{cfg.source}`",
        f"- output: `{result.output_dir}`",
        f"- gates: {'PASSED' if result.passed else 'FAILED'} (on_fail: {cfg.constraints['on_fail']})",
        "",
    ]
    lines += ["| gate | threshold | value | result |", "|---|---|---|---|"]
    for g in result.gates:
        sign = ">=" if g.kind == "min" else "<="
        value = "not measured" if g.value is None else f"{g.value:.4g}"
        lines.append(
            f"| {g.metric} | {sign} {g.threshold:g} | {value} | {'flag' if g.flagged else 'pass' if g.passed else 'FAIL'} |"
        )
    lines += ["", "## Metrics", ""] + [f"- {k}: {v}" for k, v in sorted(result.metrics.items())]
    if result.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in result.warnings]
    (result.output_dir / "run_card.md").write_text("\n".join(lines) + "\n")
