"""The training config: the seed's nested YAML shape, validated strictly, then mapped onto TRL.

Sections: ``model``, ``data``, ``training``, ``optimization``, ``constraints``, ``compute``,
``logging``, plus ``monitors``, ``raft``, ``rewards`` and ``verifier`` where a stage uses them. Unknown
keys, keys a stage does not use, and keys TRL has dropped fail with one line that names the file, the
key and the replacement. :func:`trl_args` builds the stage's TRL config object (``DPOConfig``, ...)
and refuses any field the installed TRL does not have, so a TRL upgrade cannot drop a setting silently.

The seeds' own spellings load as written: ``checkpointing`` is ``logging``, ``model.name`` is
``model.base_model``, ``data.prompts`` is ``data.train_file``; the DPO template's
``max_prompt_length`` / ``max_response_length`` and 002's ``verifier`` section are translated, each
translation leaving one line in :attr:`TrainConfig.notes`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.train._translate import KEY_ALIASES, translate, unalias

__all__ = ["STAGES", "TrainConfig", "load_config", "parse_config", "trl_args"]

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


@dataclass
class TrainConfig:
    """A validated config: one dict per section, every key present (defaults filled in)."""

    stage: str
    source: str
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # one line per seed key alignforge translated
    spelled: dict[str, str] = field(default_factory=dict)  # "model.base_model" -> "model.name" as written

    def __getattr__(self, name: str) -> dict[str, Any]:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    @property
    def output_dir(self) -> Path:
        return Path(self.sections["logging"]["output_dir"])

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, **{k: dict(v) for k, v in self.sections.items()}}


def load_config(
    path: str | os.PathLike[str], stage: str, *, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """Read a YAML config and validate it for ``stage``; relative data paths resolve against the config file."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if overrides:
        raw = _merged(raw, str(path))
        for dotted, value in overrides.items():
            section, _, key = dotted.partition(".")
            section = _SECTION_ALIASES.get(section, section)
            body = raw.setdefault(section, {})
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: section {section!r} must be a mapping")
            key = KEY_ALIASES.get(section, {}).get(key, key)
            for alias, target in KEY_ALIASES.get(section, {}).items():
                if target == key:  # --set model.base_model=x replaces the file's model.name
                    body.pop(alias, None)
            body[key] = value
    return parse_config(raw, stage, source=str(path), base_dir=path.parent)


def _merged(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """Sections under their canonical names (``checkpointing`` folds into ``logging``)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a mapping of sections ({', '.join(_SCHEMA)})")
    sections: dict[str, dict[str, Any]] = {}
    for name, body in raw.items():
        name = _SECTION_ALIASES.get(name, name)
        if name in _OBSOLETE:
            raise ConfigError(f"{source}: {name} (at the top level) is obsolete: {_OBSOLETE[name]}")
        if name not in _SCHEMA:
            raise ConfigError(f"{source}: unknown section {name!r} (sections: {', '.join(_SCHEMA)})")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: section {name!r} must be a mapping")
        sections.setdefault(name, {}).update(body)
    return sections


def parse_config(
    raw: Any, stage: str, *, source: str = "<config>", base_dir: str | os.PathLike[str] | None = None
) -> TrainConfig:
    """Validate a config mapping strictly; see the module docstring."""
    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
    sections = _merged(raw, source)
    spelled = unalias(sections, source)
    given = {f"{name}.{key}" for name, body in sections.items() for key, v in body.items() if v is not None}
    out = {name: _section(name, sections.get(name, {}), stage, source) for name in _SCHEMA}
    _cross_checks(out, stage, source)
    notes = translate(out, given, stage, source)
    if out["logging"]["output_dir"] is None:  # the seeds' 002 run files name none
        stem = Path(source).stem if source and not source.startswith("<") else stage
        out["logging"]["output_dir"] = str(Path("outputs") / stem)
        notes.append(
            f"logging.output_dir is not given: writing to {out['logging']['output_dir']} "
            "(--set logging.output_dir=DIR to choose)"
        )
    base = Path(base_dir) if base_dir is not None else None
    for key in ("train_file", "validation_file", "tests"):
        value = out["data"][key]
        if value and base is not None and not Path(value).is_absolute() and not Path(value).exists():
            out["data"][key] = str(base / value)
    return TrainConfig(stage=stage, source=source, sections=out, notes=notes, spelled=spelled)


def _section(name: str, body: dict[str, Any], stage: str, source: str) -> dict[str, Any]:
    schema = _SCHEMA[name]
    for key, value in body.items():
        where = f"{source}: {name}.{key}"
        if key in _OBSOLETE and key not in schema:
            raise ConfigError(f"{where} is obsolete: {_OBSOLETE[key]}")
        spec = schema.get(key)
        if spec is None:
            raise ConfigError(f"{where}: unknown key (allowed in {name}: {', '.join(sorted(schema))})")
        if stage not in spec.stages and key in _OBSOLETE:
            raise ConfigError(f"{where} is not a `train {stage}` setting: {_OBSOLETE[key]}")
        if stage not in spec.stages:
            raise ConfigError(
                f"{where} is not used by `train {stage}` (used by {', '.join(sorted(spec.stages))})"
            )
        if value is None:
            continue
        if isinstance(value, bool) and bool not in spec.types or not isinstance(value, spec.types):
            wanted = " or ".join(t.__name__ for t in spec.types)
            raise ConfigError(
                f"{where}: expected {wanted}, got {type(value).__name__} {value!r}{_number_hint(value, spec)}"
            )
        if spec.choices and value not in spec.choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, spec.choices))}")
    out = {}
    for key, spec in schema.items():
        value = body.get(key)
        if value is None:
            if spec.default is _REQUIRED and stage in spec.stages:
                raise ConfigError(f"{source}: {name}.{key} is required (or --set {name}.{key}=...)")
            value = None if spec.default is _REQUIRED else spec.default
        out[key] = value
    if name == "model" and out["lora"] is not None:
        out["lora"] = _lora(out["lora"], source)
    return out


def _number_hint(value: Any, spec: _Key) -> str:
    """PyYAML follows YAML 1.1, which reads ``1e-6`` (no dot) as a string."""
    if not isinstance(value, str) or float not in spec.types:
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    text = repr(number)
    if "e" in text and "." not in text:  # YAML 1.1 floats need the dot: 1.0e-06
        text = text.replace("e", ".0e")
    return f" (YAML reads {value} as text: write it as {text})"


def _lora(body: dict[str, Any], source: str) -> dict[str, Any]:
    out = {}
    for key in body:
        if key not in _LORA:
            raise ConfigError(f"{source}: model.lora.{key}: unknown key (allowed: {', '.join(_LORA)})")
    for key, (types, default) in _LORA.items():
        value = body.get(key, default)
        if not isinstance(value, types) or isinstance(value, bool):
            raise ConfigError(f"{source}: model.lora.{key}: bad value {value!r}")
        out[key] = value
    return out


def _cross_checks(cfg: dict[str, dict[str, Any]], stage: str, source: str) -> None:
    compute = cfg["compute"]
    if cfg["model"].get("reference_model") and cfg["model"]["lora"] is not None:
        raise ConfigError(
            f"{source}: model.reference_model is not used with model.lora (the policy with its adapters "
            "switched off is the reference): remove one of them"
        )
    if compute["fp16"] and compute["bf16"]:
        raise ConfigError(
            f"{source}: compute.fp16 and compute.bf16 are both true; pick one (or precision: ...)"
        )
    if compute["fp16"] or compute["bf16"]:
        flag = "fp16" if compute["fp16"] else "bf16"
        if compute["precision"] not in ("auto", flag):
            raise ConfigError(
                f"{source}: compute.{flag} contradicts compute.precision={compute['precision']}"
            )
        compute["precision"] = flag
    if not 0 < cfg["data"]["validation_split"] < 1:
        raise ConfigError(f"{source}: data.validation_split must lie strictly between 0 and 1")
    if stage == "dpo" and cfg["training"]["padding_free"]:
        raise ConfigError(
            f"{source}: training.padding_free: TRL 1.16's DPOTrainer disables padding-free batches "
            "(it falls back to padding with a warning); remove the key"
        )
    t = cfg["training"]
    if t["precompute_ref_batch_size"] is not None and not t["precompute_ref_log_probs"]:
        raise ConfigError(
            f"{source}: training.precompute_ref_batch_size needs training.precompute_ref_log_probs: true"
        )
    for key in ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "precompute_ref_batch_size"):
        if t[key] is not None and t[key] < 1:
            raise ConfigError(f"{source}: training.{key} must be >= 1, got {t[key]}")
    if stage == "kto" and isinstance(t["loss_type"], list):
        raise ConfigError(f"{source}: training.loss_type: KTO takes one loss type (a string)")
    if t["loss_weights"] is not None:
        types = t["loss_type"] if isinstance(t["loss_type"], list) else [t["loss_type"] or "sigmoid"]
        if len(t["loss_weights"]) != len(types):
            raise ConfigError(
                f"{source}: training.loss_weights has {len(t['loss_weights'])} values for "
                f"{len(types)} loss type(s) {types}"
            )
    if cfg["constraints"]["check_at_eval"] and not cfg["training"]["eval_steps"] and stage != "raft":
        raise ConfigError(f"{source}: constraints.check_at_eval needs training.eval_steps")
    report = cfg["logging"]["report_to"]
    report = [report] if isinstance(report, str) else list(report)
    if cfg["logging"]["wandb_project"] and "wandb" not in report:
        report.append("wandb")
    if cfg["logging"]["mlflow_experiment"] and "mlflow" not in report:
        report.append("mlflow")
    allowed = {"tensorboard", "wandb", "mlflow", "trackio", "none"}
    bad = [r for r in report if r not in allowed]
    if bad:
        raise ConfigError(
            f"{source}: logging.report_to: {bad[0]!r} is not one of {', '.join(sorted(allowed))}"
        )
    cfg["logging"]["report_to"] = [r for r in report if r != "none"] or ["none"]


# "adamw" is the fused AdamW (one kernel per parameter group), as transformers' own default on
# torch >= 2.8; "adamw_unfused" is the per-tensor loop.
_OPTIMIZERS = {
    "adamw": "adamw_torch_fused",
    "adamw_fused": "adamw_torch_fused",
    "adamw_unfused": "adamw_torch",
    "sgd": "sgd",
    "adafactor": "adafactor",
}


def trl_args(cfg: TrainConfig, *, stage: str | None = None, **extra: Any) -> Any:
    """Map a validated config onto the stage's TRL config object (``extra`` wins over the config)."""
    import trl

    from alignforge.train._loading import resolve_precision, use_liger

    stage = stage or cfg.stage
    cls = {
        "sft": trl.SFTConfig,
        "raft": trl.SFTConfig,
        "reward": trl.RewardConfig,
        "dpo": trl.DPOConfig,
        "kto": trl.KTOConfig,
        "grpo": trl.GRPOConfig,
    }[stage]
    t, o, c, lg, d = cfg.training, cfg.optimization, cfg.compute, cfg.logging, cfg.data
    precision = resolve_precision(c)
    eval_steps = t["eval_steps"]
    kw: dict[str, Any] = {
        "output_dir": str(cfg.output_dir),
        "run_name": lg["wandb_run_name"] or lg["run_name"],
        "report_to": lg["report_to"],
        "per_device_train_batch_size": t["batch_size"],
        "per_device_eval_batch_size": t["eval_batch_size"] or t["batch_size"],
        "gradient_accumulation_steps": t["gradient_accumulation_steps"],
        "max_steps": t["max_steps"],
        "num_train_epochs": t["num_epochs"],
        "warmup_steps": t["warmup_steps"],
        "logging_steps": t["logging_steps"],
        "eval_strategy": "steps" if eval_steps else "no",
        "eval_steps": eval_steps,
        "save_strategy": "steps" if t["save_steps"] else "no",
        "save_steps": t["save_steps"] or 500,
        "save_total_limit": t["save_total_limit"],
        "seed": t["seed"],
        "optim": _OPTIMIZERS.get(o["optimizer"], o["optimizer"]),
        "weight_decay": o["weight_decay"],
        "max_grad_norm": o["max_grad_norm"],
        "lr_scheduler_type": o["lr_scheduler"],
        "adam_beta1": o["adam_beta1"],
        "adam_beta2": o["adam_beta2"],
        "adam_epsilon": o["adam_epsilon"],
        "bf16": precision == "bf16",
        "fp16": precision == "fp16",
        "use_cpu": c["device"] == "cpu",
        "gradient_checkpointing": c["gradient_checkpointing"],
        "use_liger_kernel": use_liger(c),
        "torch_compile": c["torch_compile"],
        "dataloader_num_workers": c["dataloader_num_workers"],
        "disable_tqdm": True,
    }
    if t["learning_rate"] is not None:
        kw["learning_rate"] = t["learning_rate"]
    if stage != "grpo":
        kw["max_length"] = d["max_length"]
    if stage in ("sft", "dpo"):
        kw["truncation_mode"] = d["truncation_mode"]
    if stage in ("sft", "raft"):
        kw.update(packing=t["packing"], padding_free=t["padding_free"] if stage == "sft" else False)
    if stage in ("dpo", "kto"):
        kw["precompute_ref_log_probs"] = t["precompute_ref_log_probs"]
        if t["precompute_ref_batch_size"] is not None:
            kw["precompute_ref_batch_size"] = t["precompute_ref_batch_size"]
        if t["beta"] is not None:
            kw["beta"] = t["beta"]
        if t["loss_type"] is not None:
            kw["loss_type"] = (
                [t["loss_type"]] if stage == "dpo" and isinstance(t["loss_type"], str) else t["loss_type"]
            )
        if t.get("loss_weights") is not None:
            kw["loss_weights"] = t["loss_weights"]
    if stage == "kto":
        kw.update(desirable_weight=t["desirable_weight"], undesirable_weight=t["undesirable_weight"])
    if stage == "grpo":
        kw.update(
            num_generations=t["num_generations"],
            max_completion_length=t["max_completion_length"],
            temperature=t["temperature"],
            beta=t["beta"] if t["beta"] is not None else 0.0,
        )
    names = {f.name for f in dataclasses.fields(cls)}
    if "activation_checkpointing" in names:  # newer transformers renamed it; the old name warns
        kw["activation_checkpointing"] = kw.pop("gradient_checkpointing")
    kw.update(extra)
    missing = sorted(set(kw) - names)
    if missing:
        raise ConfigError(f"the installed TRL's {cls.__name__} has no field(s) {', '.join(missing)}")
    return cls(**kw)
