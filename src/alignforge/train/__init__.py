"""Training stages over TRL: one recipe per stage, the seed's YAML config, KL / margin monitors, model gates.

Names load lazily, so ``import alignforge.train`` does not pull in torch, transformers or TRL.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "STAGES",
    "Gate",
    "GateResult",
    "Monitor",
    "RunResult",
    "TrainConfig",
    "load_config",
    "parse_config",
    "policy_kl",
    "run_dpo",
    "run_grpo",
    "run_kto",
    "run_raft",
    "run_reward",
    "run_sft",
    "run_stage",
    "trl_args",
]

_WHERE = {
    "STAGES": "config",
    "TrainConfig": "config",
    "load_config": "config",
    "parse_config": "config",
    "trl_args": "config",
    "Gate": "gates",
    "GateResult": "gates",
    "Monitor": "monitors",
    "policy_kl": "monitors",
    "RunResult": "_run",
    "run_dpo": "dpo",
    "run_grpo": "grpo",
    "run_kto": "kto",
    "run_raft": "raft",
    "run_reward": "reward",
    "run_sft": "sft",
}


def run_stage(cfg: Any, **kwargs: Any) -> Any:
    """Run the recipe named by ``cfg.stage``."""
    return __getattr__(f"run_{cfg.stage}")(cfg, **kwargs)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'alignforge.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"alignforge.train.{_WHERE[name]}"), name)
