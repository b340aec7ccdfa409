"""Generators for post-training data: DPO pairs (five strategies), SFT, KTO, GRPO and RLVR tasks.

Each writes JSONL through atomic appends, skips finished work on a rerun, sends failed LLM
calls to ``<out>.failures.jsonl`` and rows failing a gate to ``<out>.dropped.jsonl`` with reasons.
"""

from alignforge.generate.dpo import DPOSummary, Thresholds, generate_dpo_pairs, pair_gate_reasons
from alignforge.generate.flaws import DEFAULT_MIX, FLAWS, flaw_sequence, parse_mix

__all__ = [
    "generate_dpo_pairs",
    "DPOSummary",
    "Thresholds",
    "pair_gate_reasons",
    "FLAWS",
    "DEFAULT_MIX",
    "flaw_sequence",
    "parse_mix",
]
