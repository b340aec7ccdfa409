"""What ``train.init_check`` measures: loading both models, comparing them, KL and the DPO loss at step 0."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge._deps import require
from alignforge.errors import ConfigError
from alignforge.io import read_rows
from alignforge.records import Kind
from alignforge.train.init_check import _ARCH_KEYS, _SHOWN, LN2, InitCheck, adapter_base

__all__ = ["measure"]


@dataclass
class _Loaded:
    role: str
    spec: str
    model: Any  # a transformers model, or a peft.PeftModel over one
    tokenizer: Any
    adapter: str | None  # the adapter folder when the model is base + adapter


def measure(stage: InitCheck) -> dict[str, Any]:
    """Every figure of the stage but the gates (which :mod:`alignforge.train.init_check` derives)."""
    torch = require("torch", extra="train")
    rows = [row for _, row in itertools.islice(read_rows(stage.validation, Kind.DPO), stage.max_pairs)]
    if not rows:
        raise ConfigError(f"{stage.validation}: no validation pairs to check the initial models on")
    ref = _load(stage, "reference")
    policy = _load(stage, "policy")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    policy.model.to(device)
    ref.model.to(device)
    trainable = sum(p.numel() for p in ref.model.parameters() if p.requires_grad)
    f: dict[str, Any] = {
        "reference_frozen": trainable == 0 and not ref.model.training,
        "reference_trainable_params": trainable,
        "reference_training_mode": bool(ref.model.training),
        "policy_adapter": policy.adapter,
        "reference_adapter": ref.adapter,
        "ln2": LN2,
        "beta": stage.beta,
        "pairs": len(rows),
        "notes": [],
    }
    arch = _architecture_diff(policy.model, ref.model)
    f.update(architecture_match=not arch, architecture_diff=arch[:_SHOWN])
    weights, compared = (
        _weights_diff(policy, ref) if not arch else (["not compared: the architectures differ"], "")
    )
    f.update(weights_match=not weights, weights_diff=weights[:_SHOWN], weights_compared=compared)
    tok = _tokenizer_diff(policy.tokenizer, ref.tokenizer)
    f.update(tokenizer_match=not tok, tokenizer_diff=tok[:_SHOWN])
    for t in (policy.tokenizer, ref.tokenizer):
        if t.pad_token is None:  # as the DPO recipe's load_tokenizer does
            t.pad_token = t.eos_token
    if _config(policy.model).vocab_size != _config(ref.model).vocab_size:
        f["notes"].append("initial KL and DPO loss not measured: the two models' vocabularies differ in size")
        f.update(initial_kl=None, dpo_loss=None, dpo_loss_deviation=None, mean_abs_reward=None)
        return f
    from alignforge.train.monitors import policy_kl

    if ref.adapter:  # TRL's fused log-prob head patches a plain model; the frozen adapter is merged in
        ref.model = ref.model.merge_and_unload()
        f["notes"].append("the reference's adapter was merged into its base for KL and the DPO loss")
    prompts = [r["prompt"] for r in rows[: stage.kl_prompts]]
    kl = policy_kl(
        policy.model, policy.tokenizer, prompts, ref_model=ref.model, max_new_tokens=stage.max_new_tokens
    )
    f["initial_kl"] = None if math.isnan(kl) else kl
    f["kl_prompts"] = len(prompts)
    f.update(_dpo_at_step0(stage, policy, ref, rows, device))
    return f


def _load(stage: InitCheck, role: str) -> _Loaded:
    """The reference as the DPO recipe loads it (frozen, eval mode); the policy as a model or base + adapter."""
    from alignforge.train._loading import load_causal_lm, resolve_model
    from alignforge.train.config import parse_config

    spec = getattr(stage, role)
    path = resolve_model(spec)
    if path is None:
        raise ConfigError(f"train.init_check: {role} is empty")
    adapter = adapter_base(path) if Path(path).is_dir() else None
    base = resolve_model(adapter) if adapter else path
    if (
        base is not None
        and Path(path).is_dir()
        and not adapter
        and not (Path(path) / "config.json").is_file()
    ):
        raise ConfigError(
            f"train.init_check: {role} {spec!r}: {path} has neither config.json nor adapter_config.json"
        )
    raw = {
        "model": {"base_model": base, "reference_model": base},
        "data": {"train_file": str(stage.validation)},
        "logging": {"output_dir": str(stage.out_dir)},
    }
    cfg = parse_config(raw, "dpo", source=f"train.init_check {role}")
    model = load_causal_lm(cfg, "reference" if role == "reference" else "policy")
    if adapter:
        peft = require("peft", extra="train")
        model = peft.PeftModel.from_pretrained(model, path, is_trainable=False)
        if role == "reference":
            model.eval()
    transformers = require("transformers", extra="train")
    tok_path = path if (Path(path) / "tokenizer_config.json").is_file() or not adapter else base
    tokenizer = transformers.AutoTokenizer.from_pretrained(tok_path)
    return _Loaded(role, spec, model, tokenizer, path if adapter else None)


def _config(model: Any) -> Any:
    return _base(model).config


def _base(model: Any) -> Any:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _split_params(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(base parameters by their plain name, adapter parameters by name without the adapter's name)."""
    base, adapter = {}, {}
    for name, p in _base(model).named_parameters():
        if "lora_" in name or "modules_to_save" in name:
            adapter[name.replace(".default.", ".")] = p
        else:
            base[name.replace(".base_layer.", ".")] = p
    return base, adapter


def _architecture_diff(policy: Any, ref: Any) -> list[str]:
    pc, rc = _config(policy).to_dict(), _config(ref).to_dict()
    out = [f"config.{k}: {pc.get(k)!r} vs {rc.get(k)!r}" for k in _ARCH_KEYS if pc.get(k) != rc.get(k)]
    pb, rb = _split_params(policy)[0], _split_params(ref)[0]
    out += [f"parameter {n} only in the policy" for n in sorted(set(pb) - set(rb))]
    out += [f"parameter {n} only in the reference" for n in sorted(set(rb) - set(pb))]
    out += [
        f"parameter {n}: shape {tuple(pb[n].shape)} vs {tuple(rb[n].shape)}"
        for n in sorted(set(pb) & set(rb))
        if pb[n].shape != rb[n].shape
    ]
    return out


def _weights_diff(policy: _Loaded, ref: _Loaded) -> tuple[list[str], str]:
    import torch

    (pb, pa), (rb, ra) = _split_params(policy.model), _split_params(ref.model)
    out = []
    with torch.no_grad():
        out += [f"weight {n} differs" for n in sorted(pb) if not torch.equal(pb[n], rb[n].to(pb[n].device))]
        if policy.adapter and ref.adapter:
            compared = "base and adapter weights"
            if set(pa) != set(ra):
                out.append("the two adapters have different parameters")
            else:
                out += [
                    f"adapter weight {n} differs"
                    for n in sorted(pa)
                    if not torch.equal(pa[n], ra[n].to(pa[n].device))
                ]
        elif policy.adapter:
            compared = "base weights (the policy's adapter is on top)"
        elif ref.adapter:
            compared = "base weights"
            out.append(f"the reference carries an adapter ({ref.adapter}) the policy does not")
        else:
            compared = "all weights"
    return out, compared


def _tokenizer_diff(a: Any, b: Any) -> list[str]:
    out = []
    va, vb = a.get_vocab(), b.get_vocab()
    if va != vb:
        differ = sum(1 for k in set(va) | set(vb) if va.get(k) != vb.get(k))
        out.append(f"vocabulary: {len(va)} vs {len(vb)} tokens, {differ} differ")
    for attr in ("bos_token", "eos_token", "pad_token", "unk_token"):
        if getattr(a, attr, None) != getattr(b, attr, None):
            out.append(f"{attr}: {getattr(a, attr, None)!r} vs {getattr(b, attr, None)!r}")
    if sorted(map(str, a.all_special_tokens)) != sorted(map(str, b.all_special_tokens)):
        out.append("special tokens differ")
    if (a.chat_template or None) != (b.chat_template or None):
        out.append("chat templates differ")
    return out


def _dpo_at_step0(
    stage: InitCheck, policy: _Loaded, ref: _Loaded, rows: list[dict[str, Any]], device: str
) -> dict[str, Any]:
    """TRL's DPOTrainer on the validation pairs, nothing trained: its loss and margin (taken as the recipe's
    monitor takes them) and the per-pair implicit rewards (TRL's own log-prob routine, both models)."""
    import dataclasses
    import tempfile

    import torch

    trl = require("trl", extra="train")
    transformers = require("transformers", extra="train")
    from alignforge.train._data import to_dataset
    from alignforge.train.monitors import Monitor

    dataset = to_dataset(rows, Kind.DPO)
    bf16 = next(policy.model.parameters()).dtype == torch.bfloat16
    names = {f.name for f in dataclasses.fields(trl.DPOConfig)}
    checkpointing = (
        "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    )
    with tempfile.TemporaryDirectory() as scratch:  # nothing is saved; the trainer wants a folder
        args = trl.DPOConfig(
            output_dir=scratch,
            beta=stage.beta,
            per_device_eval_batch_size=8,
            report_to="none",
            use_cpu=device == "cpu",
            bf16=bf16,
            disable_tqdm=True,
            **{checkpointing: False},
        )
        trainer = trl.DPOTrainer(
            model=policy.model,
            ref_model=ref.model,
            args=args,
            train_dataset=dataset,
            eval_dataset=dataset,
            processing_class=policy.tokenizer,
        )
        trainer.remove_callback(transformers.PrinterCallback)  # the figures are printed by the stage
        monitor = Monitor("dpo", logp_trend_warning=False)
        monitor.absorb(trainer.evaluate())
    rewards = []
    with torch.no_grad():
        for batch in trainer.get_eval_dataloader():
            pc, pr = trainer.compute_ref_log_probs(trainer.model, batch)
            rc, rr = trainer.compute_ref_log_probs(trainer.ref_model, batch)
            rewards += (stage.beta * (torch.cat([pc - rc, pr - rr]))).abs().tolist()
    loss = monitor.metrics.get("eval_loss")
    return {
        "dpo_loss": loss,
        "dpo_loss_deviation": None if loss is None else abs(loss - LN2),
        "reward_margin": monitor.metrics.get("reward_margin"),
        "preference_accuracy": monitor.metrics.get("preference_accuracy"),
        "mean_abs_reward": sum(rewards) / len(rewards) if rewards else None,
    }
