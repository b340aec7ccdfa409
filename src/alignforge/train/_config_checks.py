"""The training config's validation (see :mod:`alignforge.train.config`): one section's keys against
their table in :mod:`._config_schema` (defaults filled in), the LoRA block, and the checks across
sections.
"""

from __future__ import annotations

from typing import Any

from alignforge.errors import ConfigError
from alignforge.train._config_schema import _LORA, _OBSOLETE, _REQUIRED, _SCHEMA, _Key


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
