"""Load, run and read back a workflow (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.workflow.run import Launcher, Manifest, Runner, Step, read_manifest
from alignforge.workflow.schema import load_doc

__all__ = ["Workflow", "load_workflow", "run_workflow", "workflow_status"]

KINDS = ("dpo", "rlvr", "stages")
FINAL_STEPS = (
    ("final.suites", "Evaluation suites on the best checkpoint"),
    ("final.winrate", "Win rate vs the baseline (SFT) on held-out prompts"),
    ("final.decision", "Deployment decision"),
)


@dataclass
class Workflow:
    kind: str
    file: Path
    run_dir: Path
    steps: list[Step]
    executor: str
    launcher: Launcher
    plan: Any = None  # the DPO plan (rounds and stage 7 run after the fixed steps), or the RLVR plan


def load_workflow(path: str | os.PathLike[str], run_dir: str | os.PathLike[str]) -> Workflow:
    """Read and check ``path`` and build its steps for ``run_dir``; nothing runs and nothing is written."""
    doc = load_doc(path)
    kind = doc.typed(("workflow",), str)
    if kind not in KINDS:
        raise doc.error(("workflow",), f"{kind!r}: one of {', '.join(KINDS)}")
    rd = Path(run_dir).resolve()
    if kind == "stages":
        from alignforge.workflow.generic import build_stages_workflow

        steps, executor, launcher = build_stages_workflow(doc, rd)
        return Workflow(kind, doc.path, rd, steps, executor, launcher)
    if kind == "rlvr":
        from alignforge.workflow.rlvr import build_rlvr

        rlvr = build_rlvr(doc, rd)
        return Workflow(kind, doc.path, rd, rlvr.steps, rlvr.executor, rlvr.launcher, rlvr)
    from alignforge.workflow.dpo import build_dpo

    plan = build_dpo(doc, rd)
    return Workflow(kind, doc.path, rd, plan.steps, plan.executor, plan.launcher, plan)


def run_workflow(
    path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str],
    *,
    echo: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run what is not done yet; returns the manifest. Raises GateStop (a stop gate failed) or
    StepFailed (a stage raised), both recorded in the manifest first."""
    wf = load_workflow(path, run_dir)
    manifest = Manifest(wf.run_dir, wf.kind, str(wf.file))
    runner = Runner(manifest, executor=wf.executor, launcher=wf.launcher, echo=echo)
    runner.plan(wf.steps)
    if wf.kind == "rlvr":
        from alignforge.workflow.rlvr import run_rlvr

        run_rlvr(wf.plan, runner)
    elif wf.plan is not None:
        from alignforge.workflow.dpo import run_dpo

        for name, title in FINAL_STEPS:
            manifest.entry(name, title)
        manifest.write()
        run_dpo(wf.plan, runner)
    else:
        for step in wf.steps:
            runner.run(step)
    data: dict[str, Any] = manifest.data
    return data


def workflow_status(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"workflow", "file", "stages", "rounds", "evaluation", "pass_at_k", "decision", "stopped_at"}``
    from the manifest (``pass_at_k``: the RLVR workflow's table, else None)."""
    m = read_manifest(run_dir)
    stopped = next((s["name"] for s in m["stages"] if s["status"] in ("failed", "running")), None)
    return {
        "workflow": m.get("workflow"),
        "file": m.get("file"),
        "updated": m.get("updated"),
        "stages": m["stages"],
        "rounds": m.get("rounds") or [],
        "evaluation": m.get("evaluation"),
        "pass_at_k": m.get("pass_at_k"),
        "decision": m.get("decision"),
        "stopped_at": stopped,
    }
