"""Workflows: stages composed by a YAML file, run resumably into a run directory with a manifest.

- :func:`load_workflow` reads and checks a workflow file (every error names the key and its line)
  and builds its steps before anything runs; :func:`run_workflow` runs what is not done yet;
  :func:`workflow_status` reads a run directory's manifest.
- ``workflow: dpo`` is seed 001's seven-stage DPO workflow (:mod:`alignforge.workflow.dpo`), with its
  commented template in :func:`dpo_template`; ``workflow: rlvr`` is seed 002's RLVR run, RAFT cycles
  and pass@k per cycle (:mod:`alignforge.workflow.rlvr`, template :func:`rlvr_template`);
  ``workflow: stages`` runs any registered stages in order (:mod:`alignforge.workflow.generic`).
- The runner and the manifest: :mod:`alignforge.workflow.run`. docs/workflow.md has the file keys and
  the manifest's shape.
"""

from __future__ import annotations

from alignforge.workflow.api import Workflow, load_workflow, run_workflow, workflow_status
from alignforge.workflow.run import (
    GateStop,
    Launcher,
    Manifest,
    Runner,
    Step,
    StepFailed,
    gate,
    launch_command,
)
from alignforge.workflow.template import dpo_template, rlvr_template

__all__ = [
    "Workflow",
    "load_workflow",
    "run_workflow",
    "workflow_status",
    "dpo_template",
    "rlvr_template",
    "GateStop",
    "StepFailed",
    "Launcher",
    "Manifest",
    "Runner",
    "Step",
    "gate",
    "launch_command",
]
