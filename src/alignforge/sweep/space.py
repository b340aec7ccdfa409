"""The seed's W&B ``sweep_config.yaml``, read strictly and translated into a search space.

Translation table (W&B distribution -> what is sampled; Optuna distribution):

====================== ======================================== =====================================
W&B                    sampled value                            Optuna
====================== ======================================== =====================================
``value: x``           always ``x``                             ``CategoricalDistribution([x])``
``values: [...]``      one of the values                        ``CategoricalDistribution(values)``
``int_uniform``        integer in ``[min, max]``                ``IntDistribution(min, max)``
``uniform``            float in ``[min, max]``                  ``FloatDistribution(min, max)``
``q_uniform``          ``round(X / q) * q``, X in ``[min, max]`` ``FloatDistribution(min, max, step=q)``
``log_uniform_values`` log-uniform in ``[min, max]``            ``FloatDistribution(min, max, log=True)``
``log_uniform``        ``exp(X)``, X uniform in ``[min, max]``  ``FloatDistribution(e**min, e**max,
                       (min / max are NATURAL-LOG bounds)       log=True)``
====================== ======================================== =====================================

Without ``distribution``, W&B's defaults apply: ``values`` -> categorical, ``value`` -> constant,
integer ``min`` / ``max`` -> ``int_uniform``, otherwise ``uniform``. The distributions Optuna cannot
draw exactly (``normal``, ``log_normal``, ``beta``, ``inv_log_uniform*``, ``q_log_uniform*``, ``q_normal``
...), ``probabilities`` on ``values``, and nested ``parameters`` are refused with the file, line and key.
YAML 1.1 reads ``1e-7`` as a string; numbers written that way are read as numbers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError

__all__ = ["METHODS", "METRICS", "Param", "SweepSpec", "load_space", "parse_space"]

METHODS = ("bayes", "random", "grid")
# metric name -> the training_metrics.json key it reads (None: measured by alignforge.evaluate)
METRICS: dict[str, str | None] = {
    "validation/margin": "reward_margin",
    "validation/accuracy": "preference_accuracy",
    "validation/kl": "kl_divergence",
    "validation/win_rate": None,
}
_TOP = {
    "program",
    "command",
    "method",
    "metric",
    "parameters",
    "name",
    "description",
    "project",
    "entity",
    "run_cap",
}
_KEYS = {
    "constant": {"value", "distribution"},
    "categorical": {"values", "distribution"},
    "int_uniform": {"min", "max", "distribution"},
    "uniform": {"min", "max", "distribution"},
    "q_uniform": {"min", "max", "q", "distribution"},
    "log_uniform": {"min", "max", "distribution"},
    "log_uniform_values": {"min", "max", "distribution"},
}
_REFUSED = {
    "q_log_uniform": "Optuna cannot combine a step with a log scale",
    "q_log_uniform_values": "Optuna cannot combine a step with a log scale",
    "inv_log_uniform": "Optuna has no inverse-log distribution",
    "inv_log_uniform_values": "Optuna has no inverse-log distribution",
    "normal": "Optuna samples bounded ranges only",
    "q_normal": "Optuna samples bounded ranges only",
    "log_normal": "Optuna samples bounded ranges only",
    "q_log_normal": "Optuna samples bounded ranges only",
    "beta": "Optuna has no beta distribution",
    "q_beta": "Optuna has no beta distribution",
}


@dataclass(frozen=True)
class Param:
    """One parameter of the space: ``kind`` is ``categorical``, ``int`` or ``float``."""

    name: str
    distribution: str  # the W&B name, as written or as defaulted
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def to_optuna(self) -> Any:
        import optuna.distributions as d

        if self.kind == "categorical":
            return d.CategoricalDistribution(self.choices)
        if self.kind == "int":
            return d.IntDistribution(int(self.low or 0), int(self.high or 0))
        return d.FloatDistribution(float(self.low or 0), float(self.high or 0), log=self.log, step=self.step)

    def grid(self) -> list[Any]:
        """The values a grid search visits; continuous ranges have none."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low or 0), int(self.high or 0) + 1))
        if self.step is not None and self.low is not None and self.high is not None:
            n = int(math.floor((self.high - self.low) / self.step + 1e-9))
            return [round(self.low + i * self.step, 12) for i in range(n + 1)]
        raise ValueError(self.name)


@dataclass
class SweepSpec:
    source: str
    method: str
    metric: str
    goal: str  # "maximize" or "minimize"
    params: dict[str, Param]
    name: str = "dpo-sweep"
    project: str | None = None
    entity: str | None = None
    run_cap: int | None = None
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # the file as read (for a W&B sweep)

    @property
    def direction(self) -> str:
        return self.goal

    def grid_space(self) -> dict[str, list[Any]]:
        return {name: p.grid() for name, p in self.params.items()}


class _Lines:
    """``key path -> line`` from yaml's node marks, so every error names its line."""

    def __init__(self, text: str, source: str) -> None:
        import yaml

        self.source = source
        self.notes: list[str] = []
        self.lines: dict[tuple[str, ...], int] = {}
        try:
            node = yaml.compose(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML ({exc})") from None
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: Any, path: tuple[str, ...]) -> None:
        import yaml

        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                self.lines[sub] = key.start_mark.line + 1
                self._walk(value, sub)

    def error(self, path: tuple[str, ...], message: str) -> ConfigError:
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return ConfigError(f"{self.source}:{self.lines[path[:cut]]}: {'.'.join(path)}: {message}")
        return ConfigError(f"{self.source}: {'.'.join(path) or '<top level>'}: {message}")


def load_space(path: str | os.PathLike[str]) -> SweepSpec:
    """Read a ``sweep_config.yaml`` (the seed's W&B format); errors name the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: sweep config not found") from None
    return parse_space(text, source=str(path))


def parse_space(text: str, *, source: str = "<sweep>") -> SweepSpec:
    import yaml

    lines = _Lines(text, source)
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise lines.error((), "a sweep config is a mapping with method, metric and parameters")
    for key in raw:
        if key not in _TOP:
            hint = " (alignforge reports each trial once, at its end)" if key == "early_terminate" else ""
            raise lines.error(
                (str(key),), f"unknown or unsupported key{hint}; known: {', '.join(sorted(_TOP))}"
            )
    notes = []
    for key in ("program", "command"):
        if key in raw:
            notes.append(
                f"{key}: {raw[key]!r} is not run: alignforge runs its own DPO recipe (train.dpo) per trial"
            )
    method = raw.get("method")
    if method not in METHODS:
        raise lines.error(("method",), f"expected one of {', '.join(METHODS)}, got {method!r}")
    metric = raw.get("metric")
    if not isinstance(metric, dict) or set(metric) - {"name", "goal"}:
        raise lines.error(("metric",), "expected {name: ..., goal: maximize|minimize}")
    if metric.get("name") not in METRICS:
        raise lines.error(
            ("metric", "name"), f"expected one of {', '.join(METRICS)}, got {metric.get('name')!r}"
        )
    if metric.get("goal") not in ("maximize", "minimize"):
        raise lines.error(("metric", "goal"), f"expected maximize or minimize, got {metric.get('goal')!r}")
    body = raw.get("parameters")
    if not isinstance(body, dict) or not body:
        raise lines.error(
            ("parameters",), "expected a mapping of parameter -> distribution, with at least one"
        )
    params = {str(name): _param(str(name), spec, lines) for name, spec in body.items()}
    spec = SweepSpec(
        source=source,
        method=method,
        metric=metric["name"],
        goal=metric["goal"],
        params=params,
        name=str(raw.get("name") or "dpo-sweep"),
        project=raw.get("project"),
        entity=raw.get("entity"),
        run_cap=raw.get("run_cap"),
        notes=notes + lines.notes,
        raw=raw,
    )
    if method == "grid":
        for name, p in params.items():
            if p.kind == "float" and p.step is None:
                raise lines.error(
                    ("parameters", name),
                    f"grid search needs discrete values; {p.distribution} is continuous (use values: [...])",
                )
    return spec


def _number(value: Any, path: tuple[str, ...], lines: _Lines) -> float | int:
    if isinstance(value, bool):
        raise lines.error(path, f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):  # YAML 1.1: 1e-7 (no dot) is a string
        try:
            return float(value)
        except ValueError:
            pass
    raise lines.error(path, f"expected a number, got {value!r}")


def _param(name: str, spec: Any, lines: _Lines) -> Param:
    at = ("parameters", name)
    if not isinstance(spec, dict):
        raise lines.error(
            at, "expected a mapping such as {values: [...]} or {distribution: uniform, min: 0, max: 1}"
        )
    if "parameters" in spec:
        raise lines.error(
            (*at, "parameters"), "nested parameters are not supported: name each parameter at the top"
        )
    if "probabilities" in spec:
        raise lines.error(
            (*at, "probabilities"), "weighted values are not supported (Optuna samples them evenly)"
        )
    dist = spec.get("distribution")
    if dist is None:
        if "values" in spec:
            dist = "categorical"
        elif "value" in spec:
            dist = "constant"
        elif isinstance(spec.get("min"), int) and isinstance(spec.get("max"), int):
            dist = "int_uniform"
        else:
            dist = "uniform"
    if dist in _REFUSED:
        raise lines.error((*at, "distribution"), f"{dist} is not supported: {_REFUSED[dist]}")
    if dist not in _KEYS:
        raise lines.error((*at, "distribution"), f"unknown distribution {dist!r}; known: {', '.join(_KEYS)}")
    extra = set(spec) - _KEYS[dist]
    if extra:
        raise lines.error(
            (*at, sorted(extra)[0]), f"not a key of {dist} (it takes {', '.join(sorted(_KEYS[dist]))})"
        )
    if dist == "constant":
        return Param(name, dist, "categorical", choices=(spec["value"],))
    if dist == "categorical":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise lines.error((*at, "values"), "expected a non-empty list")
        for i, v in enumerate(values):
            if not (v is None or isinstance(v, bool | int | float | str)):
                raise lines.error((*at, "values"), f"item {i}: expected a number, string or bool, got {v!r}")
        return Param(name, dist, "categorical", choices=tuple(values))
    for key in ("min", "max"):
        if key not in spec:
            raise lines.error(at, f"{dist} needs {key}")
    low, high = _number(spec["min"], (*at, "min"), lines), _number(spec["max"], (*at, "max"), lines)
    if not low < high:
        raise lines.error((*at, "max"), f"max ({high}) must be greater than min ({low})")
    if dist == "int_uniform":
        if not (float(low).is_integer() and float(high).is_integer()):
            raise lines.error(at, f"int_uniform needs integer bounds, got {low} and {high}")
        return Param(name, dist, "int", low=int(low), high=int(high))
    if dist == "uniform":
        return Param(name, dist, "float", low=float(low), high=float(high))
    if dist == "q_uniform":
        q = float(_number(spec.get("q", 1), (*at, "q"), lines))
        if q <= 0:
            raise lines.error((*at, "q"), f"expected q > 0, got {q}")
        return Param(name, dist, "float", low=float(low), high=float(high), step=q)
    if dist == "log_uniform_values":
        if low <= 0:
            raise lines.error((*at, "min"), f"log_uniform_values needs min > 0, got {low}")
        return Param(name, dist, "float", low=float(low), high=float(high), log=True)
    # log_uniform: W&B's bounds are natural logs of the values (min: -16.1 means e**-16.1 = 1e-7).
    if low > 0 and high < 0.01:
        lines.notes.append(
            f"parameters.{name}: log_uniform takes natural-log bounds, so it samples "
            f"{math.exp(low):.6g}..{math.exp(high):.6g}; for values {low:g}..{high:g} use log_uniform_values"
        )
    if high > 700:
        raise lines.error((*at, "max"), f"log_uniform bounds are natural logs: e**{high} overflows")
    return Param(name, dist, "float", low=math.exp(low), high=math.exp(high), log=True)
