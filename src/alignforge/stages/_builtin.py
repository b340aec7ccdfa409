"""The built-in stages, registered by name as ``module:Class`` paths (loaded on first use)."""

from __future__ import annotations

from alignforge.stages.contract import register_stage

BUILTIN: dict[str, str] = {
    "generate.dpo": "alignforge.generate.dpo:DPOStage",
    "generate.sft": "alignforge.generate.sft:SFTStage",
    "generate.kto": "alignforge.generate.kto:KTOStage",
    "generate.grpo": "alignforge.generate.grpo:GRPOStage",
    "generate.rlvr": "alignforge.generate.rlvr:RLVRStage",
    "dedup": "alignforge.curate.stage:DedupStage",
    "decontaminate": "alignforge.curate.stage:DecontaminateStage",
    "train.sft": "alignforge.train.stage:TrainSFT",
    "train.reward": "alignforge.train.stage:TrainReward",
    "train.dpo": "alignforge.train.stage:TrainDPO",
    "train.kto": "alignforge.train.stage:TrainKTO",
    "train.grpo": "alignforge.train.stage:TrainGRPO",
    "train.raft": "alignforge.train.stage:TrainRAFT",
    "train.init_check": "alignforge.train.init_check:InitCheck",
    "train.reward_filter": "alignforge.train.reward_filter:RewardFilter",
    "evaluate.checkpoint": "alignforge.evaluate.checkpoint:CheckpointScoring",
    "evaluate.suites": "alignforge.evaluate.suites:SuitesStage",
    "evaluate.winrate": "alignforge.evaluate.winrate:WinRateStage",
    "evaluate.decision": "alignforge.evaluate.decision:DecisionStage",
    "judge": "alignforge.judge.stage:JudgeStage",
    "verify": "alignforge.verify.stage:VerifyStage",
    "prepare": "alignforge.verify.prepare:PrepareStage",
    "check": "alignforge.quality.check_stage:CheckStage",
    "split": "alignforge.quality.split:SplitStage",
    "workflow.merge": "alignforge.workflow.merge:MergeAdapter",
}

for _name, _path in BUILTIN.items():
    register_stage(_path, name=_name)
