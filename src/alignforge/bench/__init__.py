"""Score checkpoints: pass@k on RLVR tasks, capability retention against a baseline, win rate."""

from alignforge.bench.checkpoint import score_checkpoint
from alignforge.bench.retention import capability_retention, load_scores
from alignforge.bench.winrate import win_rate

__all__ = ["capability_retention", "load_scores", "score_checkpoint", "win_rate"]
