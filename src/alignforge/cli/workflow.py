"""``alignforge workflow init | run | status | report``: parses options, calls alignforge.workflow."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["COMMANDS", "workflow"]


@click.group("workflow")
def workflow() -> None:
    """Seed 001's seven-stage DPO workflow, seed 002's RLVR run (or any stages) as one resumable, gated run.

    \b
    Example:
      alignforge workflow init dpo > dpo_workflow.yaml
      alignforge workflow init rlvr > rlvr_workflow.yaml
      alignforge workflow run dpo_workflow.yaml --run-dir runs/exp1
      alignforge workflow status runs/exp1 --json
      alignforge workflow report runs/exp1 --html dashboard.html
    """


@workflow.command("init")
@click.argument("kind", type=click.Choice(["dpo", "rlvr"]))
def init(kind: str) -> None:
    """Print a workflow file with every key commented.

    \b
    Example:
      alignforge workflow init dpo > dpo_workflow.yaml
      alignforge workflow init rlvr > rlvr_workflow.yaml
    """
    from alignforge.workflow.template import dpo_template, rlvr_template

    click.echo(dpo_template() if kind == "dpo" else rlvr_template(), nl=False)


@workflow.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--run-dir", required=True, type=click.Path(file_okay=False), help="Run directory (manifest, outputs)."
)
@click.option(
    "--check", "check_only", is_flag=True, help="Only check the file and list the steps; run nothing."
)
def run(file: str, run_dir: str, check_only: bool) -> None:
    """Run what is not done yet (a finished stage with unchanged inputs and parameters is reused).

    Exit 0 when every stage finished (and a DPO workflow decided to deploy), 1 when a gate stopped
    the run or the decision is not to deploy, 2 on bad input or a stage error.

    \b
    Example:
      alignforge workflow run examples/workflows/dpo_demo.yaml --run-dir runs/demo
    """
    from alignforge.workflow import load_workflow, run_workflow

    if check_only:
        wf = load_workflow(file, run_dir)
        for step in wf.steps:
            what = step.stage.name if step.stage is not None else f"skipped: {step.skip_reason}"
            click.echo(f"{step.name:<22} {what}")
        return
    manifest = run_workflow(file, run_dir, echo=lambda line: click.echo(line, err=True))
    decision = manifest.get("decision")
    if decision is not None:
        click.echo(_decision_text(decision))
    click.echo(f"manifest: {run_dir}/manifest.json")
    if decision is not None and not decision["deploy"]:
        raise SystemExit(1)


@workflow.command("status")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(run_dir: str, as_json: bool) -> None:
    """Stages, gates, rounds, the decision, and where the run stopped.

    \b
    Example:
      alignforge workflow status runs/exp1 --json
    """
    from alignforge.workflow import workflow_status

    st = workflow_status(run_dir)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    for line in _status_lines(st):
        click.echo(line)


def _status_lines(st: dict[str, Any]) -> list[str]:
    lines = [f"workflow {st['workflow']} ({st['file']})"]
    for s in st["stages"]:
        gates = s.get("gates") or []
        failed = [g["name"] for g in gates if not g["passed"]]
        gate_text = f"  gates {len(gates) - len(failed)}/{len(gates)} passed" if gates else ""
        if failed:
            gate_text += f" (failed: {', '.join(failed)})"
        took = f"  {s['duration_s']:.1f}s" if s["status"] == "finished" else ""
        lines.append(f"  {s['status']:<9} {s['name']:<22}{took}{gate_text}")
        if s.get("error"):
            lines.append(f"            {s['error']}")
    for r in st["rounds"]:
        lines.append(f"  round {r['round']}: {r['decision']}: {r['reason']}")
    d = st["decision"]
    if d is not None:
        lines.append(_decision_text(d))
    elif st["stopped_at"]:
        at = next(s for s in st["stages"] if s["name"] == st["stopped_at"])
        if at["status"] == "failed":
            lines.append(f"stopped at {at['name']}")
        else:
            lines.append(f"at {at['name']} (running now, or interrupted: `workflow run` resumes it there)")
    return lines


def _decision_text(d: dict[str, Any]) -> str:
    verdict = "deploy" if d["deploy"] else "do not deploy"
    reason = str(d.get("reason") or "")
    if reason.startswith(verdict):
        reason = reason[len(verdict) :].lstrip(": ")
    failed = f" (failed: {', '.join(d['failed'])})" if d.get("failed") else ""
    return f"decision: {verdict}{failed}" + (f": {reason}" if reason else "")


@workflow.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "--html", "html_out", required=True, type=click.Path(dir_okay=False), help="Dashboard file to write."
)
def report(run_dir: str, html_out: str) -> None:
    """Write the run's dashboard: one self-contained HTML page.

    \b
    Example:
      alignforge workflow report runs/exp1 --html dashboard.html
    """
    from pathlib import Path

    from alignforge.errors import AlignforgeError

    try:
        from alignforge.workflow.dashboard import render_dashboard
    except ImportError as exc:
        raise AlignforgeError(f"the workflow dashboard is not available in this build ({exc})") from None
    Path(html_out).write_text(render_dashboard(run_dir), encoding="utf-8")
    click.echo(f"dashboard: {html_out}")


COMMANDS = [workflow]
