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

The key tables are in :mod:`alignforge.train._config_schema`, the checks in
:mod:`alignforge.train._config_checks`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.train._config_checks import _cross_checks, _section
from alignforge.train._config_schema import _OBSOLETE, _SCHEMA, _SECTION_ALIASES
from alignforge.train._config_schema import STAGES as STAGES
from alignforge.train._translate import KEY_ALIASES, translate, unalias

__all__ = ["STAGES", "TrainConfig", "load_config", "parse_config", "trl_args"]


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
