"""Train/validation split by prompt: every row of a prompt lands on the same side."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

from alignforge.io import JsonlWriter, read_rows
from alignforge.records import Kind, text_of

__all__ = ["split_file"]


def _group_key(row: dict, kind: Kind) -> bytes:
    if kind in (Kind.RLVR, Kind.COMPLETION, Kind.VERDICT):
        return str(row["task_id"]).encode()
    if "prompt" in row:
        value = row["prompt"]
    else:  # SFT messages: everything before the last assistant turn is the prompt
        msgs = row["messages"]
        last = max((i for i, m in enumerate(msgs) if m["role"] == "assistant"), default=len(msgs))
        value = msgs[:last]
    return text_of(value).strip().encode() if isinstance(value, str) else orjson.dumps(value)


def split_file(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    validation: float = 0.1,
    seed: int = 0,
    kind: Kind | None = None,
) -> dict[str, int | str]:
    """Write ``<stem>_train.jsonl`` and ``<stem>_val.jsonl``; a prompt's bucket is a salted hash, so
    the split is stable across runs and machines, and no prompt crosses it."""
    if not 0.0 < validation < 1.0:
        raise ValueError("validation must be a share between 0 and 1, such as 0.1 or 0.2")
    src = Path(path)
    out = Path(out_dir)
    stem = src.name.removesuffix(".jsonl")
    train_path, val_path = out / f"{stem}_train.jsonl", out / f"{stem}_val.jsonl"
    salt = f"alignforge-split-{seed}".encode()
    cut = int(validation * 2**64)
    counts = {"train": 0, "validation": 0}
    with JsonlWriter(train_path, append=False) as train, JsonlWriter(val_path, append=False) as val:
        resolved = kind
        for _, row in read_rows(src, kind):
            if resolved is None:
                from alignforge.records import detect_kind

                resolved = detect_kind(row)
            digest = hashlib.blake2b(_group_key(row, resolved), key=salt[:64], digest_size=8).digest()
            if int.from_bytes(digest, "big") < cut:
                val.write(row)
                counts["validation"] += 1
            else:
                train.write(row)
                counts["train"] += 1
    return {**counts, "train_file": str(train_path), "validation_file": str(val_path)}
