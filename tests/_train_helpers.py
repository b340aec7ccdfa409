"""Fixtures' building blocks for the train tests: a tiny random Llama and small configs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
DATA = EXAMPLES / "data"


def always_pass(prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
    """A reward every completion earns (``_train_helpers:always_pass``): drives RAFT's SFT path."""
    return [1.0] * len(completions)


def build_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """A randomly initialised Llama (hidden 64, 2 layers, 4 heads) with the SmolLM2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from alignforge.models import embedded_checkpoint

    tok = AutoTokenizer.from_pretrained(embedded_checkpoint())
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_config(path: Path, stage: str, base_model: Path, out: Path, /, **sections: dict[str, Any]) -> Path:
    """A small config for ``stage`` on the example data; ``sections`` override keys per section."""
    files = {
        "dpo": ("pairs_train.jsonl", "pairs_val.jsonl"),
        "reward": ("pairs_train.jsonl", "pairs_val.jsonl"),
        "sft": ("sft_train.jsonl", "sft_val.jsonl"),
        "kto": ("kto_train.jsonl", "kto_val.jsonl"),
        "grpo": ("math_train.jsonl", "math_val.jsonl"),
        "raft": ("math_train.jsonl", "math_val.jsonl"),
    }[stage]
    cfg: dict[str, Any] = {
        "model": {"base_model": str(base_model)},
        "data": {"train_file": str(DATA / files[0]), "validation_file": str(DATA / files[1])},
        "training": {"batch_size": 4, "max_steps": 3, "logging_steps": 1, "learning_rate": 1e-3},
        "compute": {"device": "cpu", "dataloader_num_workers": 0},
        "logging": {"output_dir": str(out), "report_to": "none"},
    }
    if stage not in ("grpo", "raft"):
        cfg["data"]["max_length"] = 96
    for section, body in sections.items():
        cfg.setdefault(section, {}).update(body)
    path.write_text(yaml.safe_dump(cfg))
    return path


def copy_examples(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, dirs_exist_ok=True)
    return dst
