"""The same sweep as a W&B sweep: W&B's controller samples, a local agent runs alignforge's trials.

The sweep file goes to ``wandb.sweep`` as written, less ``program`` / ``command`` (the agent calls a
function, not a script). Each run trains and gates one trial exactly as the Optuna runner does; the
metric is logged only for a trial whose gates passed, so a gated-out trial never becomes W&B's best;
its failures are in the run summary (``gates_passed``, ``failed_gates``, ``status``).

``wandb`` is not an alignforge dependency: without it this raises one line naming the install.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from alignforge._deps import MissingDependency
from alignforge.sweep.runner import WinRate, _Sweep
from alignforge.sweep.space import load_space

__all__ = ["wandb_available", "run_wandb_sweep"]


def wandb_available() -> bool:
    return importlib.util.find_spec("wandb") is not None


def run_wandb_sweep(
    config: str | os.PathLike[str],
    space: str | os.PathLike[str],
    *,
    trials: int,
    study_dir: str | os.PathLike[str],
    win_rate: WinRate | None = None,
) -> str:
    """Create the W&B sweep and run ``trials`` of it here; returns the sweep id."""
    if not wandb_available():
        raise MissingDependency(
            "wandb is not installed, so the sweep cannot run on W&B: pip install wandb "
            "(without --backend wandb it runs locally with Optuna)"
        )
    wandb: Any = importlib.import_module("wandb")
    spec = load_space(space)
    sweep = _Sweep(Path(config), spec, Path(study_dir), win_rate)
    body = {
        k: v for k, v in spec.raw.items() if k not in ("program", "command", "project", "entity", "run_cap")
    }
    sweep_id: str = wandb.sweep(sweep=body, project=spec.project or "alignforge-sweep", entity=spec.entity)

    def trial() -> None:
        with wandb.init() as run:
            params = {name: run.config[name] for name in spec.params}
            outcome = sweep.run(params)
            run.summary["status"] = outcome.status
            run.summary["gates_passed"] = outcome.passed
            run.summary["failed_gates"] = outcome.failed_gates
            run.summary["output_dir"] = outcome.output_dir
            if outcome.passed and outcome.value is not None:
                run.log({spec.metric: outcome.value})

    wandb.agent(sweep_id, function=trial, count=trials, project=spec.project or "alignforge-sweep")
    return sweep_id
