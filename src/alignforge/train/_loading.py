"""What a recipe loads and where: devices, precision, models, tokenizers, LoRA, the process rank, and the
check that all of it can load here before anything does."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from alignforge._deps import require
from alignforge.errors import ConfigError

__all__ = [
    "check_runnable",
    "is_main_process",
    "load_causal_lm",
    "load_tokenizer",
    "lora_config",
    "resolve_model",
    "resolve_precision",
    "use_liger",
    "world_size",
]


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _cuda() -> bool:
    torch = require("torch", extra="train")
    return bool(torch.cuda.is_available())


def _on_gpu(compute: dict[str, Any]) -> bool:
    """The run trains on CUDA: the config allows it and torch sees a device."""
    return compute["device"] != "cpu" and _cuda()


def resolve_precision(compute: dict[str, Any]) -> str:
    """``auto`` means bf16 on a CUDA device that supports it, else fp32; fp16/bf16 need CUDA."""
    precision = compute["precision"]
    on_gpu = _on_gpu(compute)
    if precision == "auto":
        if on_gpu:
            torch = require("torch", extra="train")
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and not on_gpu:
        raise ConfigError(
            "compute.fp16 needs a CUDA device; use compute.precision: auto (or bf16 / fp32) here"
        )
    return precision


def use_liger(compute: dict[str, Any]) -> bool:
    """Liger's fused kernels: ``auto`` turns them on when the wheel is installed and CUDA is present."""
    liger = compute["liger"]
    installed = importlib.util.find_spec("liger_kernel") is not None
    if liger == "auto":
        return installed and _on_gpu(compute)
    if liger is True and not installed:
        raise ConfigError("compute.liger: true needs the liger-kernel wheel: pip install liger-kernel")
    if isinstance(liger, str):
        raise ConfigError(f"compute.liger: {liger!r} is not one of true, false, auto")
    return bool(liger)


def resolve_model(name: str | None) -> str | None:
    """``embedded`` (or ``embedded:SmolLM2-135M-Instruct``) names the bundled checkpoint; others pass through."""
    if name is None:
        return None
    if name.split(":")[0] == "embedded":
        from alignforge.models import embedded_checkpoint

        return str(embedded_checkpoint())
    return name


def _offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _loadable(name: str) -> bool:
    """The embedded model, a local folder, a model in the Hugging Face cache, or (online) any Hub id."""
    if name.split(":")[0] == "embedded" or Path(name).is_dir():
        return True
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        cached = try_to_load_from_cache(name, "config.json")
    except HFValidationError:  # not a Hub id either: a local path that does not exist
        return False
    return isinstance(cached, str) or not _offline()


def check_runnable(cfg: Any) -> None:
    """Before any model loads: raise one ConfigError naming every ``--set`` that makes ``cfg`` run here.

    Checks that each model name loads (offline, that means a local folder or the Hugging Face cache),
    that ``compute.device: cuda`` and fp16 have a CUDA device. Trackers named in ``logging`` whose
    package is not installed are taken out of ``report_to``, with a note saying so.
    """
    problems, fixes = [], []
    unloadable = []
    for key in ("base_model", "policy_model", "reference_model"):
        name = cfg.model.get(key)
        if name and not _loadable(name):
            named = cfg.spelled.get(f"model.{key}", f"model.{key}")
            unloadable.append(f"{named} {name!r}")
            fixes.append(f"--set {named}=embedded")
    if unloadable:
        where = "offline (HF_HUB_OFFLINE=1)" if _offline() else "here"
        problems.append(f"{', '.join(unloadable)}: no local checkpoint folder, and cannot load {where}")
    for key in ("train_file", "validation_file", "tests"):
        path = cfg.data.get(key)
        if path and not Path(path).exists():
            named = cfg.spelled.get(f"data.{key}", f"data.{key}")
            hint = next(
                (
                    f" (alignforge prepare {d} makes it)"
                    for d in ("humaneval", "mbpp")
                    if d in Path(path).name
                ),
                "",
            )
            problems.append(f"{named} {path} not found{hint}")
            fixes.append(f"--set {named}=FILE")
    c = cfg.compute
    cuda = _cuda()
    if c["device"] == "cuda" and not cuda:
        problems.append("compute.device is cuda but torch sees no CUDA device")
        fixes.append("--set compute.device=cpu")
    if c["precision"] == "fp16" and (c["device"] == "cpu" or not cuda):
        problems.append("fp16 mixed precision needs a CUDA device")
        fixes.append("--set compute.fp16=false" if c["fp16"] else "--set compute.precision=auto")
    if problems:
        raise ConfigError(f"{cfg.source}: {'; '.join(problems)}. Fix: {' '.join(fixes)}")
    lg = cfg.logging
    missing = [
        t
        for t in lg["report_to"]
        if t in ("wandb", "mlflow", "trackio") and importlib.util.find_spec(t) is None
    ]
    kept = [t for t in lg["report_to"] if t not in missing]
    for tracker in missing:
        why = {"wandb": "wandb_project", "mlflow": "mlflow_experiment"}.get(tracker)
        named = f"logging.{why} {lg[why]!r}" if why and lg[why] else f"logging.report_to {tracker}"
        also = "TensorBoard (under runs/), " if "tensorboard" in kept else ""
        cfg.notes.append(
            f"{named}: {tracker} is not installed, so this run does not report to it; the metrics go to "
            f"{also}training_metrics.json and the run card in {cfg.output_dir} (pip install {tracker} to add it)"
        )
    lg["report_to"] = kept or ["none"]


def _dtype(cfg: Any) -> Any:
    torch = require("torch", extra="train")
    name = cfg.model["dtype"]
    if name == "auto":
        return {"bf16": torch.bfloat16, "fp16": torch.float32, "fp32": torch.float32}[
            resolve_precision(cfg.compute)
        ]
    return getattr(torch, name)


def load_tokenizer(cfg: Any) -> Any:
    transformers = require("transformers", extra="train")
    path = resolve_model(cfg.model["policy_model"] or cfg.model["base_model"])
    tok = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=cfg.model["trust_remote_code"])
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(cfg: Any, which: str = "policy", *, sequence_classification: bool = False) -> Any:
    """Load the policy (``policy_model`` or ``base_model``) or the frozen reference model."""
    transformers = require("transformers", extra="train")
    m = cfg.model
    if which == "reference":
        name = m.get("reference_model") or m["policy_model"] or m["base_model"]
    else:
        name = m["policy_model"] or m["base_model"]
    path = resolve_model(name)
    if path is None or (
        not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE") == "1" and "/" not in path
    ):
        raise ConfigError(f"model {name!r}: not a local checkpoint directory")
    kwargs: dict[str, Any] = {"dtype": _dtype(cfg), "trust_remote_code": m["trust_remote_code"]}
    if m["attn_implementation"]:
        kwargs["attn_implementation"] = m["attn_implementation"]
    cls = transformers.AutoModelForSequenceClassification if sequence_classification else None
    if cls is not None:
        kwargs["num_labels"] = 1
    else:
        cls = transformers.AutoModelForCausalLM
    model = cls.from_pretrained(path, **kwargs)
    if (m["attn_implementation"] or "sdpa") == "sdpa" and _on_gpu(cfg.compute):
        # cuDNN's attention builds an execution plan for every new shape, and preference batches change
        # length every step: on an H200 that cost 170 ms of CPU a step, 2.4x the step's GPU time
        # (bench/BENCHMARKS.md, DPO train speed). Flash and memory-efficient attention plan nothing.
        require("torch", extra="train").backends.cuda.enable_cudnn_sdp(False)
    if which == "reference":
        model.eval()
        model.requires_grad_(False)
    return model


def lora_config(cfg: Any, *, task_type: str = "CAUSAL_LM") -> Any:
    """A ``peft.LoraConfig`` from ``model.lora``, or None for full fine-tuning."""
    lora = cfg.model["lora"]
    if lora is None:
        return None
    peft = require("peft", extra="train")
    return peft.LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type=task_type,
    )
