"""Generators for post-training data: DPO pairs (five strategies), SFT, KTO, GRPO and RLVR tasks.

Each writes JSONL through atomic appends, skips finished work on a rerun, sends failed LLM
calls to ``<out>.failures.jsonl`` and rows failing a gate to ``<out>.dropped.jsonl`` with reasons.
"""

from alignforge.generate.dpo import DPOSummary, Thresholds, generate_dpo_pairs, pair_gate_reasons
from alignforge.generate.flaws import DEFAULT_MIX, FLAWS, flaw_sequence, parse_mix
from alignforge.generate.grpo import GRPOSummary, generate_grpo_data
from alignforge.generate.kto import KTOSummary, generate_kto_data
from alignforge.generate.rlvr import RLVRSummary, generate_rlvr_data
from alignforge.generate.sft import SFTSummary, generate_sft_data, load_taxonomy

__all__ = [
    "generate_dpo_pairs",
    "generate_sft_data",
    "generate_kto_data",
    "generate_grpo_data",
    "generate_rlvr_data",
    "load_taxonomy",
    "DPOSummary",
    "SFTSummary",
    "KTOSummary",
    "GRPOSummary",
    "RLVRSummary",
    "Thresholds",
    "pair_gate_reasons",
    "FLAWS",
    "DEFAULT_MIX",
    "flaw_sequence",
    "parse_mix",
]
