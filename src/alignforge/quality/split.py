"""Train/validation split by prompt: every row of a prompt lands on the same side."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from alignforge.io import JsonlWriter, read_rows
from alignforge.records import Kind, detect_kind, text_of
from alignforge.stages import Stage, StageSummary, run_stage

__all__ = ["split_file", "SplitStage"]


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


@dataclass
class SplitStage(Stage):
    """``split`` as a stage: ``data`` (JSONL or Parquet) into ``<stem>_train.jsonl`` (the main
    output) and ``<stem>_val.jsonl`` in ``out_dir``. Both are written under temporary names and
    renamed at the end: a killed split leaves neither half-written, and its rerun writes the same
    files; a split that fails on bad input leaves neither, nor a record (``resumable`` False)."""

    data: str | os.PathLike[str]
    out_dir: str | os.PathLike[str]
    validation: float = 0.1
    seed: int = 0
    kind: Kind | None = None

    name: ClassVar[str] = "split"
    resumable: ClassVar[bool] = False  # a failed split renamed nothing into place: no record is left

    def __post_init__(self) -> None:
        if not 0.0 < self.validation < 1.0:
            raise ValueError("validation must be a share between 0 and 1, such as 0.1 or 0.2")

    def _paths(self) -> tuple[Path, Path]:
        data = Path(self.data)
        stem = data.stem if data.suffix in (".jsonl", ".parquet") else data.name
        out = Path(self.out_dir)
        return out / f"{stem}_train.jsonl", out / f"{stem}_val.jsonl"

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"data": self.data}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        train, val = self._paths()
        return {"out": train, "validation": val}

    def params(self) -> dict[str, Any]:
        return {"validation": self.validation, "seed": self.seed, "kind": self.kind and self.kind.value}

    def execute(self) -> StageSummary:
        train_path, val_path = self._paths()
        salt = f"alignforge-split-{self.seed}".encode()
        cut = int(self.validation * 2**64)
        counts = {"train": 0, "validation": 0}
        parts = [p.with_name(f".{p.name}.partial") for p in (train_path, val_path)]
        try:
            with JsonlWriter(parts[0], append=False) as train, JsonlWriter(parts[1], append=False) as val:
                resolved = self.kind
                for _, row in read_rows(self.data, self.kind):
                    if resolved is None:
                        resolved = detect_kind(row)
                    digest = hashlib.blake2b(_group_key(row, resolved), key=salt[:64], digest_size=8).digest()
                    side = "validation" if int.from_bytes(digest, "big") < cut else "train"
                    (val if side == "validation" else train).write(row)
                    counts[side] += 1
            os.replace(parts[0], train_path)
            os.replace(parts[1], val_path)
        finally:
            for p in parts:
                p.unlink(missing_ok=True)
        s = StageSummary(
            self.name,
            written=counts["train"] + counts["validation"],
            written_to={"out": counts["train"], "validation": counts["validation"]},
            outputs={"out": str(train_path), "validation": str(val_path)},
            figures={**counts, "train_file": str(train_path), "validation_file": str(val_path)},
        )
        s.notes += [
            f"train {counts['train']:,} rows -> {train_path}",
            f"validation {counts['validation']:,} rows -> {val_path}",
        ]
        return s


def split_file(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    validation: float = 0.1,
    seed: int = 0,
    kind: Kind | None = None,
) -> dict[str, int | str]:
    """Write ``<stem>_train.jsonl`` and ``<stem>_val.jsonl``; a prompt's bucket is a salted hash, so
    the split is stable across runs and machines, and no prompt crosses it. Runs :class:`SplitStage`
    (a rerun on the same file reuses the finished split)."""
    s = run_stage(SplitStage(path, out_dir, validation=validation, seed=seed, kind=kind))
    return {k: s.figures[k] for k in ("train", "validation", "train_file", "validation_file")}
