"""Config schema: the seed's nested shape, strict keys, obsolete TRL keys, mapping onto TRL configs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alignforge.errors import ConfigError
from alignforge.train import load_config, parse_config, trl_args
from alignforge.train.gates import Gate, gates_for

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# The DPO workflow template's dpo_config.yaml, verbatim.
SEED_DPO = """
model:
  base_model: "meta-llama/Llama-2-7b-hf"
  reference_model: "checkpoints/sft_baseline"
  policy_model: "checkpoints/sft_baseline"
data:
  train_file: "data/preference_pairs_train.jsonl"
  validation_file: "data/preference_pairs_val.jsonl"
  max_prompt_length: 512
  max_response_length: 1024
training:
  learning_rate: 1.0e-6
  beta: 0.1
  batch_size: 4
  gradient_accumulation_steps: 4
  max_steps: 1000
  warmup_steps: 100
  logging_steps: 10
  eval_steps: 100
  save_steps: 100
optimization:
  optimizer: "adamw"
  weight_decay: 0.01
  max_grad_norm: 1.0
  lr_scheduler: "cosine"
constraints:
  kl_target: 0.1
  preference_gap_target: 0.15
compute:
  fp16: true
  device: "cuda"
  num_devices: 8
  gradient_checkpointing: true
logging:
  wandb_project: "dpo-alignment"
  wandb_run_name: "dpo-exp-001"
  output_dir: "outputs/dpo-exp-001"
"""


def _seed(**changes: dict) -> dict:
    raw = yaml.safe_load(SEED_DPO)
    for section, body in changes.items():
        raw[section] = body
    return raw


def test_seed_config_translates_max_prompt_and_response_length() -> None:
    cfg = parse_config(yaml.safe_load(SEED_DPO), "dpo", source="dpo_config.yaml")  # more in test_seed_yaml.py
    assert cfg.data["max_length"] == 1536 and "cuts each prompt to its last 512 tokens" in cfg.notes[0]


def test_seed_config_without_obsolete_keys_validates_and_keeps_the_shape() -> None:
    data = {"train_file": "a.jsonl", "validation_file": "b.jsonl", "max_length": 1536}
    cfg = parse_config(_seed(data=data), "dpo")
    assert cfg.training["gradient_accumulation_steps"] == 4
    assert cfg.compute["precision"] == "fp16"  # the template's fp16: true
    assert cfg.logging["report_to"] == ["tensorboard", "wandb"]  # wandb_project adds W&B to TensorBoard
    assert cfg.model["reference_model"] == "checkpoints/sft_baseline"
    gates, _ = gates_for(cfg)
    assert Gate("kl_divergence", "max", 0.1, "constraints.kl_target") in gates
    assert Gate("preference_gap", "min", 0.15, "constraints.preference_gap_target") in gates


@pytest.mark.parametrize(
    ("section", "body", "message"),
    [
        ("training", {"learnin_rate": 1e-6}, r"training\.learnin_rate: unknown key"),
        ("training", {"batch_size": "4"}, r"training\.batch_size: expected int"),
        ("training", {"learning_rate": "1e-6"}, r"YAML reads 1e-6 as text: write it as 1\.0e-06\)"),
        ("training", {"warmup_ratio": 0.1}, r"warmup_ratio is obsolete: .*warmup_steps"),
        ("training", {"rpo_alpha": 0.5}, r"rpo_alpha is obsolete: .*loss_type"),
        ("training", {"padding_free": True}, r"padding_free: TRL 1\.16's DPOTrainer"),
        ("training", {"num_generations": 4}, r"not used by `train dpo`"),
        ("training", {"precompute_ref_batch_size": 32}, r"needs training\.precompute_ref_log_probs: true"),
        (
            "training",
            {"precompute_ref_log_probs": True, "precompute_ref_batch_size": 0},
            r"precompute_ref_batch_size must be >= 1",
        ),
        ("training", {"batch_size": 0}, r"training\.batch_size must be >= 1"),
        ("training", {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0]}, r"1 values for 2 loss type"),
        ("compute", {"fp16": True, "bf16": True}, r"both true"),
        ("constraints", {"on_fail": "halt"}, r"'halt' is not one of stop, flag"),
        ("logging", {"output_dir": "o", "report_to": "comet"}, r"'comet' is not one of"),
        ("wandb", {"project": "x"}, r"unknown section 'wandb'"),
    ],
)
def test_strict_errors(section: str, body: dict, message: str) -> None:
    raw = _seed(data={"train_file": "a.jsonl"})
    raw[section] = {**raw.get(section, {}), **body}
    with pytest.raises(ConfigError, match=message):
        parse_config(raw, "dpo", source="x.yaml")


def test_required_keys() -> None:
    with pytest.raises(ConfigError, match=r"data\.train_file is required"):
        parse_config({"model": {"base_model": "m"}, "logging": {"output_dir": "o"}}, "dpo")


def test_mapping_onto_trl_dpo_config(tmp_path: Path) -> None:
    raw = {
        "model": {"base_model": "m"},
        "data": {"train_file": "a.jsonl", "max_length": 640},
        "training": {
            "beta": 0.2,
            "batch_size": 8,
            "max_steps": 7,
            "precompute_ref_log_probs": True,
            "precompute_ref_batch_size": 32,
            "eval_steps": 5,
            "save_steps": 5,
            "loss_type": "ipo",
        },
        "optimization": {"optimizer": "adamw", "lr_scheduler": "cosine", "weight_decay": 0.01},
        "compute": {"device": "cpu"},
        "logging": {"output_dir": str(tmp_path / "o")},
    }
    args = trl_args(parse_config(raw, "dpo"))
    assert type(args).__name__ == "DPOConfig"
    assert (args.beta, args.per_device_train_batch_size, args.max_steps, args.max_length) == (0.2, 8, 7, 640)
    assert args.precompute_ref_log_probs is True and args.precompute_ref_batch_size == 32
    assert args.loss_type == ["ipo"]
    raw["training"].update(loss_type=["sigmoid", "sft"], loss_weights=[1.0, 0.5])  # the rpo_alpha replacement
    args = trl_args(parse_config(raw, "dpo"))
    assert (args.loss_type, args.loss_weights) == (["sigmoid", "sft"], [1.0, 0.5])
    assert args.gradient_checkpointing is False  # TRL's default is True; ours is off
    if hasattr(args, "activation_checkpointing"):  # transformers' new name for it
        assert args.activation_checkpointing is False
    assert args.optim == "adamw_torch_fused" and args.lr_scheduler_type == "cosine"
    assert args.eval_strategy == "steps" and args.eval_steps == 5
    assert args.report_to == ["tensorboard"]
    assert not args.bf16 and not args.fp16  # precision auto on CPU is fp32


def test_gradient_checkpointing_on_reaches_trl_without_the_deprecated_name(tmp_path: Path) -> None:
    import warnings

    raw = {
        "model": {"base_model": "m"},
        "data": {"train_file": "a.jsonl"},
        "compute": {"device": "cpu", "gradient_checkpointing": True},
        "logging": {"output_dir": str(tmp_path / "o"), "report_to": "none"},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # transformers warns on the old name
        args = trl_args(parse_config(raw, "dpo"))
    assert args.gradient_checkpointing is True


@pytest.mark.parametrize("name", ["sft", "reward", "dpo_config", "kto", "grpo", "raft"])
def test_example_configs_validate_and_show_their_command(name: str) -> None:
    path = EXAMPLES / f"{name}.yaml"
    stage = "dpo" if name == "dpo_config" else name
    assert f"alignforge train {stage} --config examples/{name}.yaml" in path.read_text()
    cfg = load_config(path, stage)
    assert Path(cfg.data["train_file"]).exists(), cfg.data["train_file"]


def test_gates_file_in_the_seed_quality_thresholds_shape(tmp_path: Path) -> None:
    gates_file = tmp_path / "gates.yaml"
    gates_file.write_text(
        yaml.safe_dump(
            {
                "quality_thresholds": {
                    "kl_divergence": {"max": 0.1},
                    "preference_gap": {"min": 0.15},
                    "decontamination": {"min": 0.9},
                }
            }
        )
    )
    raw = _seed(data={"train_file": "a.jsonl"}, constraints={"gates_file": str(gates_file)})
    gates, skipped = gates_for(parse_config(raw, "dpo"))
    assert {(g.metric, g.kind, g.threshold) for g in gates} == {
        ("kl_divergence", "max", 0.1),
        ("preference_gap", "min", 0.15),
    }
    assert skipped == ["decontamination"]
    results = [g.check({"kl_divergence": 0.05}) for g in gates]
    assert [r.passed for r in results] == [True, False]
    assert results[1].reason == "not measured"


def test_num_devices_that_the_launcher_does_not_give_is_a_run_card_warning(tmp_path: Path) -> None:
    from alignforge.train._recipe_steps import make_monitor

    raw = _seed(data={"train_file": "a.jsonl"})  # the template's num_devices: 8, in one process here
    monitor = make_monitor(parse_config(raw, "dpo"), "dpo")
    assert any("compute.num_devices is 8 but this run has 1 process" in w for w in monitor.warnings)
    raw["compute"]["num_devices"] = 1
    assert not make_monitor(parse_config(raw, "dpo"), "dpo").warnings


def test_raft_has_no_kl_gate_to_fail_as_not_measured() -> None:
    raw = {
        "model": {"base_model": "m"},
        "data": {"train_file": "a.jsonl"},
        "constraints": {"kl_target": 0.1},
        "logging": {"output_dir": "o"},
    }
    with pytest.raises(ConfigError, match=r"constraints\.kl_target is not used by `train raft`"):
        parse_config(raw, "raft")
    assert parse_config(raw, "grpo").constraints["kl_target"] == 0.1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"max_prompt_length": 512}, "max_prompt_length (at the top level) is obsolete: TRL >= 0.25"),
        (
            {"training": {"max_completion_length": 128}},
            "training.max_completion_length is not a `train dpo` setting: for DPO/KTO/SFT set data.max_length",
        ),
        (
            {"model": {"base_model": "x", "reference_model": "y", "lora": {"r": 8}}},
            "model.reference_model is not used with model.lora",
        ),
    ],
)
def test_misplaced_and_contradictory_keys_name_the_fix(raw, expected):
    base = {"model": {"base_model": "x"}, "data": {"train_file": "a.jsonl"}, "logging": {"output_dir": "o"}}
    for key, value in raw.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config(base, "dpo")
