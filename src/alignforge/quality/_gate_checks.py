"""Validation of a gates file's entries: bounds and their keys, scales, row gates, the
``decontamination`` entry, and YAML parsing that refuses a key given twice.

Which names a gate may use is decided in :mod:`alignforge.quality._gate_names`.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from alignforge.errors import ConfigError
from alignforge.quality._gate_names import ROW_GATES, _check_figure

__all__: list[str] = []

_GATE_KEYS = {"min", "max", "equals", "unit", "optional", "on_fail", "note", "scale", "data_scale"}
_DECONTAM_KEYS = {"against", "benchmark_dir"}
_SCALES = ("0-10", "0-1")
# Gates on figures on the judge's 0-10 scale whose bounds may be stated on 0-1 (`scale: "0-1"`):
# the bounds are multiplied by 10 where the gate is read (row_rules, evaluate).
_SCALED = frozenset(
    f"preference_data.{name}"
    for name in ("row_gates.chosen_score", "row_gates.rejected_score", "row_gates.score_gap")
    + ("avg_chosen", "avg_rejected", "avg_gap")
)
# The SFT score gate's `scale` and `data_scale` are read by the SFT accumulator (rows may be on 0-1 too).
_SCALE_READ_BY_ROWS = frozenset({"sft_data.row_gates.score"})


def _check_stage(path: str, stage: str, body: Any) -> None:
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: stage '{stage}' must be a mapping of gate names to bounds")
    for name, spec in body.items():
        if name == "row_gates":
            _check_row_gates(path, stage, spec)
            continue
        _check_figure(path, stage, str(name))
        _check_bounds(path, f"{stage}.{name}", spec)


def _check_row_gates(path: str, stage: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: '{stage}.row_gates' must be a mapping")
    known = ROW_GATES.get(stage)
    if known is None:
        raise ConfigError(f"{path}: stage '{stage}' has no row-level gates (they belong to the data stages)")
    for name, rule in spec.items():
        where = f"{stage}.row_gates.{name}"
        if name not in known:
            raise ConfigError(
                f"{path}: unknown row gate '{where}'; {stage} knows {', '.join(known) or 'none'}"
            )
        if known[name] == "check":
            if not isinstance(rule, bool):
                raise ConfigError(f"{path}: row gate '{where}' is a check: write `{name}: true` (or false)")
        elif isinstance(rule, bool):
            raise ConfigError(
                f"{path}: row gate '{where}' needs bounds, like {{min: 9.0, unit: ...}}, not {rule}"
            )
        else:
            _check_bounds(path, where, rule)


def _check_bounds(path: str, where: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        only = "" if ".row_gates." in where else " (only row gates, under row_gates:, are true/false checks)"
        raise ConfigError(f"{path}: gate '{where}' must be a mapping like {{min: 9.0, unit: ...}}{only}")
    unknown = set(spec) - _GATE_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: gate '{where}' has unknown keys {sorted(unknown)}; allowed {sorted(_GATE_KEYS)}"
        )
    if not ({"min", "max", "equals"} & set(spec)):
        raise ConfigError(f"{path}: gate '{where}' needs min, max or equals")
    for key in ("min", "max", "equals"):
        if key not in spec:
            continue
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: gate '{where}': {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{path}: gate '{where}': {key} must be a finite number, got {value!r}")
    if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
        raise ConfigError(
            f"{path}: gate '{where}': min {spec['min']} is above max {spec['max']}, so nothing can pass"
        )
    if "optional" in spec and not isinstance(spec["optional"], bool):
        raise ConfigError(f"{path}: gate '{where}': optional must be true or false, got {spec['optional']!r}")
    for key in ("unit", "note"):
        if key in spec and not isinstance(spec[key], str):
            raise ConfigError(f"{path}: gate '{where}': {key} must be text, got {spec[key]!r}")
    if spec.get("on_fail", "fail") not in ("fail", "flag", "stop"):
        raise ConfigError(f"{path}: gate '{where}': on_fail must be fail, flag or stop")
    for key in ("scale", "data_scale"):
        if key in spec and spec[key] not in _SCALES:
            raise ConfigError(f"{path}: gate '{where}': {key} must be one of {', '.join(_SCALES)}")
    allowed = _SCALED | _SCALE_READ_BY_ROWS
    if "scale" in spec and where not in allowed:
        raise ConfigError(
            f"{path}: gate '{where}': `scale` applies only to the judge-score gates "
            f"({', '.join(sorted(allowed))}); state this bound in the figure's own unit and remove `scale`"
        )
    if "data_scale" in spec and where not in _SCALE_READ_BY_ROWS:
        raise ConfigError(
            f"{path}: gate '{where}': `data_scale` applies only to {', '.join(sorted(_SCALE_READ_BY_ROWS))}"
            " (DPO judge scores are read on 0-10)"
        )


def _check_decontam_entry(path: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{path}: 'decontamination' must be a mapping like {{against: [gsm8k, humaneval], benchmark_dir: DIR}}"
        )
    unknown = set(spec) - _DECONTAM_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: 'decontamination' has unknown keys {sorted(unknown)}; allowed {sorted(_DECONTAM_KEYS)}"
        )
    against = spec.get("against")
    if isinstance(against, str):
        against = [a.strip() for a in against.split(",")]
    if not isinstance(against, list) or not against or not all(isinstance(a, str) and a for a in against):
        raise ConfigError(
            f"{path}: 'decontamination.against' must be a non-empty list of benchmark names, got {spec.get('against')!r}"
        )
    from alignforge.curate.benchmarks import _is_user_file, benchmark_names

    known = benchmark_names()
    for name in against:
        if name.lower() not in known and not _is_user_file(name):
            raise ConfigError(
                f"{path}: 'decontamination.against' names unknown benchmark '{name}'; known are "
                f"{', '.join(known)}, or a path to a JSONL file of question/answer rows"
            )
    bdir = spec.get("benchmark_dir")
    if bdir is not None and not isinstance(bdir, str):
        raise ConfigError(f"{path}: 'decontamination.benchmark_dir' must be a folder path, got {bdir!r}")


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line, self.first = key, line, first


class _GatesLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML keeps the last one silently)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _DuplicateKey(key, line, seen[key])
                    seen[key] = line
                except TypeError:  # an unhashable key: the base class says so
                    pass
        return super().construct_mapping(node, deep=deep)


def _parse(text: str, path: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_GatesLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise ConfigError(
            f"{path}:{exc.line}: duplicate key '{exc.key}' (first on line {exc.first}); "
            "YAML would keep only the last one"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of stages")
    return data
