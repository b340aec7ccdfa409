"""Score checkpoints: pass@k on RLVR tasks, capability retention against a baseline, win rate."""

from alignforge.bench.checkpoint import score_checkpoint
from alignforge.bench.retention import capability_retention, load_scores
from alignforge.bench.suite import BenchmarkConfig, load_benchmark_config, score_checkpoints
from alignforge.bench.winrate import win_rate

__all__ = [
    "BenchmarkConfig",
    "capability_retention",
    "load_benchmark_config",
    "load_scores",
    "score_checkpoint",
    "score_checkpoints",
    "win_rate",
]
