"""What the five generators share as stages: outputs, parameters, the cache path, reuse, running.

Each generator is a :class:`~alignforge.stages.Stage` dataclass of its parameters; the public
function (``generate_dpo_pairs`` ...) builds it and runs it with :func:`run_generator`. A generator's
fingerprint leaves out what does not decide the rows (progress bar, cache location, concurrency,
credentials): a model given as an object stands in by its name, a backend's options by the ones
that choose the model or its price.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, cast

from alignforge.stages import Stage, StageRecord, StageSummary, run_stage, side_paths

__all__ = ["GeneratorStage", "run_generator", "cache_for", "RESULT_OPTIONS"]

# Backend options that change which answers come back or what they cost; the rest (api_key,
# concurrency, timeouts, retries, transport, threads) stay out of the fingerprint and the record.
RESULT_OPTIONS = frozenset({"base_url", "price", "dtype", "max_tokens_field", "organization"})


def _option_params(options: dict[str, Any] | None) -> dict[str, Any] | None:
    if not options:
        return None
    return {k: v for k, v in options.items() if k in RESULT_OPTIONS}


def _model_param(model: Any) -> Any:
    if model is None or isinstance(model, str):
        return model
    return getattr(model, "name", type(model).__name__)


def cache_for(output: str | os.PathLike[str], cache: str | os.PathLike[str] | None) -> Any:
    """``"auto"``: ``out.cache.sqlite`` beside ``out.jsonl``; None: no cache; else the path given."""
    return f"{Path(output).with_suffix('')}.cache.sqlite" if cache == "auto" else cache


class GeneratorStage(Stage):
    """Base of the generator stages (each a dataclass with ``output_file`` and its parameters)."""

    output_file: str | os.PathLike[str]
    # Fields that are not parameters: files (inputs enter by content), and how the run is shown or cached.
    NOT_PARAMS: ClassVar[frozenset[str]] = frozenset(
        {"input_file", "output_file", "prompts", "taxonomy", "progress", "dry_run", "cache"}
    )

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return dict(side_paths(self.output_file).as_outputs())

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(cast(Any, self)):
            if f.name in self.NOT_PARAMS:
                continue
            value = getattr(self, f.name)
            if f.name.endswith("options"):
                value = _option_params(value)
            elif f.name.endswith("model"):
                value = _model_param(value)
            out[f.name] = value
        return out

    def summary(self, **figures: Any) -> StageSummary:
        """An empty summary of this stage naming its outputs, with the stage's own ``figures``."""
        outputs = {k: os.fspath(v) for k, v in self.outputs().items()}
        return StageSummary(self.name, outputs=outputs, figures=dict(figures))

    def finished_record(self, fp: str | None = None) -> StageRecord | None:
        """A run is reused only when nothing is left to retry: no failure, not stopped by a budget."""
        rec = super().finished_record(fp)
        if rec is None:
            return None
        s = rec.summary
        return rec if not s.get("failed") and (s.get("figures") or {}).get("complete", True) else None


def run_generator(stage: GeneratorStage, *, dry_run: bool) -> StageSummary:
    """Run through the contract: a rerun resumes row by row (the request cache answers what was asked),
    so it is always executed, never reused whole; a dry run records and writes nothing."""
    return run_stage(stage, reuse=False, record=not dry_run)
