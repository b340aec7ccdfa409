"""``workflow: stages``: any registered stages in order, each step's parameters in the file.

```yaml
workflow: stages
executor: local                       # or ray: data steps run as Ray tasks
stages:
  - name: pairs                       # the step's name in the run (unique)
    stage: generate.dpo               # a registered stage (alignforge.stages.stage_names())
    params: {input_file: prompts.jsonl, output_file: run:pairs.jsonl, model: local}
  - name: checked
    stage: check
    params: {data: "@pairs.out", keep_passing: run:checked.jsonl}
    gates: {passed: {min: 1}}         # gates on the summary's figures (min / max / equals, on_fail)
```

A value ``@STEP.ROLE`` is an earlier step's output (its ``outputs()[ROLE]``); ``run:PATH`` is a path
inside the run directory; other relative paths are relative to the workflow file. Every step is
built and checked before anything runs: an unknown key or parameter, a missing input file or a
reference to an output no earlier step makes is one error naming the key and its line.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from alignforge.stages import Stage, StageSummary, get_stage
from alignforge.workflow.run import Launcher, Step, gate, gates_of
from alignforge.workflow.schema import Doc, Key

__all__ = ["build_stages_workflow", "check_step_inputs", "figure_gates", "missing_inputs"]

_TOP = {"workflow", "executor", "launcher", "stages", "description"}
_STEP = {"name", "stage", "title", "kind", "params", "gates"}
_GATE = {"min", "max", "equals", "unit", "on_fail"}
_FILE_SUFFIXES = {".jsonl", ".json", ".yaml", ".yml", ".gz", ".parquet", ".txt", ".csv", ".html"}


def build_stages_workflow(doc: Doc, run_dir: Path) -> tuple[list[Step], str, Launcher]:
    doc.check_keys((), doc.data, _TOP)
    executor = doc.typed(("executor",), str, "local")
    if executor not in ("local", "ray"):
        raise doc.error(("executor",), f"{executor!r} is not one of local, ray")
    launcher = launcher_of(doc, ("launcher",))
    items = doc.typed(("stages",), list)
    if not items:
        raise doc.error(("stages",), "is required: a list of steps")
    steps: list[Step] = []
    made: dict[str, dict[str, str]] = {}  # step -> role -> path
    for i, item in enumerate(items):
        where: Key = ("stages", i)
        if not isinstance(item, dict):
            raise doc.error(where, "expected a mapping with name, stage and params")
        doc.check_keys(where, item, _STEP)
        name = doc.typed((*where, "name"), str)
        if not name:
            raise doc.error((*where, "name"), "is required")
        if name in made:
            raise doc.error((*where, "name"), f"step {name!r} is named twice")
        stage_name = doc.typed((*where, "stage"), str)
        if not stage_name:
            raise doc.error((*where, "stage"), "is required")
        try:
            cls = get_stage(stage_name)
        except Exception as exc:
            raise doc.error((*where, "stage"), str(exc)) from None
        params = doc.section((*where, "params"))
        known = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(params)
        values = {}
        for key, value in params.items():
            if key not in known:
                raise doc.error(
                    (*where, "params", key),
                    f"{stage_name} has no parameter {key!r} ({', '.join(sorted(known))})",
                )
            values[key] = _value(doc, (*where, "params", key), value, made, run_dir)
        try:
            stage: Stage = cls(**values)
            outputs = {role: os.fspath(p) for role, p in stage.outputs().items()}
        except Exception as exc:
            raise doc.error((*where, "params"), f"{stage_name}: {exc}") from None
        produced = {p for roles in made.values() for p in roles.values()}
        for role, path in missing_inputs(stage, produced):
            named = next((k for k, v in values.items() if _same(v, path)), None)
            at: Key = (*where, "params", named) if named else (*where, "params")
            raise doc.error(at, f"input {role} {path} does not exist and no earlier step makes it")
        kind = doc.typed((*where, "kind"), str) or ("train" if stage_name.startswith("train.") else "data")
        extra = figure_gates(doc, (*where, "gates"))
        steps.append(
            Step(
                name,
                doc.typed((*where, "title"), str) or f"{stage_name}",
                stage,
                kind=kind,
                gates=_with(extra),
                report_role="html" if "html" in outputs else None,
            )
        )
        made[name] = outputs
    return steps, executor, launcher


def launcher_of(doc: Doc, where: Key) -> Launcher:
    body = doc.section(where, {"type", "num_processes", "extra_args"})
    kind = doc.typed((*where, "type"), str, "none")
    if kind not in ("none", "accelerate"):
        raise doc.error((*where, "type"), f"{kind!r} is not one of none, accelerate")
    n = doc.typed((*where, "num_processes"), int, 1)
    if n < 1:
        raise doc.error((*where, "num_processes"), "must be >= 1")
    extra = [str(a) for a in body.get("extra_args") or []]
    return Launcher(kind, n, extra)


def missing_inputs(stage: Stage, produced: set[str]) -> list[tuple[str, str]]:
    """Input files of ``stage`` that neither exist nor are made by an earlier step."""
    out = []
    for role, path in stage.inputs().items():
        if path is None:
            continue
        p = os.fspath(path)
        if not Path(p).exists() and p not in produced:
            out.append((role, p))
    return out


def figure_gates(doc: Doc, where: Key) -> list[tuple[str, dict[str, Any]]]:
    """``{figure: {min, max, equals, unit, on_fail}}`` from the file, checked."""
    body = doc.section(where)
    out = []
    for figure, spec in body.items():
        at = (*where, figure)
        if not isinstance(spec, dict) or not spec:
            raise doc.error(at, "expected {min: x} / {max: x} / {equals: x} (with unit, on_fail)")
        doc.check_keys(at, spec, _GATE)
        for k in ("min", "max", "equals"):
            if k in spec and (isinstance(spec[k], bool) or not isinstance(spec[k], int | float)):
                raise doc.error((*at, k), f"expected a number, got {spec[k]!r}")
        if spec.get("on_fail", "stop") not in ("stop", "flag"):
            raise doc.error((*at, "on_fail"), "one of stop, flag")
        out.append((figure, spec))
    return out


def _with(extra: list[tuple[str, dict[str, Any]]]) -> Any:
    def read(summary: StageSummary) -> list[dict[str, Any]]:
        found = gates_of(summary)
        for figure, spec in extra:
            value = summary.figures.get(figure)
            if isinstance(value, bool):
                value = float(value)
            value = value if isinstance(value, int | float) else None
            for key, op in (("min", ">="), ("max", "<="), ("equals", "==")):
                if key in spec:
                    found.append(
                        gate(
                            f"{figure}_{key}" if len(spec.keys() & {"min", "max", "equals"}) > 1 else figure,
                            figure,
                            value,
                            op,
                            spec[key],
                            unit=str(spec.get("unit", "")),
                            on_fail=spec.get("on_fail", "stop"),
                        )
                    )
        return found

    return read


def _value(doc: Doc, at: Key, value: Any, made: dict[str, dict[str, str]], run_dir: Path) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        step, _, role = value[1:].partition(".")
        role = role or "out"
        if step not in made:
            earlier = ", ".join(made) or "none"
            raise doc.error(at, f"{value}: no earlier step is named {step!r} (earlier steps: {earlier})")
        if role not in made[step]:
            raise doc.error(
                at, f"{value}: step {step!r} makes no output {role!r} (it makes {', '.join(made[step])})"
            )
        return made[step][role]
    if isinstance(value, str) and value.startswith("run:"):
        return str(run_dir / value[4:])
    if isinstance(value, str) and Path(value).suffix in _FILE_SUFFIXES and ":" not in value:
        return str(doc.resolve(value))
    if isinstance(value, dict):
        return {k: _value(doc, (*at, k), v, made, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(doc, (*at, i), v, made, run_dir) for i, v in enumerate(value)]
    return value


def _same(value: Any, path: str) -> bool:
    return (
        isinstance(value, str | os.PathLike)
        and os.fspath(value) == path
        or (
            isinstance(value, str) and Path(value).name == Path(path).name and value.endswith(Path(path).name)
        )
    )


def check_step_inputs(doc: Doc, steps: list[Step], step_keys: dict[str, Key]) -> None:
    """Every input file of every step exists or an earlier step makes it; else an error at the file key
    that needs it (``step_keys``: step name -> key; by default the key named like the step's prefix)."""
    produced: set[str] = set()
    for step in steps:
        if step.stage is None:
            continue
        for role, path in missing_inputs(step.stage, produced):
            at = step_keys.get(step.name, (step.name.split(".")[0],))
            raise doc.error(
                at, f"step {step.name} needs {role} {path}, which does not exist and no earlier step makes"
            )
        produced |= {os.fspath(p) for p in step.stage.outputs().values()}
