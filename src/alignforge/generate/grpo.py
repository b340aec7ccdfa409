"""GRPO prompts: prompt-only rows that carry the spec of the reward that will score them online.

Each row has ``prompt``, the spec as ``reward_spec``, and the columns TRL's ``GRPOTrainer`` hands
to reward functions as keyword lists (see :mod:`alignforge.train.rewards`):

* ``{"type": "math", "answer": ...}`` -> column ``answer`` (exact answer, math verifier);
* ``{"type": "tests", "tests": [...], "entry_point": ...}`` -> columns ``tests`` and ``entry_point``
  (code run in the sandbox); no top-level ``task_id``, so ``check`` still reads the file as GRPO;
* ``{"type": "judge", "rubric": ..., "scale": "0-10"}`` (LLM rubric, for open-ended prompts).

``metadata`` keeps ``source_id`` and ``domain``. No LLM is called here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from alignforge.io import DataError, iter_jsonl, write_jsonl
from alignforge.judge._prompts import RUBRIC
from alignforge.stages import short_hash

__all__ = ["generate_grpo_data", "GRPOSummary"]


@dataclass
class GRPOSummary:
    written: int = 0
    rewards: dict[str, int] = field(default_factory=dict)
    output: str = ""

    def lines(self) -> list[str]:
        mix = ", ".join(f"{k}={v}" for k, v in sorted(self.rewards.items()))
        return [f"wrote {self.written} GRPO prompts to {self.output} (reward types: {mix})"]


def _reward(row: dict[str, Any], reward: str, rubric: str) -> dict[str, Any]:
    kind = reward
    if reward == "auto":
        kind = "tests" if row.get("tests") else ("math" if row.get("answer") is not None else "judge")
    if kind == "math":
        if row.get("answer") is None:
            raise ValueError("reward 'math' needs an 'answer' field")
        return {"type": "math", "answer": str(row["answer"])}
    if kind == "tests":
        if not row.get("tests"):
            raise ValueError("reward 'tests' needs a 'tests' field")
        spec = {"type": "tests", "tests": row["tests"], "entry_point": row.get("entry_point")}
        return {k: v for k, v in spec.items() if v is not None}
    if kind == "judge":
        return {"type": "judge", "rubric": rubric, "scale": "0-10"}
    raise ValueError(f"unknown reward type {kind!r} (auto, math, tests, judge)")


def generate_grpo_data(
    input_file: str | os.PathLike[str],
    output_file: str | os.PathLike[str],
    *,
    reward: str = "auto",
    rubric: str = RUBRIC,
) -> GRPOSummary:
    """One GRPO row per input row (prompts, RLVR tasks or SFT rows); ``reward="auto"`` picks by fields."""
    rows = []
    summary = GRPOSummary(output=str(output_file))
    for line, row in iter_jsonl(input_file):
        if not isinstance(row, dict):
            raise DataError(input_file, line, "expected a JSON object")
        prompt = row.get("prompt")
        if prompt is None and isinstance(row.get("messages"), list):
            prompt = [m for m in row["messages"] if m.get("role") != "assistant"]
        if not prompt:
            raise DataError(
                input_file, line, "field 'prompt': is missing (or give 'messages')", field="prompt"
            )
        try:
            spec = _reward(row, reward, rubric)
        except ValueError as exc:
            raise DataError(input_file, line, str(exc)) from None
        meta = {"source_id": str(row.get("task_id") or row.get("id") or short_hash(prompt))}
        if row.get("domain"):
            meta["domain"] = row["domain"]
        columns = {k: v for k, v in spec.items() if k in ("answer", "tests", "entry_point")}
        rows.append({"prompt": prompt, "reward_spec": spec, **columns, "metadata": meta})
        summary.rewards[spec["type"]] = summary.rewards.get(spec["type"], 0) + 1
    summary.written = write_jsonl(output_file, rows)
    return summary
