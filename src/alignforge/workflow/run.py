"""The workflow runner: steps run through the stage contract, a manifest written after every change.

A :class:`Step` is one stage instance with a name and a title in the run (``pairs.check``); the
:class:`Runner` runs it with :func:`~alignforge.stages.run_stage`, so a finished stage whose inputs
and parameters are unchanged is reused (its recorded start and finish times kept), a changed one
runs again, and a killed one resumes at its row. After the stage returns, its gates are read from
its summary (format: :func:`gate`) and a failed ``stop`` gate ends the run with
:class:`GateStop`, naming the gate and the file of its failing rows.

``RUN_DIR/manifest.json`` (:class:`Manifest`) is rewritten atomically (temp file + rename) after
every state change: the shape is in docs/workflow.md.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import AlignforgeError, ConfigError, GateFailure
from alignforge.stages import Stage, StageRecord, StageSummary, run_stage

__all__ = [
    "GateStop",
    "Launcher",
    "Manifest",
    "Runner",
    "Step",
    "StepFailed",
    "gate",
    "gates_of",
    "launch_command",
]

STATUSES = ("pending", "running", "finished", "failed", "skipped")


class GateStop(GateFailure):
    """A ``stop`` gate failed: the run ends here (exit 1); the message names the gate and its rows' file."""


class StepFailed(AlignforgeError):
    """A stage raised: the manifest records it ``failed`` with the error; exit code of the cause."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def gate(
    name: str,
    figure: str,
    value: float | None,
    op: str,
    bound: float,
    *,
    unit: str = "",
    on_fail: str = "stop",
    passed: bool | None = None,
) -> dict[str, Any]:
    """One gate dict: ``{name, figure, value, op, bound, unit, passed, on_fail}``; unmeasured fails."""
    if passed is None:
        passed = value is not None and not (isinstance(value, float) and math.isnan(value))
        if passed:
            assert value is not None
            passed = {
                ">=": value >= bound,
                "<=": value <= bound,
                ">": value > bound,
                "<": value < bound,
                "==": value == bound,
            }[op]
    return {
        "name": name,
        "figure": figure,
        "value": None if value is None else float(value),
        "op": op,
        "bound": float(bound),
        "unit": unit,
        "passed": bool(passed),
        "on_fail": on_fail,
    }


def gates_of(summary: StageSummary) -> list[dict[str, Any]]:
    """The gates a stage's summary carries, in the one gate format.

    Read from ``figures["gates"]`` (already in the format, or a training stage's
    ``{metric, kind, threshold, ...}``) and from check's ``figures["result"]["gates"]``.
    """
    out: list[dict[str, Any]] = []
    figures = summary.figures
    for g in figures.get("gates") or []:
        if not isinstance(g, dict):
            continue
        if "op" in g and "figure" in g:
            out.append(dict(g))
        elif "metric" in g and "kind" in g:
            out.append(
                gate(
                    g["metric"],
                    g["metric"],
                    g.get("value"),
                    ">=" if g["kind"] == "min" else "<=",
                    g["threshold"],
                    unit=g.get("unit", ""),
                    on_fail="flag" if g.get("flagged") else "stop",
                    passed=bool(g.get("passed")),
                )
            )
    result = figures.get("result")
    if isinstance(result, dict):
        filtered = "dropped" in summary.outputs  # keep-passing: failing rows were dropped, with reasons
        gates = [g for g in result.get("gates") or [] if isinstance(g, dict)]
        dropped_by = {g["name"] for g in gates if g.get("level") == "row"} if filtered else set()
        for g in gates:
            out.append(_check_gate(g, filtered, dropped_by))
    return out


# File figures that count rows a row gate drops under keep-passing: the kept file has none of them.
_COUNTED_BY_ROW_GATE = {
    "identical_pairs": "not_identical",
    "duplicate_pairs": "unique",
    "conflicting_prompts": "no_conflict",
}


def _check_gate(g: dict[str, Any], filtered: bool, dropped_by: set[str] | None = None) -> dict[str, Any]:
    """check's gate result in the gate format; a row gate counts its failing rows (bound 0). Under
    keep-passing a row gate only flags: its failing rows are dropped (and listed), not trained on;
    so does a file figure that counts exactly the rows a row gate dropped (identical, duplicate and
    conflicting pairs): the kept file holds none of them."""
    if g.get("level") == "row":
        rows = g.get("rows_failing") or 0
        out = gate(
            g["name"],
            f"{g['name']}.rows_failing",
            rows,
            "<=",
            0,
            unit="rows failing" + (f" {g['bound']}" if g.get("bound") and g["bound"] != "every row" else ""),
            on_fail="flag" if filtered or g.get("status") == "flag" else "stop",
            passed=g.get("status") in ("pass", "flag"),
        )
        out["level"] = "row"
        return out
    bound_text = str(g.get("bound", "")).split(" and ")[0].strip()
    op, _, num = bound_text.partition(" ")
    try:
        bound = float(num)
    except ValueError:
        op, bound = "==", 1.0  # a boolean row gate (not_identical: true): every row must hold
    value = g.get("value")
    if isinstance(value, bool):
        value = float(value)
    status = g.get("status")
    out = gate(
        g["name"],
        g["name"],
        value if isinstance(value, int | float) else None,
        op if op in (">=", "<=", "==", ">", "<") else "==",
        bound,
        unit=g.get("unit", ""),
        on_fail="flag"
        if status == "flag" or _COUNTED_BY_ROW_GATE.get(g["name"]) in (dropped_by or set())
        else "stop",
        passed=status in ("pass", "flag"),
    )
    return out


@dataclass
class Launcher:
    """How training steps run: in this process (``none``) or under ``accelerate launch``."""

    type: str = "none"
    num_processes: int = 1
    extra_args: list[str] = field(default_factory=list)


def launch_command(launcher: Launcher, recipe: str, config_file: Path) -> list[str]:
    """``accelerate launch --num_processes N [args] -m alignforge train RECIPE --config FILE``."""
    accelerate = Path(sys.executable).with_name("accelerate")
    head = [str(accelerate)] if accelerate.exists() else [sys.executable, "-m", "accelerate.commands.launch"]
    if accelerate.exists():
        head.append("launch")
    return [
        *head,
        "--num_processes",
        str(launcher.num_processes),
        *launcher.extra_args,
        "-m",
        "alignforge",
        "train",
        recipe,
        "--config",
        str(config_file),
    ]


@dataclass
class Step:
    """One stage in a run. ``stage`` None: the step is skipped (``skip_reason`` says why).

    ``kind``: ``data`` (runs on Ray under ``executor: ray``), ``train`` (under the launcher) or
    ``eval``. ``gates``: reads the gate dicts from the summary (default :func:`gates_of`).
    ``failing_rows``: the folder of the rows failing each row gate, named when a gate stops the run.
    ``train_config``: the raw config written for ``accelerate launch``.
    """

    name: str
    title: str
    stage: Stage | None
    kind: str = "data"
    gates: Callable[[StageSummary], list[dict[str, Any]]] = gates_of
    skip_reason: str = ""
    report_role: str | None = None
    failing_rows: Path | None = None
    train_config: dict[str, Any] | None = None
    stops: bool = True  # False: the step's gates are its result (a decision), recorded, never stopping


class Manifest:
    """``RUN_DIR/manifest.json``: the run's stages, rounds, evaluation and decision."""

    def __init__(self, run_dir: Path, workflow: str, file: str) -> None:
        self.run_dir = run_dir
        self.path = run_dir / "manifest.json"
        old = read_manifest(run_dir) if self.path.exists() else None
        t = time.time()
        self.data: dict[str, Any] = old or {
            "workflow": workflow,
            "file": file,
            "created": t,
            "updated": t,
            "stages": [],
            "rounds": [],
            "evaluation": None,
            "decision": None,
        }
        self.data["workflow"], self.data["file"] = workflow, file

    def entry(self, name: str, title: str = "", *, before: str | None = None) -> dict[str, Any]:
        """The stage's entry, created pending when new (placed before the stage ``before`` names)."""
        for e in self.data["stages"]:
            if e["name"] == name:
                if title:
                    e["title"] = title
                return e
        e = {
            "name": name,
            "title": title or name,
            "status": "pending",
            "fingerprint": "",
            "started": None,
            "finished": None,
            "duration_s": 0.0,
            "cost_usd": 0.0,
            "outputs": {},
            "gates": [],
            "figures": {},
            "report": None,
            "error": None,
        }
        names = [x["name"] for x in self.data["stages"]]
        at = names.index(before) if before in names else len(names)
        self.data["stages"].insert(at, e)
        return e

    def order(self, names: list[str]) -> None:
        """Put the named stages first, in this order (the plan), keeping any others after them."""
        rank = {n: i for i, n in enumerate(names)}
        self.data["stages"].sort(key=lambda e: rank.get(e["name"], len(rank)))

    def rel(self, path: str | os.PathLike[str]) -> str:
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.run_dir.resolve()))
        except ValueError:
            return str(p)

    def write(self) -> None:
        self.data["updated"] = time.time()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".manifest.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.path)


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(run_dir) / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no manifest (not a workflow run directory)") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    return data


class Runner:
    """Runs steps in order, recording each in the manifest; see the module docstring."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        executor: str = "local",
        launcher: Launcher | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        if executor not in ("local", "ray"):
            raise ConfigError(f"executor {executor!r}: one of local, ray")
        self.manifest = manifest
        self.executor = executor
        self.launcher = launcher or Launcher()
        self.echo = echo or (lambda line: None)
        self.ran: list[str] = []  # steps that executed (not reused) in this run
        self.insert_before: str | None = None  # where steps not in the plan (rounds) go in the manifest
        self.summaries: dict[str, StageSummary] = {}

    def plan(self, steps: list[Step]) -> None:
        """Record every planned step (pending unless known) before anything runs."""
        for s in steps:
            self.manifest.entry(s.name, s.title)
        self.manifest.order([s.name for s in steps])
        self.manifest.write()

    def skip(self, step: Step) -> None:
        e = self.manifest.entry(step.name, step.title, before=self.insert_before)
        e.update(status="skipped", error=None, figures={"reason": step.skip_reason})
        self.manifest.write()
        self.echo(f"[skip] {step.name}: {step.skip_reason}")

    def run(self, step: Step) -> StageSummary | None:
        """Run one step; raise :class:`GateStop` on a failed stop gate, :class:`StepFailed` on an error."""
        if step.stage is None:
            self.skip(step)
            return None
        stage = step.stage
        e = self.manifest.entry(step.name, step.title, before=self.insert_before)
        before = StageRecord.read(stage.record_path())
        e.update(status="running", error=None)
        if e.get("started") is None or before is None:
            e["started"] = time.time()
        self.manifest.write()
        try:
            summary = self._execute(step)
        except AlignforgeError as exc:
            e.update(status="failed", error=str(exc))
            self.manifest.write()
            raise StepFailed(f"{step.name}: {exc}", getattr(exc, "exit_code", 2)) from exc
        except Exception as exc:
            e.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            self.manifest.write()
            raise
        if not summary.reused:
            self.ran.append(step.name)
        self.summaries[step.name] = summary
        rec = StageRecord.read(stage.record_path())
        gates = step.gates(summary)
        stops = [g for g in gates if not g["passed"] and g["on_fail"] == "stop"] if step.stops else []
        e.update(
            status="failed" if stops else "finished",
            fingerprint=summary.fingerprint,
            started=rec.started if rec is not None else e["started"],
            finished=rec.finished if rec is not None and rec.finished else time.time(),
            duration_s=float(summary.duration_s),
            cost_usd=float(summary.cost_usd),
            outputs={role: self.manifest.rel(p) for role, p in stage.outputs().items()},
            gates=gates,
            figures=_small(summary.figures),
            report=self._report(step, stage),
        )
        if stops:
            e["error"] = self._stop_text(step, stops)
        self.manifest.write()
        verb = "reused" if summary.reused else "finished"
        self.echo(f"[{verb}] {step.name} ({summary.duration_s:.1f}s)")
        if stops:
            raise GateStop(e["error"])
        return summary

    def _report(self, step: Step, stage: Stage) -> str | None:
        if step.report_role is None:
            return None
        p = stage.outputs().get(step.report_role)
        return self.manifest.rel(p) if p is not None and Path(p).exists() else None

    def _stop_text(self, step: Step, stops: list[dict[str, Any]]) -> str:
        assert step.stage is not None
        folder = step.failing_rows or step.stage.outputs().get("failing_rows")
        failing = Path(folder) if folder is not None else None
        parts = []
        for g in stops:
            shown = "not measured" if g["value"] is None else f"{g['value']:.4g}"
            text = f"gate {g['name']} failed: {shown} (needs {g['op']} {g['bound']:g}"
            text += f" {g['unit']})" if g["unit"] else ")"
            if failing is not None and g.get("level") == "row":
                text += f"; failing rows: {failing / (g['name'] + '.jsonl')}"
            parts.append(text)
        rowwise = any(g.get("level") == "row" for g in stops)
        where = f"; failing rows under {failing}" if failing is not None and not rowwise else ""
        return f"{step.name}: " + "; ".join(parts) + where

    def _execute(self, step: Step) -> StageSummary:
        assert step.stage is not None
        if step.train_config is not None and self.launcher.type == "accelerate":
            return self._launch(step)
        if step.kind == "data" and self.executor == "ray":
            return _on_ray(step.stage)
        # The run directory is the workflow's own: a step whose inputs or parameters changed starts
        # over rather than refusing the rows its earlier run left.
        return run_stage(step.stage, stale="restart")

    def _launch(self, step: Step) -> StageSummary:
        """Run a training step under ``accelerate launch`` and read its summary from its stage record."""
        import yaml

        stage = step.stage
        assert stage is not None
        done = stage.finished_record()
        if done is not None:
            s = StageSummary.from_dict(done.summary)
            s.reused, s.fingerprint = True, done.fingerprint
            return s
        cfg_file = self.manifest.run_dir / "launch" / f"{step.name}.yaml"
        cfg_file.parent.mkdir(parents=True, exist_ok=True)
        cfg_file.write_text(yaml.safe_dump(step.train_config, sort_keys=False), encoding="utf-8")
        cmd = launch_command(self.launcher, getattr(stage, "recipe", ""), cfg_file)
        self.echo("[launch] " + " ".join(cmd))
        proc = subprocess.run(cmd, check=False)
        rec = StageRecord.read(stage.record_path())
        if proc.returncode != 0 or rec is None or rec.status != "finished":
            raise StepFailed(
                f"{step.name}: `{' '.join(cmd)}` exited {proc.returncode} without a finished stage record",
                proc.returncode or 2,
            )
        s = StageSummary.from_dict(rec.summary)
        s.fingerprint = rec.fingerprint
        return s


def _small(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures worth keeping in the manifest: numbers, short strings and flat metric dicts."""
    out: dict[str, Any] = {}
    for k, v in figures.items():
        if k in ("gates", "result"):
            continue
        if (
            v is None
            or isinstance(v, bool | int | float)
            or (isinstance(v, str) and len(v) < 300)
            or isinstance(v, dict)
            and all(isinstance(x, bool | int | float | str | None) for x in v.values())
            or isinstance(v, list)
            and len(v) <= 20
            and all(isinstance(x, str | int | float) for x in v)
        ):
            out[k] = v
    return out


def _run_remote(stage: Stage) -> dict[str, Any]:
    s = run_stage(stage)
    return {**s.to_dict(), "duration_s": s.duration_s}


def _on_ray(stage: Stage) -> StageSummary:
    """Run a data stage as a Ray task (a worker process of the local or connected cluster)."""
    from alignforge._deps import require

    ray = require("ray", extra="ray")
    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    data = ray.get(ray.remote(_run_remote).options(num_cpus=1).remote(stage))
    s = StageSummary.from_dict(data)
    s.figures.setdefault("executor", "ray")
    return s
