"""Each training recipe as a stage of the contract: ``train.sft``, ``train.reward``, ``train.dpo``,
``train.kto``, ``train.grpo`` and ``train.raft``.

Inputs are the config's data files (and its gates file), plus each model that is a local folder
(the embedded checkpoint included); the parameters are the resolved config, less what only decides
where progress is reported; the output is ``logging.output_dir``, with the stage record in
``<output_dir>/stage.json``. The summary counts optimizer steps as ``written`` (the steps an earlier,
killed run had done as ``resumed``), failed gates as ``failed`` and, for RAFT, the samples not kept
with their reasons; the final metrics and the gates are ``figures``.

Post-condition: a training stage is recorded finished only when it really stepped (global step > 0)
and the trainable weights changed (checksum at the start against the end). Otherwise
:class:`NotTrained` is raised, the record stays ``running`` and a rerun trains again. A run killed
mid-training leaves the record ``running`` too; the rerun resumes from the newest checkpoint
(RAFT: from the last finished cycle).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.stages import Stage, StageSummary, run_stage
from alignforge.train.config import TrainConfig

__all__ = [
    "NotTrained",
    "TrainDPO",
    "TrainGRPO",
    "TrainKTO",
    "TrainRAFT",
    "TrainReward",
    "TrainSFT",
    "TrainStage",
    "run_training",
    "stage_for",
]

# Settings that say where progress is reported, not what is trained: left out of the fingerprint.
_REPORTING = (
    "report_to",
    "run_name",
    "wandb_project",
    "wandb_run_name",
    "mlflow_experiment",
    "mlflow_tracking_uri",
)
_MODEL_KEYS = ("base_model", "policy_model", "reference_model")
_RECIPES = {
    "sft": "sft",
    "reward": "reward_model",
    "dpo": "dpo",
    "kto": "kto",
    "grpo": "grpo",
    "raft": "raft",
}


class NotTrained(AlignforgeError):
    """A training run ended without training: no optimizer step, or weights that did not change.

    ``summary`` is what the run measured (metrics, gates); the stage is not recorded finished.
    """

    exit_code = 1

    def __init__(self, message: str, summary: StageSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class TrainStage(Stage):
    """One recipe run on a validated :class:`~alignforge.train.TrainConfig`.

    ``callbacks`` (extra TRL callbacks) watch the run; they are not parameters.
    """

    config: TrainConfig
    callbacks: list[Any] | None = field(default=None, compare=False)

    recipe: ClassVar[str] = ""  # the config's stage: sft, reward, dpo, kto, grpo, raft

    def __post_init__(self) -> None:
        if self.config.stage != self.recipe:
            raise ConfigError(
                f"{self.config.source}: a `train {self.config.stage}` config cannot run as stage {self.name}"
            )

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        from alignforge.train._loading import resolve_model

        cfg = self.config
        found: dict[str, str | os.PathLike[str] | None] = {
            f"data.{key}": cfg.data.get(key) for key in ("train_file", "validation_file", "tests")
        }
        found["constraints.gates_file"] = cfg.constraints.get("gates_file")
        for key in _MODEL_KEYS:
            path = resolve_model(cfg.model.get(key))
            if (
                path is not None and Path(path).is_dir()
            ):  # a Hub id is a name, not a file: its name is a param
                found[f"model.{key}"] = path
        return found

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        out = self.config.output_dir
        return {"out": out, "run_card": out / "run_card.json", "metrics": out / "training_metrics.json"}

    def params(self) -> dict[str, Any]:
        body = self.config.to_dict()
        body["logging"] = {k: v for k, v in body["logging"].items() if k not in _REPORTING}
        if isinstance(body.get("verifier"), dict):
            # where the sandbox runs (local or Ray) does not change a verdict, like the worker count
            body["verifier"] = {k: v for k, v in body["verifier"].items() if k != "executor"}
        return body

    def record_path(self) -> Path:
        return self.config.output_dir / "stage.json"  # the folder may not exist before the first run

    def execute(self) -> StageSummary:
        module = importlib.import_module(f"alignforge.train.{_RECIPES[self.recipe]}")
        result = getattr(module, f"{self.recipe}_recipe")(self.config, callbacks=self.callbacks)
        summary = _summary(self, result)
        why = _not_trained(result)
        if why:
            raise NotTrained(
                f"train {self.recipe}: not recorded as finished: {why} "
                f"(metrics and run card: {result.output_dir / 'run_card.json'})",
                summary,
            )
        return summary


def _summary(stage: TrainStage, result: Any) -> StageSummary:
    from alignforge.train.gates import UNITS

    out = result.output_dir
    gates = [g.to_dict() for g in result.gates]
    summary = StageSummary(
        stage.name,
        written=result.steps,
        failed=sum(not g["passed"] for g in gates),
        resumed=result.resumed_steps,
        outputs={k: str(v) for k, v in stage.outputs().items()},
        figures={
            "metrics": dict(result.metrics),
            "gates": gates,
            "passed": all(g["passed"] for g in gates),
            "output_dir": str(out),
            "stopped_early": result.stopped_early,
            "resumed_from": result.resumed_from,
            "checkpoints": list(result.checkpoints),
            "warnings": list(result.warnings),
            "steps": result.steps,
            "weights_changed": result.weights_changed,
            **result.extra,
        },
    )
    for reason, n in result.drop_reasons.items():
        summary.drop(reason, n)
    notes = [f"   model and run card in {out} ({result.steps} optimizer steps)"]
    if result.resumed_from:
        notes.append(f"   resumed from {result.resumed_from}")
    for key, value in sorted(result.metrics.items()):
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        notes.append(f"   {key:<24} {shown:<12} {UNITS.get(key, '').split(',')[0]}")
    for g in gates:
        notes.append(f"   gate {g['metric']:<19} {'pass' if g['passed'] else 'FAIL'}  {g['reason']}")
    notes += [f"   warning: {w}" for w in result.warnings]
    summary.notes = notes
    return summary


def _not_trained(result: Any) -> str | None:
    if result.steps <= 0:
        if result.stage == "raft":
            return "no cycle kept a passing sample, so no step was taken and the model is the base model"
        return "no optimizer step was taken (global step 0)"
    if not result.weights_changed:
        return (
            f"the trainable weights did not change over {result.steps} steps (every gradient was zero, "
            "e.g. every GRPO group scored the same reward)"
        )
    return None


class TrainSFT(TrainStage):
    name = "train.sft"
    recipe = "sft"


class TrainReward(TrainStage):
    name = "train.reward"
    recipe = "reward"


class TrainDPO(TrainStage):
    name = "train.dpo"
    recipe = "dpo"


class TrainKTO(TrainStage):
    name = "train.kto"
    recipe = "kto"


class TrainGRPO(TrainStage):
    name = "train.grpo"
    recipe = "grpo"


class TrainRAFT(TrainStage):
    name = "train.raft"
    recipe = "raft"


_BY_RECIPE: dict[str, type[TrainStage]] = {
    c.recipe: c for c in (TrainSFT, TrainReward, TrainDPO, TrainKTO, TrainGRPO, TrainRAFT)
}


def stage_for(cfg: TrainConfig, *, callbacks: list[Any] | None = None) -> TrainStage:
    """The stage that runs ``cfg`` (its ``stage``: sft, reward, dpo, kto, grpo, raft)."""
    return _BY_RECIPE[cfg.stage](cfg, callbacks=callbacks)


def run_training(
    cfg: TrainConfig, *, callbacks: list[Any] | None = None, expect: str | None = None
) -> StageSummary:
    """Run the recipe named by ``cfg.stage`` through the stage contract and return its summary.

    Only the main process of a multi-process launch writes the stage record.
    """
    from alignforge.train._loading import is_main_process

    if expect is not None and cfg.stage != expect:
        raise ConfigError(f"{cfg.source}: a `train {cfg.stage}` config given to run_{expect}")
    return run_stage(stage_for(cfg, callbacks=callbacks), record=is_main_process())
