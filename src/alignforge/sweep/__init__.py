"""Hyperparameter sweeps of the DPO recipe from the seed's W&B ``sweep_config.yaml``.

``space`` reads the sweep file and translates its distributions (W&B's ``log_uniform`` takes
natural-log bounds); ``runner`` runs the trials as an Optuna study in SQLite, resumable and with
heartbeats, each trial a gated ``train.dpo`` run; ``wandb_backend`` hands the same trials to a W&B
sweep agent when ``wandb`` is installed. Names load lazily: ``import alignforge.sweep`` pulls in
neither Optuna nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Param",
    "SweepResult",
    "SweepSpec",
    "TrialOutcome",
    "WinRate",
    "load_space",
    "parse_space",
    "run_sweep",
    "run_wandb_sweep",
]

_WHERE = {
    "Param": "space",
    "SweepSpec": "space",
    "load_space": "space",
    "parse_space": "space",
    "SweepResult": "runner",
    "TrialOutcome": "runner",
    "WinRate": "runner",
    "run_sweep": "runner",
    "run_wandb_sweep": "wandb_backend",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'alignforge.sweep' has no attribute {name!r}")
    return getattr(importlib.import_module(f"alignforge.sweep.{_WHERE[name]}"), name)
