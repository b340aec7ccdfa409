"""Model gates: thresholds on the training metrics, from ``constraints:`` and an optional gates file.

A gate is ``metric`` ``>=``/``<=`` ``threshold``. A gate whose metric was not measured fails with the
reason ``not measured`` (it never passes by default, unless the gates file marks it ``optional``).

The gates file is either the project's own (``alignforge gates init``: stages ``dpo_training``,
``reward_model``, ``rl_training``, each gate with ``min``/``max``/``equals``, ``unit``, ``optional``,
``on_fail: flag``), of which the training stage's section is read, or the seed's
``quality_thresholds`` shape (``kl_divergence: {max: 0.1}``) at the top level or under
``quality_thresholds:`` / ``train:``, where entries for metrics a training stage does not produce
(data gates such as ``decontamination``) are listed as not applicable, not failed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError

__all__ = ["UNITS", "Gate", "GateResult", "evaluate_gates", "gates_for"]

UNITS = {
    "kl_divergence": "nats/token, mean KL(policy||reference) on policy samples for held-out prompts",
    "kl_divergence_initial": "nats/token, before the first step (should be ~0)",
    "preference_gap": "implicit reward margin beta*(logratio_chosen - logratio_rejected), validation pairs",
    "reward_margin": "same as preference_gap",
    "preference_accuracy": "fraction of validation pairs with chosen reward > rejected reward",
    "logps_chosen": "nats per sequence (sum of completion token log-probs), validation",
    "logps_rejected": "nats per sequence (sum of completion token log-probs), validation",
    "logps_chosen_initial": "nats per sequence, validation, before training (the trend's baseline)",
    "logps_rejected_initial": "nats per sequence, validation, before training (the trend's baseline)",
    "rm_train_accuracy": "fraction, ties count as wrong",
    "rm_val_accuracy": "fraction, ties count as wrong",
    "rm_train_val_gap": "fraction (train accuracy - validation accuracy)",
    "mean_reward": "mean verifier reward per completion (0-1)",
    "frac_zero_std_groups": "fraction of prompt groups whose rewards all agree",
    "pass_rate": "fraction of sampled completions that pass verification",
    "pass_at_1": "fraction of validation tasks, unbiased estimator",
    "pass_at_5": "fraction of validation tasks, unbiased estimator",
    "pass_at_10": "fraction of validation tasks, unbiased estimator",
    "kto_kl": "TRL's KTO batch KL estimate (nats, sequence level)",
    "train_loss_first": "loss at the first logged step",
    "train_loss_last": "loss at the last logged step",
    "eval_loss": "validation loss",
    "kept_samples": "RAFT: verified completions kept for SFT in the cycle",
    "train_loss": "RAFT: mean SFT loss of the cycle",
}

# The project gates file's section for each training stage.
_GATES_STAGE = {"dpo": "dpo_training", "reward": "reward_model", "grpo": "rl_training", "raft": "rl_training"}


_CONSTRAINTS = {
    "kl_target": ("kl_divergence", "max"),
    "preference_gap_target": ("preference_gap", "min"),
    "preference_accuracy_target": ("preference_accuracy", "min"),
    "rm_accuracy_target": (("rm_train_accuracy", "rm_val_accuracy"), "min"),
    "rm_gap_max": ("rm_train_val_gap", "max"),
    "pass_rate_target": ("pass_rate", "min"),
    "zero_variance_max": ("frac_zero_std_groups", "max"),
    "initial_kl_max": ("kl_divergence_initial", "max"),
}


@dataclass(frozen=True)
class Gate:
    metric: str
    kind: str  # "min" or "max"
    threshold: float
    source: str
    optional: bool = False  # unmeasured passes (stated as such) instead of failing
    flag: bool = False  # a miss is reported, never fails the run

    def check(self, metrics: dict[str, Any]) -> GateResult:
        value = metrics.get(self.metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            reason = "not measured (optional)" if self.optional else "not measured"
            return GateResult(
                self.metric, self.kind, self.threshold, None, self.optional, reason, self.source
            )
        ok = value >= self.threshold if self.kind == "min" else value <= self.threshold
        sign = ">=" if self.kind == "min" else "<="
        reason = (
            f"{value:.4g} {sign} {self.threshold:g}"
            if ok
            else f"{value:.4g} misses {sign} {self.threshold:g}"
        )
        if not ok and self.flag:
            return GateResult(
                self.metric,
                self.kind,
                self.threshold,
                float(value),
                True,
                f"flagged: {reason}",
                self.source,
                True,
            )
        return GateResult(self.metric, self.kind, self.threshold, float(value), ok, reason, self.source)


@dataclass(frozen=True)
class GateResult:
    metric: str
    kind: str
    threshold: float
    value: float | None
    passed: bool
    reason: str
    source: str
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "unit": UNITS.get(self.metric, "")}


def gates_for(cfg: Any) -> tuple[list[Gate], list[str]]:
    """Gates from ``constraints:`` and ``constraints.gates_file``; also the names not applicable here."""
    gates: list[Gate] = []
    c = cfg.constraints
    for key, (metric, kind) in _CONSTRAINTS.items():
        if c.get(key) is None:
            continue
        for m in metric if isinstance(metric, tuple) else (metric,):
            gates.append(Gate(m, kind, float(c[key]), f"constraints.{key}"))
    skipped: list[str] = []
    if c.get("gates_file"):
        file_gates, skipped = _load_gates_file(Path(c["gates_file"]), cfg.stage)
        gates.extend(file_gates)
    return gates, skipped


def _load_gates_file(path: Path, stage: str) -> tuple[list[Gate], list[str]]:
    import yaml

    from alignforge.quality.gates import STAGES

    if not path.exists():
        raise ConfigError(f"{path}: gates file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON ({exc})") from None
    if isinstance(raw, dict) and set(raw) & set(STAGES):
        return _project_gates(path, stage), []
    if isinstance(raw, dict):
        raw = raw.get("train") or raw.get("quality_thresholds") or raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping metric -> {{min: x}} or {{max: x}}")
    gates, skipped = [], []
    for metric, rule in raw.items():
        if metric not in UNITS:
            skipped.append(metric)
            continue
        if not isinstance(rule, dict) or not set(rule) <= {"min", "max"} or not rule:
            raise ConfigError(f"{path}: {metric}: expected {{min: x}} and/or {{max: x}}, got {rule!r}")
        for kind, value in rule.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{path}: {metric}.{kind}: expected a number, got {value!r}")
            gates.append(Gate(metric, kind, float(value), str(path)))
    return gates, skipped


def _project_gates(path: Path, stage: str) -> list[Gate]:
    """The training stage's section of an ``alignforge gates init`` file, validated by its own loader."""
    from alignforge.quality.gates import load_gates

    cfg = load_gates(path)
    section = _GATES_STAGE.get(stage)
    if section is None or not isinstance(cfg.get(section), dict) or not cfg[section]:
        wanted = section or "none (train sft and kto have no model-gate stage: use constraints:)"
        raise ConfigError(
            f"{path}: no gates for train {stage} (its section is {wanted}); a gates file that applies "
            "nothing would let every run pass"
        )
    gates = []
    for name, spec in cfg[section].items():
        if not isinstance(spec, dict):
            continue
        metric = name
        if metric not in UNITS:
            raise ConfigError(
                f"{path}: {section}.{name}: train {stage} measures no such metric (known: {', '.join(sorted(UNITS))})"
            )
        bounds = [(k, spec[k]) for k in ("min", "max") if k in spec]
        if "equals" in spec:
            bounds += [("min", spec["equals"]), ("max", spec["equals"])]
        for kind, value in bounds:
            gates.append(
                Gate(
                    metric,
                    kind,
                    float(value),
                    f"{path}:{section}",
                    optional=bool(spec.get("optional")),
                    flag=spec.get("on_fail") == "flag",
                )
            )
    return gates


def evaluate_gates(gates: list[Gate], metrics: dict[str, Any]) -> list[GateResult]:
    return [g.check(metrics) for g in gates]
