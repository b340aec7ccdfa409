"""The training config's key tables (see :mod:`alignforge.train.config`): each section's keys with their
types, defaults, the stages that use them and their allowed values, the LoRA block's keys, and the
keys TRL or transformers dropped with what replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["STAGES"]

STAGES = ("sft", "reward", "dpo", "kto", "grpo", "raft")
_ALL = frozenset(STAGES)
_REF = frozenset({"dpo", "kto"})
_GEN = frozenset({"grpo", "raft"})
_REQUIRED = object()


@dataclass(frozen=True)
class _Key:
    types: tuple[type, ...]
    default: Any = None
    stages: frozenset[str] = _ALL
    choices: tuple[Any, ...] = ()


def _k(
    types: type | tuple[type, ...], default: Any = None, stages: frozenset[str] = _ALL, choices=()
) -> _Key:
    return _Key(types if isinstance(types, tuple) else (types,), default, stages, tuple(choices))


_NUM = (int, float)
_SCHEMA: dict[str, dict[str, _Key]] = {
    "model": {
        "base_model": _k(str, _REQUIRED),
        "policy_model": _k(str),
        "reference_model": _k(str, stages=_REF),
        "dtype": _k(str, "auto", choices=("auto", "bfloat16", "float16", "float32")),
        "attn_implementation": _k(str),
        "trust_remote_code": _k(bool, False),
        "lora": _k(dict),
    },
    "data": {
        "train_file": _k(str, _REQUIRED),
        "validation_file": _k(str),
        "validation_split": _k(_NUM, 0.1),
        "max_length": _k(int, 1024, _ALL - {"grpo"}),
        "truncation_mode": _k(str, "keep_start", frozenset({"sft", "dpo"}), ("keep_start", "keep_end")),
        "max_rows": _k(int),
        # The DPO template's split budget: alignforge cuts prompts, TRL gets max_length = the sum.
        "max_prompt_length": _k(int, stages=frozenset({"dpo"})),
        "max_response_length": _k(int, stages=frozenset({"dpo"})),
        "tests": _k(str, stages=_GEN),  # 002: tests for the prompts file's tasks, joined by task_id
    },
    "training": {
        "learning_rate": _k(_NUM),
        "beta": _k(_NUM, stages=_REF | {"grpo"}),
        "batch_size": _k(int, 8),
        "eval_batch_size": _k(int),
        "gradient_accumulation_steps": _k(int, 1),
        "max_steps": _k(int, -1),
        "num_epochs": _k(_NUM, 1),
        "warmup_steps": _k(_NUM, 0),
        "logging_steps": _k(int, 10),
        "eval_steps": _k(int),
        "save_steps": _k(int),
        "save_total_limit": _k(int),
        "seed": _k(int, 42),
        "loss_type": _k((str, list), stages=_REF),
        "loss_weights": _k(list, stages=frozenset({"dpo"})),
        "precompute_ref_log_probs": _k(bool, False, _REF),
        "precompute_ref_batch_size": _k(int, stages=_REF),
        "padding_free": _k(bool, False, frozenset({"sft", "dpo"})),
        "packing": _k(bool, False, frozenset({"sft", "raft"})),
        "desirable_weight": _k(_NUM, 1.0, frozenset({"kto"})),
        "undesirable_weight": _k(_NUM, 1.0, frozenset({"kto"})),
        "num_generations": _k(int, 4, frozenset({"grpo"})),
        "max_completion_length": _k(int, 128, frozenset({"grpo"})),
        "temperature": _k(_NUM, 1.0, frozenset({"grpo"})),
        "resume": _k(bool, True),
    },
    "optimization": {
        "optimizer": _k(str, "adamw"),
        "weight_decay": _k(_NUM, 0.0),
        "max_grad_norm": _k(_NUM, 1.0),
        "lr_scheduler": _k(str, "linear"),
        "adam_beta1": _k(_NUM, 0.9),
        "adam_beta2": _k(_NUM, 0.999),
        "adam_epsilon": _k(_NUM, 1e-8),
    },
    "constraints": {
        "kl_target": _k(_NUM, stages=_REF | {"grpo"}),  # RAFT keeps no reference to measure KL against
        "preference_gap_target": _k(_NUM, stages=frozenset({"dpo"})),
        "preference_accuracy_target": _k(_NUM, stages=frozenset({"dpo"})),
        "rm_accuracy_target": _k(_NUM, stages=frozenset({"reward"})),
        "rm_gap_max": _k(_NUM, stages=frozenset({"reward"})),
        "pass_rate_target": _k(_NUM, stages=_GEN),
        "zero_variance_max": _k(_NUM, stages=frozenset({"grpo", "raft"})),
        "initial_kl_max": _k(_NUM, stages=_REF | {"grpo"}),  # Stage 3: KL ~ 0 before the first step
        "gates_file": _k(str),
        "on_fail": _k(str, "stop", choices=("stop", "flag")),
        "check_at_eval": _k(bool, False),
    },
    "compute": {
        "precision": _k(str, "auto", choices=("auto", "bf16", "fp16", "fp32")),
        "fp16": _k(bool),
        "bf16": _k(bool),
        "device": _k(str, "auto", choices=("auto", "cuda", "cpu")),
        "num_devices": _k(int),
        "gradient_checkpointing": _k(bool, False),
        "liger": _k((bool, str), "auto"),
        "torch_compile": _k(bool, False),
        "dataloader_num_workers": _k(int, 0),
    },
    "logging": {
        "output_dir": _k(str),  # default: outputs/<the config file's name> (a note says so)
        "run_name": _k(str),
        "report_to": _k((str, list), "tensorboard"),
        "wandb_project": _k(str),
        "wandb_run_name": _k(str),
        "mlflow_experiment": _k(str),
        "mlflow_tracking_uri": _k(str),
        "save_every_cycle": _k(bool, True, frozenset({"raft"})),  # 002's checkpointing section
    },
    "monitors": {
        "kl_prompts": _k(int, 8, _REF | {"grpo"}),
        "kl_max_new_tokens": _k(int, 32, _REF | {"grpo"}),
        "kl_temperature": _k(_NUM, 1.0, _REF | {"grpo"}),
        "logp_trend_warning": _k(bool, True, frozenset({"dpo"})),
    },
    "raft": {
        "cycles": _k(int, 3, frozenset({"raft"})),
        "samples_per_prompt": _k(int, 4, frozenset({"raft"})),
        "temperature": _k(_NUM, 0.7, frozenset({"raft"})),
        "max_new_tokens": _k(int, 256, frozenset({"raft"})),
        "keep_per_prompt": _k(int, stages=frozenset({"raft"})),
        "eval_samples": _k(int, 10, frozenset({"raft"})),
        "pass_k": _k(list, [1, 5, 10], frozenset({"raft"})),
        # raw: each task's prompt as written (a base model continues it); chat: the benchmark's
        # instruction in the chat template (evaluate.checkpoint's rendering), for chat models
        "prompt_format": _k(str, "raw", frozenset({"raft"}), ("raw", "chat")),
    },
    "rewards": {
        "functions": _k(list, ["math"], _GEN),
        "weights": _k(list, stages=_GEN),
        "timeout_s": _k(_NUM, 10.0, _GEN),
        "judge_model": _k(str, stages=_GEN),
    },
    "verifier": {  # 002's spelling of the reward: type -> rewards.functions, timeout -> rewards.timeout_s
        "type": _k(
            str, stages=_GEN, choices=("rlvr_pytest", "code_tests", "math", "exact_match", "verified")
        ),
        "dataset_type": _k(str, stages=_GEN, choices=("humaneval", "mbpp")),
        "timeout": _k(_NUM, stages=_GEN),
        # where the code_tests / verified reward runs: this process's sandbox pool, or one per Ray node
        "executor": _k(str, "local", _GEN, ("local", "ray")),
    },
}
_LORA: dict[str, tuple[Any, Any]] = {
    "r": (int, 16),
    "alpha": (_NUM, 32),
    "dropout": (_NUM, 0.05),
    "target_modules": ((str, list), "all-linear"),
}

# Keys TRL or transformers dropped, with what replaces them.
_OBSOLETE = {
    "max_prompt_length": "TRL >= 0.25 has no max_prompt_length: set data.max_length "
    "(prompt + completion tokens) and data.truncation_mode (train dpo takes data.max_prompt_length)",
    "max_response_length": "set data.max_length (prompt + completion tokens); TRL truncates the pair as a whole",
    "max_completion_length": "for DPO/KTO/SFT set data.max_length; for GRPO it is training.max_completion_length",
    "max_target_length": "set data.max_length",
    "tokenizer": "alignforge passes the model's tokenizer to TRL as processing_class",
    "warmup_ratio": "transformers 5 removed warmup_ratio: set training.warmup_steps (a value < 1 is a ratio)",
    "evaluation_strategy": "set training.eval_steps",
    "generate_during_eval": "removed from TRL's DPOConfig; the KL monitor samples from the policy instead",
    "rpo_alpha": "TRL >= 0.25: set training.loss_type: [sigmoid, sft] (with loss_weights) instead",
    "logging_dir": "transformers 5 dropped logging_dir: TensorBoard logs go under logging.output_dir/runs",
}
_SECTION_ALIASES = {"checkpointing": "logging"}
