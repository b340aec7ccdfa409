"""The seeds' ``training_metrics`` API: ``validate_dpo_pairs``, ``enforce_gates``, ``check_quality_gates``."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import AlignforgeError, ConfigError
from alignforge.quality._decontam import seed_against
from alignforge.quality.check import compute_figures
from alignforge.quality.gates import (
    UNMEASURED_DECONTAM,
    decontam_entry,
    evaluate,
    load_gates,
    validate_gates,
)
from alignforge.records import Kind

__all__ = ["DPOMetrics", "validate_dpo_pairs", "enforce_gates", "check_quality_gates"]


@dataclass
class DPOMetrics:
    """Figures of a DPO file on the 0-10 judge scale, with the thresholds they are held to."""

    total_pairs: int
    avg_chosen: float | None
    avg_rejected: float | None
    avg_gap: float | None
    decontamination: float | None
    chosen_threshold: float = 9.0
    rejected_threshold: float = 6.0
    gap_threshold: float = 3.0
    min_pairs: int = 1000
    min_decontamination: float = 0.9
    figures: dict[str, Any] = field(default_factory=dict, repr=False)

    def failures(self) -> list[str]:
        """Each threshold missed, as one readable line (an unmeasured figure is a failure)."""
        out = []
        checks = [
            ("avg_chosen", self.avg_chosen, ">=", self.chosen_threshold),
            ("avg_rejected", self.avg_rejected, "<=", self.rejected_threshold),
            ("avg_gap", self.avg_gap, ">=", self.gap_threshold),
            ("total_pairs", self.total_pairs, ">=", self.min_pairs),
            ("decontamination", self.decontamination, ">=", self.min_decontamination),
        ]
        for name, value, op, bound in checks:
            if value is None and name == "decontamination":
                out.append(f"{name}: {UNMEASURED_DECONTAM} (needs {op} {bound})")
            elif value is None:
                out.append(f"{name}: not measured (needs {op} {bound})")
            elif (op == ">=" and value < bound) or (op == "<=" and value > bound):
                out.append(f"{name}: {value:.4g} (needs {op} {bound})")
        return out

    def passes_thresholds(self) -> bool:
        return not self.failures()


def validate_dpo_pairs(
    dpo_path: str | os.PathLike[str],
    gap_threshold: float = 3.0,
    *,
    chosen_threshold: float | None = None,
    rejected_threshold: float | None = None,
    min_pairs: int = 1000,
    scale: str = "0-10",
    against: str | Sequence[str] | None = None,
    benchmark_dir: str | os.PathLike[str] | None = None,
    decontam_report: str | os.PathLike[str] | None = None,
) -> DPOMetrics:
    """Measure a DPO file. Thresholds on a 0-1 scale need ``scale="0-1"`` (they are then multiplied by 10).

    The seeds' workflow template passes ``gap_threshold=0.15`` meaning a 0-1 scale; a gap below 1
    with the default 0-10 scale is almost always that mistake, so it warns.

    ``decontamination`` is measured, never read from rows' ``contaminated`` flags: a scan
    ``against`` benchmarks (in ``benchmark_dir``, default
    :func:`~alignforge.curate.default_benchmark_dir`), or a ``decontaminate --report`` bound to
    this file. With neither, the default benchmarks found in the benchmark folder are scanned;
    with none found the figure is None and :meth:`DPOMetrics.failures` says how to measure it.
    """
    if scale not in ("0-10", "0-1"):
        raise ValueError("scale must be '0-10' or '0-1'")
    factor = 10.0 if scale == "0-1" else 1.0
    if scale == "0-10" and gap_threshold < 1.0:
        warnings.warn(
            f"gap_threshold={gap_threshold} on the 0-10 judge scale; if it is a 0-1 figure pass scale='0-1'",
            stacklevel=2,
        )
    # Unset thresholds take the gates' defaults (9 and 6 on the 0-10 scale); set ones are on ``scale``.
    chosen = 9.0 if chosen_threshold is None else chosen_threshold * factor
    rejected = 6.0 if rejected_threshold is None else rejected_threshold * factor
    gap = gap_threshold * factor
    rules = {"chosen_score": {"min": chosen}, "rejected_score": {"max": rejected}, "score_gap": {"min": gap}}
    _, figures, _ = compute_figures(
        dpo_path,
        kind=Kind.DPO,
        rules=rules,
        against=seed_against(against, benchmark_dir, decontam_report),
        benchmark_dir=benchmark_dir,
        decontam_report=decontam_report,
    )
    return DPOMetrics(
        total_pairs=figures["total_pairs"],
        avg_chosen=figures["avg_chosen"],
        avg_rejected=figures["avg_rejected"],
        avg_gap=figures["avg_gap"],
        decontamination=figures["decontamination"],
        chosen_threshold=chosen,
        rejected_threshold=rejected,
        gap_threshold=gap,
        min_pairs=min_pairs,
        figures=figures,
    )


# The one figure the seeds' enforce_gates script asks of a stage. The stage's other gates are held
# when their figure is given and skipped when not: dpo_training's reward margin is held by
# check_quality_gates, which reads it from the checkpoint's training_metrics.json.
_SEED_FIGURE = {"dpo_training": "kl_divergence", "evaluation": "capability_retention"}
# Stages whose figures are given one by one (the data stages measure a file instead).
_FIGURE_STAGES = ("dpo_training", "reward_model", "rl_training", "evaluation")


def _retention_ratio(value: float) -> float:
    """The seeds write retention in percent (96.5); alignforge's bench writes a ratio (0.965, or 1.02)."""
    return value / 100.0 if value > 1.5 else value


def enforce_gates(
    stage: str,
    dpo_pairs_path: str | os.PathLike[str] | None = None,
    kl_divergence: float | None = None,
    capability_retention: float | None = None,
    *,
    reward_margin: float | None = None,
    gates: str | os.PathLike[str] | dict[str, Any] | None = None,
    figures: dict[str, Any] | None = None,
    verbose: bool = True,
    against: str | Sequence[str] | None = None,
    benchmark_dir: str | os.PathLike[str] | None = None,
    decontam_report: str | os.PathLike[str] | None = None,
) -> bool:
    """The seeds' stage gate: True when every gate of ``stage`` that is held passes.

    - ``preference_data``: ``dpo_pairs_path`` is checked against every gate of the stage (or
      ``figures`` measured by :func:`~alignforge.quality.check_file`).
    - ``dpo_training``: ``kl_divergence`` (nats/token) is required, as in the seed's script. The
      reward margin (``reward_margin``, nats) and ``preference_accuracy`` are held when given and
      skipped when not: :func:`check_quality_gates` holds them from ``training_metrics.json``.
    - ``evaluation``: ``capability_retention`` is required. A value above 1.5 is read as a
      percentage (the seed's 96.5 is 0.965); up to 1.5 as the tuned / baseline ratio that
      ``alignforge bench retention`` writes (0.965; above 1 when tuning improved every suite).
    - ``reward_model``, ``rl_training``: figures in ``figures``; a gate without its figure fails
      (fail closed) unless the gates file marks it optional.

    A figure given is always held. A figure the stage has no gate for (a misspelt name, or KL at
    ``evaluation``) and a missing required figure raise ``ValueError``; an unknown stage raises
    :class:`~alignforge.errors.ConfigError`.
    """
    from alignforge.quality.check import check_file

    cfg = validate_gates(gates) if isinstance(gates, dict) else load_gates(gates)
    measured = dict(figures or {})
    for arg, value in (
        ("kl_divergence", kl_divergence),
        ("reward_margin", reward_margin),
        ("capability_retention", capability_retention),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{arg} must be a number, got {value!r}")
    if stage == "preference_data":
        if dpo_pairs_path is None and not measured:
            raise ValueError("dpo_pairs_path is required for the preference_data stage")
        if dpo_pairs_path is not None:
            # Decontamination as in validate_dpo_pairs (a gates-file `decontamination:` entry comes first).
            if decontam_entry(cfg) is None:
                against = seed_against(against, benchmark_dir, decontam_report)
            result = check_file(
                dpo_pairs_path,
                kind=Kind.DPO,
                gates=cfg,
                stage=stage,
                against=against,
                benchmark_dir=benchmark_dir,
                decontam_report=decontam_report,
            )
            results = result.gates
        else:
            results = evaluate(measured, cfg, stage)
    else:
        if kl_divergence is not None:
            measured["kl_divergence"] = kl_divergence
        if reward_margin is not None:
            measured["reward_margin"] = reward_margin
        if capability_retention is not None:
            measured["capability_retention"] = _retention_ratio(capability_retention)
        body = cfg.get(stage)
        if body is None:
            stages = ", ".join(str(k) for k in cfg if k != "version")
            raise ConfigError(f"the gates file has no stage '{stage}'; it has {stages}")
        if stage in _FIGURE_STAGES:
            known = [name for name in body if name != "row_gates"]
            unknown = sorted(set(measured) - set(known))
            if unknown:
                raise ValueError(
                    f"stage '{stage}' has no gate for {', '.join(unknown)}; its gates read {', '.join(known)}"
                )
        required = _SEED_FIGURE.get(stage)
        skipped: list[str] = []
        if required is not None:
            if required not in measured:
                raise ValueError(f"{required} is required for the {stage} stage")
            skipped = [
                n for n, spec in body.items() if n not in (required, "row_gates") and n not in measured
            ]
            body = {n: {**spec, "optional": True} if n in skipped else spec for n, spec in body.items()}
            cfg = {**cfg, stage: body}
        results = evaluate(measured, cfg, stage)
        for r in results:
            if r.name in skipped:
                r.note = "not given: not held here" + (
                    " (check_quality_gates reads it from training_metrics.json)"
                    if stage == "dpo_training"
                    else ""
                )
    if verbose:
        from alignforge.quality.report import print_gates

        print_gates(results, title=f"Quality gates: {stage}")
    return not any(r.failed for r in results)


def check_quality_gates(checkpoint_dir: str | os.PathLike[str], config: dict[str, Any]) -> dict[str, Any]:
    """Read ``checkpoint_dir/training_metrics.json`` and hold it to the config's ``constraints``.

    Returns the seed's dict: ``kl_divergence``, ``preference_gap``, ``gates_passed`` (and the
    reasons). A missing file or figure fails the gate; it is never read as zero; so does a figure
    that is not a finite number (NaN, Infinity). A file that is not a JSON object, a figure that is
    not a number and a constraint that is not a number raise, naming the file (or key) and field.
    """
    constraints = config.get("constraints") or {}
    bounds = {}
    for key, default in (("kl_target", 0.1), ("preference_gap_target", 0.15)):
        bound = constraints.get(key, default)
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
            raise ConfigError(f"config constraints.{key} must be a finite number, got {bound!r}")
        bounds[key] = bound
    kl_max, gap_min = bounds["kl_target"], bounds["preference_gap_target"]
    results: dict[str, Any] = {
        "kl_divergence": None,
        "preference_gap": None,
        "gates_passed": False,
        "reasons": [],
    }
    metrics_file = Path(checkpoint_dir) / "training_metrics.json"
    if not metrics_file.exists():
        results["reasons"].append(f"{metrics_file}: no such file")
        return results
    metrics = _read_metrics(metrics_file)
    kl = metrics.get("kl_divergence")
    gap_field = "reward_margin" if "reward_margin" in metrics else "preference_gap"
    gap = metrics.get(gap_field)
    for field_name, value in (("kl_divergence", kl), (gap_field, gap)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AlignforgeError(f"{metrics_file}: field '{field_name}' must be a number, got {value!r}")
    results["kl_divergence"] = kl
    results["preference_gap"] = gap
    if kl is None:
        results["reasons"].append("kl_divergence not in training_metrics.json")
    elif not math.isfinite(kl):
        results["reasons"].append(f"kl_divergence {kl} is not a finite number")
    elif kl > kl_max:
        results["reasons"].append(f"kl_divergence {kl:.4f} nats/token > {kl_max}")
    if gap is None:
        results["reasons"].append("reward_margin (preference gap) not in training_metrics.json")
    elif not math.isfinite(gap):
        results["reasons"].append(f"{gap_field} {gap} is not a finite number")
    elif gap < gap_min:
        results["reasons"].append(f"reward margin {gap:.4f} < {gap_min}")
    results["gates_passed"] = not results["reasons"]
    return results


def _read_metrics(path: Path) -> dict[str, Any]:
    """``training_metrics.json`` as an object; NaN and Infinity are read (Python's json writes them)."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AlignforgeError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    except UnicodeDecodeError as exc:
        raise AlignforgeError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not isinstance(metrics, dict):
        raise AlignforgeError(
            f"{path}: expected a JSON object of metrics (kl_divergence, reward_margin, ...), "
            f"got {type(metrics).__name__}"
        )
    return metrics
