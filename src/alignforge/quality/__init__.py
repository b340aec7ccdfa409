"""Measure datasets and hold them to quality gates: the seeds' ``training_metrics`` library."""

from alignforge.quality.api import DPOMetrics, check_quality_gates, enforce_gates, validate_dpo_pairs
from alignforge.quality.check import CheckResult, check_file, compute_figures, keep_passing
from alignforge.quality.gates import DEFAULT_GATES_YAML, GateResult, evaluate, load_gates
from alignforge.quality.split import split_file

__all__ = [
    "CheckResult",
    "DEFAULT_GATES_YAML",
    "DPOMetrics",
    "GateResult",
    "check_file",
    "check_quality_gates",
    "compute_figures",
    "enforce_gates",
    "evaluate",
    "keep_passing",
    "load_gates",
    "split_file",
    "validate_dpo_pairs",
]
