"""Evaluate checkpoints: pass@k on RLVR tasks (the ``evaluate.checkpoint`` stage), capability retention
against a baseline, win rate. (The root ``bench/`` folder is something else: speed benchmarks.)"""

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
