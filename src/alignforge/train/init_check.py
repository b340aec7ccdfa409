"""Stage 3 of the DPO workflow, before any update: the ``train.init_check`` stage.

Loads the reference the way the DPO recipe does (:func:`~alignforge.train._loading.load_causal_lm`,
which freezes it) and the policy (a model folder, ``embedded``, or a PEFT adapter folder on top of its
base), then checks, each as a gate:

- the reference is frozen: no parameter requires grad and it is in eval mode;
- the architectures match: the config fields that shape the network and every parameter's name and
  shape (an adapter's own parameters aside);
- the policy is a copy of the reference: every weight equal at step 0 (with an adapter on the policy,
  its base weights equal the reference's; adapters on both are compared too);
- the tokenizers match: vocabulary, special tokens and chat template;
- initial KL(policy || reference) ~ 0 nats/token, measured as the DPO recipe's monitor measures it
  (:func:`~alignforge.train.monitors.policy_kl`: exact per-token KL on completions sampled from the
  policy for the validation prompts);
- the DPO loss on the validation pairs ~ ln 2 and the implicit rewards ~ 0, from TRL's DPOTrainer with
  the same beta (the loss and margin the recipe's monitor reports; the rewards per pair).

Chaining an SFT adapter into DPO with the base model as reference passes the first four (the base
weights are equal) and fails the last three: that is the mistake this stage is for.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.stages import Stage, StageSummary

__all__ = ["InitCheck", "LN2", "adapter_base", "from_config", "make_gate"]

LN2 = math.log(2.0)
# The config fields that shape the network (absent in both counts as equal).
_ARCH_KEYS = (
    "model_type",
    "architectures",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "hidden_act",
    "max_position_embeddings",
    "rms_norm_eps",
    "layer_norm_eps",
    "rope_theta",
    "rope_scaling",
    "rope_parameters",
    "tie_word_embeddings",
    "attention_bias",
    "mlp_bias",
    "sliding_window",
)
_SHOWN = 10  # differences listed per check


def make_gate(
    name: str, figure: str, value: float | None, op: str, bound: float, unit: str, *, on_fail: str = "stop"
) -> dict[str, Any]:
    """A gate dict of the workflow (``value`` None: not measured, so not passed)."""
    ok = value is not None and not math.isnan(value)
    if ok:
        assert value is not None
        ok = {
            ">=": value >= bound,
            "<=": value <= bound,
            "<": value < bound,
            ">": value > bound,
            "==": value == bound,
        }[op]
    return {
        "name": name,
        "figure": figure,
        "value": value,
        "op": op,
        "bound": bound,
        "unit": unit,
        "passed": bool(ok),
        "on_fail": on_fail,
    }


@dataclass
class InitCheck(Stage):
    """Policy against reference before the first DPO step; see the module docstring."""

    name = "train.init_check"

    policy: str
    reference: str
    validation: Path
    out_dir: Path
    beta: float = 0.1
    max_pairs: int = 64
    kl_prompts: int = 16
    max_new_tokens: int = 32
    kl_max: float = 0.01
    loss_tol: float = 0.02
    reward_tol: float = 0.02

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        from alignforge.train._loading import resolve_model

        found: dict[str, str | os.PathLike[str] | None] = {"validation": self.validation}
        for role in ("policy", "reference"):
            path = resolve_model(getattr(self, role))
            if path is not None and Path(path).is_dir():  # a Hub id is a name: it is a parameter
                found[role] = path
        return found

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": Path(self.out_dir) / "init_check.json"}

    def params(self) -> dict[str, Any]:
        keys = ("policy", "reference", "beta", "max_pairs", "kl_prompts", "max_new_tokens")
        return {k: getattr(self, k) for k in (*keys, "kl_max", "loss_tol", "reward_tol")}

    def execute(self) -> StageSummary:
        from alignforge.train._init_measure import measure

        figures = measure(self)
        gates = _gates(self, figures)
        figures["gates"] = gates
        figures["passed"] = all(g["passed"] for g in gates)
        out = Path(self.outputs()["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        body = {"policy": self.policy, "reference": self.reference, "validation": str(self.validation)}
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({**body, **figures}, indent=2, default=str) + "\n")
        tmp.replace(out)
        summary = StageSummary(
            self.name,
            written=1,
            failed=sum(not g["passed"] for g in gates),
            outputs={"out": str(out)},
            figures=figures,
        )
        summary.notes = _notes(figures)
        return summary


def _gates(stage: InitCheck, f: dict[str, Any]) -> list[dict[str, Any]]:
    def flag(key: str) -> float | None:
        return None if f.get(key) is None else float(bool(f[key]))

    return [
        make_gate("reference_frozen", "reference_frozen", flag("reference_frozen"), "==", 1.0, "bool"),
        make_gate("architecture_match", "architecture_match", flag("architecture_match"), "==", 1.0, "bool"),
        make_gate("policy_copy_of_reference", "weights_match", flag("weights_match"), "==", 1.0, "bool"),
        make_gate("tokenizer_match", "tokenizer_match", flag("tokenizer_match"), "==", 1.0, "bool"),
        make_gate("initial_kl", "initial_kl", f.get("initial_kl"), "<=", stage.kl_max, "nats/token"),
        make_gate(
            "dpo_loss_ln2",
            "dpo_loss_deviation",
            f.get("dpo_loss_deviation"),
            "<=",
            stage.loss_tol,
            "nats, |DPO loss - ln 2| on the validation pairs",
        ),
        make_gate(
            "implicit_rewards_zero",
            "mean_abs_reward",
            f.get("mean_abs_reward"),
            "<=",
            stage.reward_tol,
            "nats, mean |beta * log-ratio| over chosen and rejected",
        ),
    ]


def _notes(f: dict[str, Any]) -> list[str]:
    lines = []
    for g in f["gates"]:
        value = "not measured" if g["value"] is None else f"{g['value']:.4g}"
        verdict = "pass" if g["passed"] else "FAIL"
        lines.append(f"   gate {g['name']:<26} {verdict}  {value} {g['op']} {g['bound']:g} ({g['unit']})")
    for key in ("architecture_diff", "weights_diff", "tokenizer_diff"):
        lines += [f"   {key.split('_')[0]}: {d}" for d in f.get(key, [])]
    lines += [f"   note: {n}" for n in f.get("notes", [])]
    return lines


def adapter_base(path: str | os.PathLike[str]) -> str | None:
    """The base model of a PEFT adapter folder (its ``adapter_config.json``), or None for a model folder."""
    config = Path(path) / "adapter_config.json"
    if not config.is_file():
        return None
    try:
        base = json.loads(config.read_text()).get("base_model_name_or_path")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{config}: not valid JSON ({exc})") from None
    if not base:
        raise ConfigError(f"{config}: base_model_name_or_path is missing: which model is the adapter for?")
    return str(base)


def from_config(cfg: Any, *, out_dir: str | os.PathLike[str] | None = None) -> InitCheck:
    """The stage for a DPO config: the policy and reference the DPO recipe would start from.

    policy = ``model.policy_model`` (else ``base_model``); reference = ``model.reference_model``, else,
    as the recipe does, the policy itself, or with ``model.lora`` the policy with its adapters off (the
    base model of a policy that is an adapter folder). Validation = ``data.validation_file``, with
    ``training.beta`` (TRL's 0.1 when unset) and ``constraints.initial_kl_max`` as the KL bound.
    """
    from alignforge.train._loading import resolve_model

    m = cfg.model
    policy = m["policy_model"] or m["base_model"]
    reference = m["reference_model"]
    if reference is None:
        path = resolve_model(policy)
        base = adapter_base(path) if m["lora"] is not None and path and Path(path).is_dir() else None
        reference = base or policy
    validation = cfg.data["validation_file"]
    if not validation:
        named = cfg.spelled.get("data.validation_file", "data.validation_file")
        raise ConfigError(
            f"{cfg.source}: {named} is required: the initial checks run on the validation pairs"
        )
    stage = InitCheck(
        policy=policy,
        reference=reference,
        validation=Path(validation),
        out_dir=Path(out_dir) if out_dir is not None else cfg.output_dir / "init_check",
        beta=float(cfg.training["beta"] if cfg.training["beta"] is not None else 0.1),
    )
    if cfg.constraints["initial_kl_max"] is not None:
        stage.kl_max = float(cfg.constraints["initial_kl_max"])
    return stage
