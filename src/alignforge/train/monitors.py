"""Monitors TRL does not give: KL(policy || reference) on policy samples, DPO margin and log-prob trends,
reward-model accuracies, GRPO reward spread, and gates checked at each evaluation.

:class:`Monitor` is a ``transformers.TrainerCallback``. It keeps the latest value of every metric
(keys and units in :data:`alignforge.train.gates.UNITS`) and writes them to ``training_metrics.json``
in every checkpoint directory it sees saved, the file the seed's ``check_quality_gates`` reads.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from alignforge.train.gates import UNITS, Gate, GateResult, evaluate_gates

__all__ = ["METRICS_FILE", "Monitor", "policy_kl", "write_metrics"]

METRICS_FILE = "training_metrics.json"
INITIAL_KL_TOLERANCE = 1e-3  # nats/token; the exact KL of a model against itself is 0 up to float error

# TRL's logged names -> ours, per stage (eval_ prefixed names come from trainer.evaluate()).
_FROM_TRL: dict[str, dict[str, tuple[str, ...]]] = {
    "dpo": {
        "eval_rewards/margins": ("preference_gap", "reward_margin"),
        "eval_rewards/accuracies": ("preference_accuracy",),
        "eval_logps/chosen": ("logps_chosen",),
        "eval_logps/rejected": ("logps_rejected",),
        "eval_loss": ("eval_loss",),
    },
    "kto": {"eval_rewards/margins": ("reward_margin",), "eval_kl": ("kto_kl",), "eval_loss": ("eval_loss",)},
    "reward": {"eval_loss": ("eval_loss",)},  # accuracies: counted over every pair by the recipe
    "sft": {"eval_loss": ("eval_loss",)},
    "raft": {"eval_loss": ("eval_loss",)},
    "grpo": {"reward": ("mean_reward",), "frac_reward_zero_std": ("frac_zero_std_groups",)},
}


def _prompt_text(tokenizer: Any, prompt: Any) -> str:
    if isinstance(prompt, list):  # conversational: the chat template, as TRL renders it
        return tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    return str(prompt)


def policy_kl(
    model: Any,
    tokenizer: Any,
    prompts: list[Any],
    *,
    ref_model: Any = None,
    max_new_tokens: int = 32,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 8,
) -> float:
    """Mean per-token KL(policy || reference) in nats over completions sampled from the policy.

    At each sampled position the exact KL between the two next-token distributions is summed over
    the vocabulary (no single-sample estimator), then averaged over completion tokens up to and
    including EOS. ``ref_model=None`` on a PEFT model means the base model (adapters disabled).
    """
    import contextlib

    import torch

    if not prompts:
        return float("nan")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    if ref_model is None:
        if not hasattr(model, "disable_adapter"):
            raise ValueError("policy_kl needs ref_model unless the policy is a PEFT model")
        ref_ctx = model.disable_adapter
    else:
        ref_ctx = contextlib.nullcontext
    total, count = 0.0, 0
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            for start in range(0, len(prompts), batch_size):
                texts = [_prompt_text(tokenizer, p) for p in prompts[start : start + batch_size]]
                enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left").to(device)
                seq = model.generate(
                    **enc,
                    do_sample=True,
                    temperature=temperature,
                    top_k=0,
                    top_p=1.0,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    use_cache=True,
                )
                plen = enc["input_ids"].shape[1]
                completion = seq[:, plen:]
                is_eos = completion == tokenizer.eos_token_id
                after_eos = (is_eos.cumsum(1) - is_eos.int()) > 0  # strictly after the first EOS
                mask = ~after_eos
                attn = torch.cat([enc["attention_mask"], mask.long()], dim=1)
                logits_p = model(input_ids=seq, attention_mask=attn).logits[:, plen - 1 : -1].float()
                with ref_ctx():
                    ref = model if ref_model is None else ref_model
                    logits_q = (
                        ref(
                            input_ids=seq.to(next(ref.parameters()).device),
                            attention_mask=attn.to(next(ref.parameters()).device),
                        )
                        .logits[:, plen - 1 : -1]
                        .float()
                        .to(device)
                    )
                logp = torch.log_softmax(logits_p, -1)
                logq = torch.log_softmax(logits_q, -1)
                kl = (logp.exp() * (logp - logq)).sum(-1)
                total += float((kl * mask).sum())
                count += int(mask.sum())
    finally:
        model.train(was_training)
    return total / count if count else float("nan")


def write_metrics(directory: str | os.PathLike[str], metrics: dict[str, Any], **extra: Any) -> Path:
    """Write ``training_metrics.json`` (metrics, a ``units`` dict naming each unit, and ``extra``)."""
    path = Path(directory) / METRICS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}
    body = {**clean, **extra, "units": {k: UNITS[k] for k in clean if k in UNITS}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


class Monitor(TrainerCallback):
    """Collects the stage's metrics during training; KL and gates at each evaluation when configured."""

    def __init__(
        self,
        stage: str,
        *,
        tokenizer: Any = None,
        kl_prompts: list[Any] | None = None,
        ref_model: Any = None,
        kl_max_new_tokens: int = 32,
        kl_temperature: float = 1.0,
        seed: int = 0,
        gates: list[Gate] | None = None,
        check_at_eval: bool = False,
        on_fail: str = "stop",
        logp_trend_warning: bool = True,
        is_main: bool = True,
    ) -> None:
        self.stage = stage
        self.tokenizer = tokenizer
        self.kl_prompts = kl_prompts or []
        self.ref_model = ref_model
        self.kl_kwargs: dict[str, Any] = {
            "max_new_tokens": kl_max_new_tokens,
            "temperature": kl_temperature,
            "seed": seed,
        }
        self.gates = gates or []
        self.check_at_eval = check_at_eval
        self.on_fail = on_fail
        self.logp_trend_warning = logp_trend_warning
        self.is_main = is_main
        self.metrics: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.stopped_by: list[GateResult] = []
        self.weights_changed: bool | None = None  # set by the recipe after training (the post-condition)
        self._kl_step = -1

    # -- measurements -------------------------------------------------------------------------
    def measure_kl(self, model: Any, *, key: str = "kl_divergence") -> float | None:
        if not self.kl_prompts or self.tokenizer is None:
            return None
        value = policy_kl(model, self.tokenizer, self.kl_prompts, ref_model=self.ref_model, **self.kl_kwargs)
        self.metrics[key] = value
        return value

    def absorb(self, logs: dict[str, Any], *, step: int | None = None) -> None:
        """Take TRL's logged/evaluated metrics under our names."""
        for name, ours in _FROM_TRL.get(self.stage, {}).items():
            if name in logs and logs[name] is not None:
                for key in ours:
                    self.metrics[key] = float(logs[name])
        if "loss" in logs:
            self.metrics.setdefault("train_loss_first", float(logs["loss"]))
            self.metrics["train_loss_last"] = float(logs["loss"])
        if "eval_logps/chosen" in logs and "eval_logps/rejected" in logs:
            c, r = float(logs["eval_logps/chosen"]), float(logs["eval_logps/rejected"])
            # the baseline survives a resume: it is saved with the metrics of every checkpoint
            self.metrics.setdefault("logps_chosen_initial", c)
            self.metrics.setdefault("logps_rejected_initial", r)
            self._check_logp_trend(c, r)
        if step is not None:
            self.history.append(
                {"step": step, **{k: v for k, v in logs.items() if isinstance(v, int | float)}}
            )

    def _check_logp_trend(self, c1: float, r1: float) -> None:
        """Compare the latest validation log-probs with the pre-training baseline."""
        if not self.logp_trend_warning:
            return
        c0, r0 = self.metrics["logps_chosen_initial"], self.metrics["logps_rejected_initial"]
        if c1 < c0 and r1 < r0:
            msg = (
                f"chosen and rejected log-probs both fell (chosen {c0:.2f} -> {c1:.2f}, rejected {r0:.2f} -> "
                f"{r1:.2f} nats/sequence): the margin grows by pushing both down, the known DPO failure"
            )
            if msg.split(" (")[0] not in " ".join(self.warnings):
                self.warnings.append(msg)
            else:
                self.warnings[-1] = msg

    def check(self) -> list[GateResult]:
        return evaluate_gates(self.gates, self.metrics)

    # -- TrainerCallback hooks ----------------------------------------------------------------
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
        if state.global_step == 0 and "kl_divergence_initial" not in self.metrics and model is not None:
            value = self.measure_kl(model, key="kl_divergence_initial")
            if value is not None and value > INITIAL_KL_TOLERANCE:
                # Stage 3 of the DPO workflow: before any step the policy must equal its reference.
                self.warnings.append(
                    f"KL(policy || reference) is {value:.4g} nats/token before the first step (expected ~0, "
                    f"tolerance {INITIAL_KL_TOLERANCE:g}): the reference is not the starting policy"
                )

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        if logs:
            self.absorb(logs, step=state.global_step)

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: dict[str, Any] | None = None,
        model: Any = None,
        **kw: Any,
    ) -> None:
        if metrics:
            self.absorb(metrics)
        if model is not None and state.global_step > 0:
            self.measure_kl(model)
            self._kl_step = state.global_step
        if self.check_at_eval and self.gates and state.global_step > 0:  # step 0 is the baseline
            failed = [r for r in self.check() if not r.passed]
            if failed and self.on_fail == "stop":
                self.stopped_by = failed
                control.should_training_stop = True
                control.should_save = True
            elif failed:
                self.warnings.append(
                    f"step {state.global_step}: gates failed: "
                    + "; ".join(f"{r.metric} {r.reason}" for r in failed)
                )

    def on_save(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
        if model is not None and self._kl_step != state.global_step:  # every checkpoint gets its KL
            self.measure_kl(model)
            self._kl_step = state.global_step
        if self.is_main and state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                write_metrics(
                    folder,
                    self.metrics,
                    stage=self.stage,
                    step=state.global_step,
                    warnings=list(self.warnings),
                )

    def restore(self, checkpoint: str | os.PathLike[str]) -> None:
        """Resume: take the metrics recorded at ``checkpoint`` (initial KL, first loss, ...)."""
        path = Path(checkpoint) / METRICS_FILE
        if path.exists():
            saved = json.loads(path.read_text())
            for key, value in saved.items():
                if key in UNITS and value is not None:
                    self.metrics.setdefault(key, value)
            self.warnings.extend(w for w in saved.get("warnings", []) if w not in self.warnings)
