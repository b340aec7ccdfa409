"""The seeds' ``training_metrics`` library under its own name.

The seeds' examples import from ``training_metrics``; with alignforge only that import changes::

    from alignforge.training_metrics import validate_dpo_pairs, calculate_decontamination

Every name here is alignforge's own function (see docs/seeds.md for how each reads the seeds'
units). The summaries ``generate_dpo_pairs`` and ``generate_rlvr_data`` return are path-like (their
``output`` file), so they can be passed to ``validate_dpo_pairs`` and ``assess_rlvr_verifiability``
as the seeds do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alignforge.curate import calculate_decontamination
    from alignforge.generate import generate_dpo_pairs, generate_rlvr_data
    from alignforge.quality import DPOMetrics, check_quality_gates, enforce_gates, validate_dpo_pairs
    from alignforge.verify import assess_rlvr_verifiability

# Loaded on first use, like the top-level names: importing one name does not load every stage.
_LAZY = {
    "DPOMetrics": "alignforge.quality",
    "assess_rlvr_verifiability": "alignforge.verify",
    "calculate_decontamination": "alignforge.curate",
    "check_quality_gates": "alignforge.quality",
    "enforce_gates": "alignforge.quality",
    "generate_dpo_pairs": "alignforge.generate",
    "generate_rlvr_data": "alignforge.generate",
    "validate_dpo_pairs": "alignforge.quality",
}

__all__ = [
    "DPOMetrics",
    "assess_rlvr_verifiability",
    "calculate_decontamination",
    "check_quality_gates",
    "enforce_gates",
    "generate_dpo_pairs",
    "generate_rlvr_data",
    "validate_dpo_pairs",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alignforge.training_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
