"""Generators for post-training data: DPO pairs (five strategies), SFT, KTO, GRPO and RLVR tasks
(math, code, finance and general; ``plan_mix`` splits a count over them by the seed's 40/30/20/10).

Each is a stage (:mod:`alignforge.stages`): ``generate_dpo_pairs(...)`` and the others build it and
run it, and return the one :class:`~alignforge.stages.StageSummary`. Rows are appended atomically
and a rerun skips finished work; failed LLM calls go to ``<out>.failures.jsonl`` and rows failing
a gate to ``<out>.dropped.jsonl`` with ``metadata.drop_reasons``.
"""

from alignforge.generate._finance_tasks import FINANCE_FAMILIES, make_finance_task
from alignforge.generate._general_tasks import GENERAL_FAMILIES, make_general_task
from alignforge.generate.dpo import DPOStage, Thresholds, generate_dpo_pairs, pair_gate_reasons
from alignforge.generate.flaws import DEFAULT_MIX, FLAWS, flaw_sequence, parse_mix
from alignforge.generate.grpo import GRPOStage, generate_grpo_data
from alignforge.generate.kto import KTOStage, generate_kto_data, parse_share_band
from alignforge.generate.mix import plan_mix
from alignforge.generate.rlvr import RLVRStage, generate_rlvr_data
from alignforge.generate.sft import SFTStage, generate_sft_data, load_taxonomy

__all__ = [
    "generate_dpo_pairs",
    "generate_sft_data",
    "generate_kto_data",
    "generate_grpo_data",
    "generate_rlvr_data",
    "load_taxonomy",
    "DPOStage",
    "SFTStage",
    "KTOStage",
    "GRPOStage",
    "RLVRStage",
    "Thresholds",
    "pair_gate_reasons",
    "parse_share_band",
    "FLAWS",
    "DEFAULT_MIX",
    "flaw_sequence",
    "parse_mix",
    "plan_mix",
    "FINANCE_FAMILIES",
    "GENERAL_FAMILIES",
    "make_finance_task",
    "make_general_task",
]
