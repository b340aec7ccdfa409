"""What every recipe does around TRL: monitor set-up, resume, final gates, the saved model and run card."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import GateFailure
from alignforge.train._runtime import is_main_process, world_size
from alignforge.train.gates import GateResult, gates_for
from alignforge.train.monitors import Monitor, write_metrics

__all__ = ["RunResult", "finish", "last_checkpoint", "make_monitor", "set_report_env", "train_resuming"]

RUN_CARD = "run_card.json"


@dataclass
class RunResult:
    stage: str
    output_dir: Path
    metrics: dict[str, Any]
    gates: list[GateResult]
    warnings: list[str] = field(default_factory=list)
    stopped_early: bool = False
    resumed_from: str | None = None
    checkpoints: list[str] = field(default_factory=list)

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
    """The newest ``checkpoint-N`` under the output dir when ``training.resume`` is on."""
    if not cfg.training["resume"] or not cfg.output_dir.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(cfg.output_dir))


def train_resuming(trainer: Any, cfg: Any, monitor: Monitor) -> str | None:
    """``trainer.train()``, resuming from the newest checkpoint (and its monitor state) when there is one."""
    resume = last_checkpoint(cfg)
    if resume:
        monitor.restore(resume)
    trainer.train(resume_from_checkpoint=resume)
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
) -> RunResult:
    """Save the final model, write ``training_metrics.json`` and the run card, apply the gates."""
    out = cfg.output_dir
    stopped = bool(monitor.stopped_by)
    if trainer is not None:
        trainer.save_model(str(out))
        state = trainer.state
        stopped = stopped or (state.max_steps > 0 and state.global_step < state.max_steps)
    results = monitor.check()
    result = RunResult(
        stage=cfg.stage,
        output_dir=out,
        metrics=dict(monitor.metrics),
        gates=results,
        warnings=list(monitor.warnings),
        stopped_early=stopped,
        resumed_from=resumed_from,
        checkpoints=sorted(str(p) for p in out.glob("checkpoint-*") if p.is_dir()),
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


def _run_card(
    cfg: Any, result: RunResult, data: dict[str, Any], started: float | None, extra: dict[str, Any]
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
