"""The deployment decision (the ``evaluate.decision`` stage): the seed's ``EVALUATION_CONFIG`` thresholds
held against the evaluation's figures, an evaluation report, deploy / do not deploy.

Gates (format: ``{"name", "figure", "value", "op", "bound", "unit", "passed", "on_fail"}``), each
failing closed when its figure was not measured:

- ``capability.<suite>``: the tuned model's score >= the suite's ``baseline_threshold``
  (``capability_benchmarks``), for every suite the thresholds name;
- ``capability_retention``: the worst suite's tuned / baseline ratio (``quality_thresholds``);
- ``kl_divergence`` and ``preference_gap``: the checkpoint's ``training_metrics.json``
  (``kl_divergence``; ``reward_margin``, the seeds' preference gap);
- ``decontamination``: a ``check --json`` metrics file or a ``decontaminate --report``;
- ``win_rate``: > 0.5 (``win_rate: {gt: 0.5}``; the seed's ``alignment_evaluation.preference_validation
  .baseline_threshold`` is read the same way: "must beat baseline").

Outputs: ``decision.json`` (``deploy``, ``gates``, ``failed``, ``retention``, ``reason``) and
``evaluation_report.md``. A decision not to deploy is a finished stage: the decision is its result.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.stages import Stage, StageSummary, run_stage

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DecisionStage",
    "decide",
    "load_thresholds",
    "normalize_thresholds",
    "run_decision",
]

DEFAULT_THRESHOLDS: dict[str, Any] = {
    "capability_benchmarks": {
        "mmlu": {"metric": "accuracy", "baseline_threshold": 0.45},
        "humaneval": {"metric": "pass@1", "baseline_threshold": 0.15},
        "gsm8k": {"metric": "accuracy", "baseline_threshold": 0.30},
    },
    "quality_thresholds": {
        "kl_divergence": {"max": 0.1},
        "preference_gap": {"min": 0.15},
        "capability_retention": {"min": 0.95},
        "decontamination": {"min": 0.9},
    },
    "win_rate": {"gt": 0.5},
}
_OPS = {"min": ">=", "max": "<=", "gt": ">", "lt": "<", "equals": "=="}
_QUALITY = {  # gate -> (figure, unit)
    "kl_divergence": ("training_metrics.kl_divergence", "nats/token, mean KL(policy || reference)"),
    "preference_gap": ("training_metrics.reward_margin", "nats, implicit reward margin on validation pairs"),
    "capability_retention": ("retention", "worst suite's tuned / baseline score"),
    "decontamination": ("decontamination", "share of training rows with no benchmark overlap, 0-1"),
}
# The seed's descriptive keys, accepted and not used.
_CAPABILITY_KEYS = {"baseline_threshold", "metric", "dataset", "subset", "num_shots"}


def _bound(where: str, spec: Any) -> tuple[str, float]:
    if not isinstance(spec, dict) or len(set(spec) & set(_OPS)) != 1 or set(spec) - {*_OPS, "unit"}:
        raise ConfigError(
            f"thresholds: {where}: expected one of {', '.join(_OPS)} (e.g. {{min: 0.95}}), got {spec!r}"
        )
    key = next(k for k in spec if k in _OPS)
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"thresholds: {where}.{key}: expected a number, got {value!r}")
    return _OPS[key], float(value)


def normalize_thresholds(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Check a thresholds mapping (the seed's ``EVALUATION_CONFIG`` shape, ``win_rate`` beside it) and
    return it with the seed's ``alignment_evaluation`` folded into ``win_rate``. Unknown keys are errors."""
    raw = copy.deepcopy(DEFAULT_THRESHOLDS if raw is None else raw)
    if not isinstance(raw, dict):
        raise ConfigError(f"thresholds: expected a mapping, got {type(raw).__name__}")
    allowed = {"capability_benchmarks", "quality_thresholds", "win_rate", "alignment_evaluation"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"thresholds: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    caps = raw.get("capability_benchmarks") or {}
    if not isinstance(caps, dict):
        raise ConfigError(
            "thresholds: capability_benchmarks: expected a mapping suite -> {baseline_threshold}"
        )
    for suite, spec in caps.items():
        where = f"capability_benchmarks.{suite}"
        if not isinstance(spec, dict) or "baseline_threshold" not in spec:
            raise ConfigError(f"thresholds: {where}: expected {{baseline_threshold: <0-1>}}, got {spec!r}")
        extra = sorted(set(spec) - _CAPABILITY_KEYS)
        if extra:
            raise ConfigError(f"thresholds: {where}.{extra[0]}: unknown key")
        _bound(where, {"min": spec["baseline_threshold"]})
    quality = raw.get("quality_thresholds") or {}
    if not isinstance(quality, dict):
        raise ConfigError("thresholds: quality_thresholds: expected a mapping")
    for name, spec in quality.items():
        if name not in _QUALITY:
            raise ConfigError(
                f"thresholds: quality_thresholds.{name}: unknown gate (known: {', '.join(_QUALITY)})"
            )
        _bound(f"quality_thresholds.{name}", spec)
    align = raw.pop("alignment_evaluation", None)
    if align is not None:
        pv = align.get("preference_validation") if isinstance(align, dict) else None
        if isinstance(pv, dict) and "baseline_threshold" in pv:
            raw.setdefault("win_rate", {"gt": pv["baseline_threshold"]})
    if raw.get("win_rate") is not None:
        _bound("win_rate", raw["win_rate"])
    return raw


def load_thresholds(path: str | Path) -> dict[str, Any]:
    """Read a thresholds YAML file: the seed's ``EVALUATION_CONFIG`` mapping, or a file holding it under
    that key. Returns the raw mapping; :func:`normalize_thresholds` checks it."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such thresholds file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping (the seed's EVALUATION_CONFIG shape)")
    return data.get("EVALUATION_CONFIG", data)


def _read_json(path: Path, what: str) -> Any:
    try:
        return orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise AlignforgeError(f"{path}: no such file ({what})") from None
    except orjson.JSONDecodeError as exc:
        raise AlignforgeError(f"{path}: not valid JSON ({exc})") from None


def _suites(path: Path) -> dict[str, Any]:
    data = _read_json(path, "suites.json of evaluate.suites")
    suites = data.get("suites") if isinstance(data, dict) else None
    if not isinstance(suites, dict) or not suites:
        raise AlignforgeError(f"{path}: field 'suites': expected {{name: {{metric, score, se, n}}}}")
    for name, s in suites.items():
        for key in ("score", "se", "n"):
            v = s.get(key) if isinstance(s, dict) else None
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise AlignforgeError(f"{path}: field 'suites.{name}.{key}': expected a number, got {v!r}")
    return data


def _number(data: Any, path: Path, *keys: str) -> float | None:
    """The first of ``keys`` (dotted) present in ``data``; a present non-number is an error."""
    for key in keys:
        value: Any = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AlignforgeError(f"{path}: field '{key}': expected a number, got {value!r}")
        return float(value)
    return None


def _gate(name: str, figure: str, value: float | None, op: str, bound: float, unit: str) -> dict[str, Any]:
    passed = (
        value is not None
        and {
            ">=": value >= bound,
            "<=": value <= bound,
            ">": value > bound,
            "<": value < bound,
            "==": abs(value - bound) <= 1e-9,
        }[op]
    )
    return {
        "name": name,
        "figure": figure,
        "value": value,
        "op": op,
        "bound": bound,
        "unit": unit,
        "passed": bool(passed),
        "on_fail": "stop",
    }


def decide(
    baseline_suites: Path,
    tuned_suites: Path,
    *,
    winrate: Path | None = None,
    training_metrics: Path | None = None,
    decontamination: Path | None = None,
    thresholds: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The decision as a dict (what ``decision.json`` holds); reads and checks every input."""
    from alignforge.evaluate.retention import suite_retention

    t = normalize_thresholds(thresholds)
    base, tuned = _suites(baseline_suites), _suites(tuned_suites)
    retention = suite_retention(base["suites"], tuned["suites"])
    win = _read_json(winrate, "winrate.json of evaluate.winrate") if winrate is not None else None
    metrics = _read_json(training_metrics, "training_metrics.json") if training_metrics is not None else None
    decon = _read_json(decontamination, "decontamination figures") if decontamination is not None else None
    figures: dict[str, float | None] = {
        "retention": retention["retention"],
        "training_metrics.kl_divergence": (
            _number(metrics, training_metrics, "kl_divergence") if training_metrics else None
        ),
        "training_metrics.reward_margin": (
            _number(metrics, training_metrics, "reward_margin", "preference_gap")
            if training_metrics
            else None
        ),
        "decontamination": (
            _number(
                decon, decontamination, "decontamination", "figures.decontamination", "decontamination_score"
            )
            if decontamination
            else None
        ),
        "win_rate": _number(win, winrate, "win_rate") if winrate else None,
    }
    gates = []
    for suite, spec in (t.get("capability_benchmarks") or {}).items():
        s = tuned["suites"].get(suite)
        value = float(s["score"]) if s is not None else None
        metric = s["metric"] if s is not None else spec.get("metric", "score")
        gates.append(
            _gate(
                f"capability.{suite}",
                f"suites.{suite}.score",
                value,
                ">=",
                float(spec["baseline_threshold"]),
                metric,
            )
        )
    for name, spec in (t.get("quality_thresholds") or {}).items():
        figure, unit = _QUALITY[name]
        op, bound = _bound(name, spec)
        gates.append(_gate(name, figure, figures[figure], op, bound, unit))
    if t.get("win_rate") is not None:
        op, bound = _bound("win_rate", t["win_rate"])
        gates.append(
            _gate("win_rate", "win_rate", figures["win_rate"], op, bound, "share of pairwise wins, ties half")
        )
    failed = [g["name"] for g in gates if not g["passed"]]
    why = [
        f"{g['name']} not measured"
        if g["value"] is None
        else f"{g['name']} {g['value']:.4g} not {g['op']} {g['bound']:g}"
        for g in gates
        if not g["passed"]
    ]
    reason = (
        f"deploy: all {len(gates)} gates passed"
        if not failed
        else f"do not deploy: {len(failed)} of {len(gates)} gates failed: " + "; ".join(why)
    )
    return {
        "deploy": not failed,
        "gates": gates,
        "failed": failed,
        "retention": retention,
        "win_rate": win,
        "reason": reason,
        "baseline": base.get("model"),
        "tuned": tuned.get("model"),
        "thresholds": t,
    }


def _fmt(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def report_markdown(d: dict[str, Any]) -> str:
    """The evaluation report: the decision, every gate, retention per suite with error bars, the win rate."""
    lines = [
        "# Evaluation report",
        "",
        f"Tuned model: `{d.get('tuned')}`; baseline: `{d.get('baseline')}`.",
        "",
        f"## Decision: **{'DEPLOY' if d['deploy'] else 'DO NOT DEPLOY'}**",
        "",
        d["reason"] + ".",
        "",
        "## Gates",
        "",
        "| gate | value | bound | unit | result |",
        "|---|---|---|---|---|",
    ]
    for g in d["gates"]:
        result = "pass" if g["passed"] else ("FAIL (not measured)" if g["value"] is None else "FAIL")
        lines.append(
            f"| {g['name']} | {_fmt(g['value'], 4)} | {g['op']} {g['bound']:g} | {g['unit']} | {result} |"
        )
    r = d["retention"]
    lines += [
        "",
        "## Capability retention",
        "",
        f"Retention (worst suite, {r['worst_suite']}): **{_fmt(r['retention'])}**; mean over suites "
        f"{_fmt(r['retention_mean'])}. Scores are shares ± standard error; z and p are a pooled two-proportion "
        "z-test of tuned against baseline.",
        "",
        "| suite | metric | baseline | tuned | tuned / baseline | z | p |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in r["suites"].items():
        b, t = s["baseline"], s["tuned"]
        lines.append(
            f"| {name} | {s['metric']} | {_fmt(b['score'])} ± {_fmt(b['se'])} (n={b['n']}) | "
            f"{_fmt(t['score'])} ± {_fmt(t['se'])} (n={t['n']}) | {_fmt(s['ratio'])} | {_fmt(s['z'], 2)} | {_fmt(s['p'])} |"
        )
    w = d.get("win_rate")
    lines += ["", "## Win rate over the baseline", ""]
    if w:
        lines.append(
            f"{_fmt(w.get('win_rate'))} ± {_fmt(w.get('se'))} over {w.get('n')} held-out prompts "
            f"({w.get('wins')} wins, {w.get('ties')} ties, {w.get('losses')} losses; "
            f"{w.get('order_disagreements')} order-dependent verdicts counted as ties); "
            f"length-controlled {_fmt(w.get('lc_win_rate'))}."
        )
    else:
        lines.append("Not measured.")
    lines += [
        "",
        "Not automated here (the seed's checklist): the human evaluation and the qualitative assessment.",
        "",
    ]
    return "\n".join(lines)


def run_decision(**kwargs: Any) -> StageSummary:
    """Run :class:`DecisionStage` through the stage contract."""
    return run_stage(DecisionStage(**kwargs))


@dataclass
class DecisionStage(Stage):
    """Deploy or not; see the module docstring."""

    baseline_suites: Path
    tuned_suites: Path
    out_dir: Path
    winrate: Path | None = None
    training_metrics: Path | None = None
    decontamination: Path | None = None
    thresholds: dict[str, Any] | None = None

    name = "evaluate.decision"

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        self.thresholds = normalize_thresholds(self.thresholds)

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        return {
            "baseline_suites": self.baseline_suites,
            "tuned_suites": self.tuned_suites,
            "winrate": self.winrate,
            "training_metrics": self.training_metrics,
            "decontamination": self.decontamination,
        }

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": self.out_dir / "decision.json", "report": self.out_dir / "evaluation_report.md"}

    def params(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds}

    def execute(self) -> StageSummary:
        d = decide(
            Path(self.baseline_suites),
            Path(self.tuned_suites),
            winrate=Path(self.winrate) if self.winrate else None,
            training_metrics=Path(self.training_metrics) if self.training_metrics else None,
            decontamination=Path(self.decontamination) if self.decontamination else None,
            thresholds=self.thresholds,
        )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        paths = self.outputs()
        Path(paths["report"]).write_text(report_markdown(d), encoding="utf-8")
        Path(paths["out"]).write_bytes(orjson.dumps(d, option=orjson.OPT_INDENT_2))
        figures = {k: d[k] for k in ("deploy", "gates", "failed", "reason")}
        figures["retention"] = d["retention"]["retention"]
        figures["passed"] = d["deploy"]
        notes = [f"   {d['reason']}", f"   report: {paths['report']}"]
        return StageSummary(
            self.name, written=1, outputs={k: str(v) for k, v in paths.items()}, figures=figures, notes=notes
        )
