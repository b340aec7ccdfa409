"""The DPO workflow's step builders: a registered stage made from the file's parameters, the training
steps (their config filled in from the earlier stages, their gates following the config's
``on_fail``), the LoRA merge, the evaluation suites and the pair gates.

:mod:`alignforge.workflow.rlvr` builds its steps with the same :func:`make_stage`, :func:`stage_params`
and :func:`train_step`.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.stages import Stage, StageSummary, get_stage
from alignforge.workflow.run import Step, gates_of
from alignforge.workflow.schema import Doc, Key

__all__ = [
    "SET_BY_WORKFLOW",
    "make_stage",
    "registered_stage",
    "stage_params",
    "train_raw",
    "train_config",
    "train_step",
    "merge_step",
    "suites_step",
    "pair_check",
]


# Train-config keys the workflow fills in from earlier stages.
SET_BY_WORKFLOW = {
    ("model", "base_model"),
    ("model", "policy_model"),
    ("model", "reference_model"),
    ("data", "train_file"),
    ("data", "validation_file"),
    ("logging", "output_dir"),
}


def make_stage(name: str, *args: Any, **kwargs: Any) -> Stage:
    """An instance of the registered stage ``name``."""
    cls: Any = get_stage(name)
    stage: Stage = cls(*args, **kwargs)
    return stage


def registered_stage(doc: Doc, at: Key, name: str) -> Any:
    """The registered stage ``name``; an unregistered one is an error naming the key that needs it."""
    try:
        return get_stage(name)
    except ConfigError as exc:
        raise doc.error(at, f"needs stage {name!r}, which is not registered ({exc})") from None


def stage_params(doc: Doc, at: Key, stage_name: str, reserved: set[str]) -> dict[str, Any]:
    """The section at ``at`` as parameters of stage ``stage_name``: each key one of its fields, none of
    ``reserved`` (the workflow sets those from the previous stage)."""
    import dataclasses

    cls = get_stage(stage_name)
    known: set[str] = (
        {f.name for f in dataclasses.fields(cls)} - reserved if dataclasses.is_dataclass(cls) else set()
    )
    body = doc.section(at)
    out = {}
    for key, value in body.items():
        if key in reserved:
            raise doc.error((*at, key), "is set by the workflow (from the previous stage)")
        if key not in known:
            raise doc.error((*at, key), f"unknown key: {stage_name} takes {', '.join(sorted(known))}")
        out[key] = value
    return out


def train_raw(doc: Doc, at: Key, sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The training section at ``at`` with ``sets`` filled in from the earlier stages; a key of
    :data:`SET_BY_WORKFLOW` that the file sets itself is an error."""
    body = copy.deepcopy(doc.section(at))
    for section, keys in sets.items():
        sec = body.setdefault(section, {}) or {}
        body[section] = sec
        for key, value in keys.items():
            if (section, key) in SET_BY_WORKFLOW and key in sec and sec[key] is not None:
                raise doc.error(
                    (*at, section, key), "is set by the workflow (from the previous stage): remove it"
                )
            sec[key] = value
    return body


def train_config(doc: Doc, at: Key, raw: dict[str, Any], stage: str) -> Any:
    """``raw`` parsed as ``stage``'s training config; an error is put at the key it names, or at ``at``."""
    from alignforge.train.config import parse_config

    raw = copy.deepcopy(raw)
    cons = raw.setdefault("constraints", {}) or {}
    raw["constraints"] = cons
    try:
        return parse_config(raw, stage, source=str(doc.path))
    except ConfigError as exc:
        text = str(exc).removeprefix(f"{doc.path}: ")
        for match in re.finditer(r"\b([a-z_]+)\.([a-z_]+)(?:\.([a-z_]+))?", text):
            path = tuple(p for p in match.groups() if p)
            if (*at, *path) in doc.lines or (*at, *path[:1]) in doc.lines:
                raise doc.error((*at, *path), text) from None
        raise doc.error(at, text) from None


def train_step(name: str, title: str, stage_name: str, cfg: Any, raw: dict[str, Any]) -> Step:
    """A training step: the config's on_fail decides whether a failed gate stops the run; the stage
    itself always runs with on_fail: flag, so its record is finished and a rerun reuses it."""
    on_fail = cfg.constraints["on_fail"]
    cfg.constraints["on_fail"] = "flag"
    raw = copy.deepcopy(raw)
    raw.setdefault("constraints", {})["on_fail"] = "flag"

    def read(summary: StageSummary) -> list[dict[str, Any]]:
        return [dict(g, on_fail=on_fail if g["on_fail"] == "stop" else "flag") for g in gates_of(summary)]

    return Step(name, title, make_stage(stage_name, cfg), kind="train", gates=read, train_config=raw)


def merge_step(name: str, adapter: Path, out: Path, merge: bool) -> Step:
    if not merge:
        return Step(name, "Merge the LoRA adapter", None, skip_reason="full fine-tuning: nothing to merge")
    return Step(
        name,
        "Merge the LoRA adapter into a plain checkpoint",
        make_stage("workflow.merge", adapter, out),
        kind="train",
    )


def suites_step(name: str, title: str, model: str, out_dir: Path, ev: dict[str, Any]) -> Step:
    st = make_stage(
        "evaluate.suites",
        model=f"local:{model}",
        suites=ev["suites"],
        out_dir=out_dir,
        benchmark_dir=ev["benchmark_dir"],
        max_new_tokens=ev["max_new_tokens"],
        seed=ev["seed"],
    )
    return Step(name, title, st, kind="eval")


def pair_check(
    data: Path, folder: Path, gates: Any, gates_stage: str, decon: dict[str, Any], stem: str
) -> tuple[Stage, Path, Path]:
    """The pair gates on ``data``, keeping the passing pairs in ``folder/checked.jsonl``: the stage, its
    JSON report and its failing-rows folder."""
    against = decon.get("against")
    if isinstance(against, list | tuple):
        against = list(against)
    st = make_stage(
        "check",
        data=data,
        keep_passing=folder / "checked.jsonl",
        json_out=folder / f"{stem}.json",
        html_out=folder / f"{stem}.html",
        failing_rows=folder / "failing_rows",
        gates=gates,
        gates_stage=gates_stage,
        against=against,
        benchmark_dir=decon.get("benchmark_dir"),
    )
    return st, folder / f"{stem}.json", folder / "failing_rows"
