"""Training stages over TRL: one recipe per stage, the seed's YAML config, KL / margin monitors, model gates.

Each recipe runs as a stage of :mod:`alignforge.stages` (``train.sft``, ``train.reward``, ``train.dpo``,
``train.kto``, ``train.grpo``, ``train.raft``; see :mod:`alignforge.train.stage`): ``run_dpo(cfg)`` and
the others return a :class:`~alignforge.stages.StageSummary` and leave ``<output_dir>/stage.json``.
``reward_model`` is the reward-model recipe; ``rewards`` holds the GRPO / RAFT reward functions.

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
    "NotTrained",
    "TrainConfig",
    "TrainStage",
    "check_runnable",
    "is_main_process",
    "load_causal_lm",
    "load_config",
    "load_tokenizer",
    "parse_config",
    "policy_kl",
    "run_dpo",
    "run_grpo",
    "run_kto",
    "run_raft",
    "run_reward",
    "run_sft",
    "run_training",
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
    "NotTrained": "stage",
    "TrainStage": "stage",
    "run_training": "stage",
    "check_runnable": "_loading",
    "is_main_process": "_loading",
    "load_causal_lm": "_loading",
    "load_tokenizer": "_loading",
    "run_dpo": "dpo",
    "run_grpo": "grpo",
    "run_kto": "kto",
    "run_raft": "raft",
    "run_reward": "reward_model",
    "run_sft": "sft",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'alignforge.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"alignforge.train.{_WHERE[name]}"), name)
