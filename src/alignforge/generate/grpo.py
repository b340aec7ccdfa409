"""GRPO prompts: prompt-only rows that carry the spec of the reward that will score them online.

Each row has ``prompt``, the spec as ``reward_spec``, and the columns TRL's ``GRPOTrainer`` hands
to reward functions as keyword lists (see :mod:`alignforge.train.rewards`):

* ``{"type": "math", "answer": ...}`` -> column ``answer`` (exact answer, math verifier);
* ``{"type": "tests", "tests": [...], "entry_point": ...}`` -> columns ``tests`` and ``entry_point``
  (code run in the sandbox); no top-level ``task_id``, so ``check`` still reads the file as GRPO;
* ``{"type": "judge", "rubric": ..., "scale": "0-10"}`` (LLM rubric, for open-ended prompts).

``metadata`` keeps ``source_id`` and ``domain``. No LLM is called here. Every input row is read and
checked before the first row is written; a rerun keeps the rows already written that are what this
run writes and appends the rest, so a killed run resumes at its row.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.generate._stage import GeneratorStage, run_generator
from alignforge.io import DataError, JsonlWriter, iter_jsonl
from alignforge.judge import RUBRIC
from alignforge.stages import StageSummary, short_hash, side_paths

__all__ = ["generate_grpo_data", "GRPOStage"]


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


@dataclass
class GRPOStage(GeneratorStage):
    """``generate grpo`` as a stage: the parameters of :func:`generate_grpo_data`, one ``execute()``."""

    name = "generate.grpo"

    input_file: str | os.PathLike[str]
    output_file: str | os.PathLike[str]
    reward: str = "auto"
    rubric: str = RUBRIC

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {"data": self.input_file}

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": side_paths(self.output_file).out}  # every input row becomes a row: no side files

    def execute(self) -> StageSummary:
        summary = self.summary(rewards={})
        total = 0
        for r in self._rows():  # every input row is checked before the first row is written
            kind = r["reward_spec"]["type"]
            summary.rewards[kind] = summary.rewards.get(kind, 0) + 1
            total += 1
        out = side_paths(self.output_file).out
        summary.resumed = _keep_matching_start(out, self._rows())
        with JsonlWriter(out) as w:
            summary.written = w.write_many(itertools.islice(self._rows(), summary.resumed, None))
        mix = ", ".join(f"{t}={v}" for t, v in sorted(summary.rewards.items()))
        summary.notes = [f"   {total} GRPO prompts (reward types: {mix})"]
        return summary

    def _rows(self) -> Iterator[dict[str, Any]]:
        """One GRPO row per input row, streamed; a bad input row is an error naming its line."""
        for line, row in iter_jsonl(self.input_file):
            if not isinstance(row, dict):
                raise DataError(self.input_file, line, "expected a JSON object")
            prompt = row.get("prompt")
            if prompt is None and isinstance(row.get("messages"), list):
                prompt = [m for m in row["messages"] if m.get("role") != "assistant"]
            if not prompt:
                raise DataError(
                    self.input_file, line, "field 'prompt': is missing (or give 'messages')", field="prompt"
                )
            try:
                spec = _reward(row, self.reward, self.rubric)
            except ValueError as exc:
                raise DataError(self.input_file, line, str(exc)) from None
            meta = {"source_id": str(row.get("task_id") or row.get("id") or short_hash(prompt))}
            if row.get("domain"):
                meta["domain"] = row["domain"]
            columns = {k: v for k, v in spec.items() if k in ("answer", "tests", "entry_point")}
            yield {"prompt": prompt, "reward_spec": spec, **columns, "metadata": meta}


def _keep_matching_start(out: Path, rows: Iterator[dict[str, Any]]) -> int:
    """Keep the rows of ``out`` that are the first of ``rows``, cut the rest (a torn last line, or rows
    a changed input no longer gives); how many were kept."""
    if not out.exists():
        return 0
    kept, offset = 0, 0
    with open(out, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                same = json.loads(line) == next(rows, None)
            except ValueError:
                same = False
            if not same:
                break
            kept, offset = kept + 1, offset + len(line)
    if offset < out.stat().st_size:
        os.truncate(out, offset)
    return kept


def generate_grpo_data(
    input_file: str | os.PathLike[str],
    output_file: str | os.PathLike[str],
    *,
    reward: str = "auto",
    rubric: str = RUBRIC,
) -> StageSummary:
    """One GRPO row per input row (prompts, RLVR tasks or SFT rows); ``reward="auto"`` picks by fields.

    Returns the stage's :class:`~alignforge.stages.StageSummary` (figure ``rewards``: rows per reward type).
    """
    return run_generator(GRPOStage(**locals()), dry_run=False)
