"""The stage contract every stage runs through (generate, judge, verify, dedup, decontaminate, check,
split, prepare, train, evaluate), and the machinery they share.

- :class:`Stage` declares inputs, outputs and parameters and has one ``execute()``;
  :func:`run_stage` runs it with a fingerprint (inputs' content hashes + parameters) recorded beside
  the outputs in ``<out>.stage.json``, so a finished stage is recognised and reused and a killed one
  resumes at its row. An output that is the same file as an input is refused before the stage runs
  (:func:`refuse_outputs_on_inputs`).
- :class:`StageSummary` is the one summary: written / dropped / failed, drop reasons counted, cost,
  duration, output paths.
- One side-file scheme (``out.dropped.jsonl``, ``out.failures.jsonl``: :func:`side_paths`) and one
  drop-reason field (``metadata.drop_reasons``, a list of ``{reason, detail}``: :func:`add_drop_reason`).
- :class:`Tracker` and :func:`progress_bar` count a running stage; :class:`DryRun` estimates one.
- The registry (:func:`register_stage`, :func:`get_stage`) is what workflows look stages up in.

How to add a stage: docs/stages.md. Importing this package is light.
"""

from __future__ import annotations

from alignforge.stages import _builtin  # noqa: F401  (registers the built-in stages, lazily)
from alignforge.stages.contract import (
    Stage,
    get_stage,
    refuse_outputs_on_inputs,
    register_stage,
    run_stage,
    same_file,
    stage_names,
)
from alignforge.stages.dryrun import DryRun, cost_text, estimate_lines, stand_in
from alignforge.stages.progress import ModelUsage, Tracker, progress_bar
from alignforge.stages.record import StageRecord, canonical, file_sha256, fingerprint, record_path, short_hash
from alignforge.stages.sidefiles import (
    SidePaths,
    add_drop_reason,
    compact_failures,
    done_ids,
    drop_reasons_of,
    first_reason,
    side_paths,
)
from alignforge.stages.summary import StageSummary, reason_text, usage_lines

__all__ = [
    "Stage",
    "StageSummary",
    "StageRecord",
    "run_stage",
    "refuse_outputs_on_inputs",
    "same_file",
    "register_stage",
    "get_stage",
    "stage_names",
    "DryRun",
    "cost_text",
    "estimate_lines",
    "stand_in",
    "Tracker",
    "ModelUsage",
    "progress_bar",
    "SidePaths",
    "side_paths",
    "done_ids",
    "compact_failures",
    "add_drop_reason",
    "drop_reasons_of",
    "first_reason",
    "usage_lines",
    "reason_text",
    "canonical",
    "file_sha256",
    "fingerprint",
    "record_path",
    "short_hash",
]
