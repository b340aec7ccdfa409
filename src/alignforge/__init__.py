"""alignforge: post-training data you can trust.

The top-level names load their modules on first use, so ``import alignforge`` stays light
(no torch, transformers or pandas).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "validate_dpo_pairs": "alignforge.quality",
    "enforce_gates": "alignforge.quality",
    "check_quality_gates": "alignforge.quality",
    "check_file": "alignforge.quality",
    "split_file": "alignforge.quality",
    "calculate_decontamination": "alignforge.curate",
    "generate_dpo_pairs": "alignforge.generate",
    "generate_rlvr_data": "alignforge.generate",
    "assess_rlvr_verifiability": "alignforge.verify",
    "pass_at_k": "alignforge.verify",
    "get_llm": "alignforge.llm",
    "embedded_checkpoint": "alignforge.models",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alignforge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
