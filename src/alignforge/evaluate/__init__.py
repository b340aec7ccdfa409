"""Evaluate checkpoints: pass@k on RLVR tasks (the ``evaluate.checkpoint`` stage), capability suites
(:mod:`~alignforge.evaluate.suites`, the ``evaluate.suites`` stage: HumanEval / MBPP / GSM8K / MATH-500
by the project's verifiers, ARC-Challenge / TruthfulQA MC / MMLU by log-likelihood in
:mod:`~alignforge.evaluate.mc`), retention with error bars (:mod:`~alignforge.evaluate.retention`),
win rate by the pairwise judge (:mod:`~alignforge.evaluate.winrate`, ``evaluate.winrate``) and the
deployment decision (:mod:`~alignforge.evaluate.decision`, ``evaluate.decision``). (The root
``bench/`` folder is something else: speed benchmarks.)"""

from alignforge.evaluate.checkpoint import CheckpointScoring, score_checkpoint
from alignforge.evaluate.retention import capability_retention, load_scores
from alignforge.evaluate.suite import BenchmarkConfig, load_benchmark_config, score_checkpoints
from alignforge.evaluate.winrate import win_rate

__all__ = [
    "BenchmarkConfig",
    "CheckpointScoring",
    "capability_retention",
    "load_benchmark_config",
    "load_scores",
    "score_checkpoint",
    "score_checkpoints",
    "win_rate",
]
