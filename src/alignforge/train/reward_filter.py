"""Stage 4's optional filter: drop the preference pairs a trained reward model disagrees with.

``filter_pairs(model_dir, pairs, out)`` (the ``train.reward_filter`` stage) scores each pair's chosen
and rejected completions with the reward model ``train reward`` saved (a full model or a LoRA adapter
folder) and keeps the pairs whose chosen reward is strictly above the rejected one (ties count as
disagreement, as in the recipe's accuracy). A dropped pair goes to ``out.dropped.jsonl`` with
``metadata.drop_reasons = [{"reason": "reward_model_disagrees", "detail": {"chosen_reward",
"rejected_reward"}}]``; a kept one carries ``metadata.reward_model`` with the same two numbers.

Texts are built as TRL's RewardTrainer builds them (prompt + completion, EOS appended to plain text;
the chat template for conversational rows) and padded on the right, so a pair scores here as it scored
in the recipe's accuracy. The output is written to temporary files renamed when done: a killed run
leaves no partial output and is redone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge._deps import require
from alignforge.errors import ConfigError
from alignforge.io import JsonlWriter, read_rows
from alignforge.records import Kind
from alignforge.stages import Stage, StageSummary, add_drop_reason, run_stage, side_paths

__all__ = ["REASON", "RewardFilter", "filter_pairs"]

REASON = "reward_model_disagrees"


@dataclass
class RewardFilter(Stage):
    """Keep the pairs the reward model in ``model_dir`` agrees with; see the module docstring."""

    name = "train.reward_filter"

    model_dir: Path
    pairs: Path
    out: Path
    batch_size: int = 8  # how many pairs are scored at once: speed only, not a parameter

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"model": self.model_dir, "pairs": self.pairs}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        paths = side_paths(self.out)
        return {"out": paths.out, "dropped": paths.dropped}

    def params(self) -> dict[str, Any]:
        return {"reason": REASON}

    def execute(self) -> StageSummary:
        torch = require("torch", extra="train")
        model, tokenizer = _load(Path(self.model_dir))
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model.to(device)
        paths = side_paths(self.out)
        summary = StageSummary(self.name, outputs={k: str(v) for k, v in self.outputs().items()})
        tmp_out, tmp_drop = Path(f"{paths.out}.tmp"), Path(f"{paths.dropped}.tmp")
        Path(paths.out).parent.mkdir(parents=True, exist_ok=True)
        with JsonlWriter(tmp_out, append=False) as keep, JsonlWriter(tmp_drop, append=False) as drop:
            batch: list[dict[str, Any]] = []
            for _, row in read_rows(self.pairs, Kind.DPO):
                batch.append(row)
                if len(batch) >= self.batch_size:
                    _score_batch(model, tokenizer, batch, keep, drop, summary, device)
                    batch = []
            if batch:
                _score_batch(model, tokenizer, batch, keep, drop, summary, device)
        tmp_out.replace(paths.out)
        tmp_drop.replace(paths.dropped)
        total = summary.written + summary.dropped
        summary.figures = {"pairs": total, "kept_fraction": summary.written / total if total else None}
        summary.notes = [f"   kept {summary.written} of {total} pairs the reward model agrees with"]
        return summary


def filter_pairs(
    model_dir: str | os.PathLike[str], pairs: str | os.PathLike[str], out: str | os.PathLike[str], **kw: Any
) -> StageSummary:
    """Run :class:`RewardFilter` through the stage contract (a finished run is reused)."""
    return run_stage(RewardFilter(Path(model_dir), Path(pairs), Path(out), **kw))


def _load(model_dir: Path) -> tuple[Any, Any]:
    transformers = require("transformers", extra="train")
    if not model_dir.is_dir():
        raise ConfigError(
            f"{model_dir}: no reward model folder (train reward writes one to logging.output_dir)"
        )
    adapter = model_dir / "adapter_config.json"
    if adapter.is_file():
        peft = require("peft", extra="train")
        base = json.loads(adapter.read_text()).get("base_model_name_or_path")
        if not base:
            raise ConfigError(f"{adapter}: base_model_name_or_path is missing")
        model = transformers.AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
        model = peft.PeftModel.from_pretrained(model, model_dir)
    elif (model_dir / "config.json").is_file():
        model = transformers.AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1)
    else:
        raise ConfigError(
            f"{model_dir}: neither config.json nor adapter_config.json: not a saved reward model"
        )
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id  # as the recipe sets it
    model.eval()
    return model, tokenizer


def _ids(tokenizer: Any, prompt: Any, completion: Any) -> list[int]:
    """Token ids of one prompt + completion, as TRL's RewardTrainer tokenizes them."""
    if isinstance(prompt, list):
        enc = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)
        return list(enc["input_ids"])
    text = prompt + completion
    if not text.endswith(tokenizer.eos_token):
        text += tokenizer.eos_token
    return list(tokenizer(text)["input_ids"])


def _rewards(model: Any, tokenizer: Any, seqs: list[list[int]], device: str) -> list[float]:
    import torch

    width = max(len(s) for s in seqs)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=device)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=device)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    return [float(x) for x in logits.squeeze(-1).float().tolist()]


def _score_batch(
    model: Any,
    tokenizer: Any,
    rows: list[dict[str, Any]],
    keep: JsonlWriter,
    drop: JsonlWriter,
    summary: StageSummary,
    device: str,
) -> None:
    seqs = [_ids(tokenizer, r["prompt"], r["chosen"]) for r in rows]
    seqs += [_ids(tokenizer, r["prompt"], r["rejected"]) for r in rows]
    rewards = _rewards(model, tokenizer, seqs, device)
    for i, row in enumerate(rows):
        detail = {"chosen_reward": rewards[i], "rejected_reward": rewards[len(rows) + i]}
        if detail["chosen_reward"] > detail["rejected_reward"]:
            row.setdefault("metadata", {})["reward_model"] = detail
            keep.write(row)
            summary.written += 1
        else:
            drop.write(add_drop_reason(row, REASON, detail))
            summary.drop(REASON)
