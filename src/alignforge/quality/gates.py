"""Quality gates: a YAML file of thresholds per stage, each with its unit and scale spelled out.

A stage maps gate names to ``{min | max | equals, unit, optional, on_fail}``; the name is
the figure it reads (dotted for nested figures). Row-level gates sit under ``row_gates:`` and
are judged row by row; the report names the rows that fail each.
A gate whose figure was not measured fails (fail closed) unless it says ``optional: true``.

A top-level ``decontamination: {against: [...], benchmark_dir: ...}`` entry makes ``check`` scan
every file it measures against those benchmarks; the ``decontamination`` figure is never read
from rows' own ``contaminated`` flags.

A file's entries are checked in :mod:`alignforge.quality._gate_checks` (bounds, scales, duplicate
keys) against the names in :mod:`alignforge.quality._gate_names` (the figures and row gates each
stage knows).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError
from alignforge.quality._gate_checks import _SCALED, _check_decontam_entry, _check_stage, _parse
from alignforge.quality._gate_names import _STAGE_OF_KIND

__all__ = [
    "DEFAULT_GATES_YAML",
    "UNMEASURED_DECONTAM",
    "decontam_entry",
    "gates_init_yaml",
    "GateResult",
    "load_gates",
    "validate_gates",
    "default_gates",
    "evaluate",
    "stage_for_kind",
    "row_rules",
    "bound_text",
    "STAGES",
]

STAGES = (
    "preference_data",
    "sft_data",
    "kto_data",
    "grpo_data",
    "rlvr_data",
    "dpo_training",
    "reward_model",
    "rl_training",
    "evaluation",
)
_DECONTAM_FIGURES = ("decontamination", "max_benchmark_share")
UNMEASURED_DECONTAM = (
    "not measured: gate fails closed (rows' own `contaminated` flags are not evidence); measure it with "
    "`alignforge check FILE --against gsm8k,humaneval,mbpp,math500,truthfulqa`, a `decontamination: "
    "{against: [...]}` entry in the gates file, or `alignforge decontaminate FILE --report R` then "
    "`alignforge check FILE --decontam-report R`"
)

DEFAULT_GATES_YAML = """\
# alignforge quality gates. `alignforge check DATA --gates THIS_FILE` exits 1 when a gate fails.
# Each gate names the figure it reads, a bound (min / max / equals), and its unit and scale.
# A gate whose figure was not measured fails (fail closed) unless it says `optional: true`.
# `on_fail: flag` reports a failure without failing the run (training gates also accept `stop`).
version: 1

# Stage 2 of the DPO workflow: preference pairs. Judge scores are on a 0-10 scale.
preference_data:
  row_gates:  # judged pair by pair; `check --keep-passing OUT` writes only the pairs that pass them all
    chosen_score: {min: 9.0, unit: "judge score, 0-10 scale"}
    rejected_score: {max: 6.0, unit: "judge score, 0-10 scale"}
    score_gap: {min: 3.0, unit: "chosen - rejected judge score, 0-10 scale"}
    not_identical: true
    unique: true
    no_conflict: true
  total_pairs: {min: 1000, unit: "pairs"}
  avg_chosen: {min: 9.0, unit: "mean judge score, 0-10 scale"}
  avg_rejected: {max: 6.0, unit: "mean judge score, 0-10 scale"}
  avg_gap: {min: 3.0, unit: "mean chosen - rejected, 0-10 scale (the seeds' 0.15 on a 0-1 scale is 1.5 here)"}
  identical_pairs: {max: 0, unit: "pairs whose chosen equals rejected"}
  duplicate_pairs: {max: 0, unit: "exact repeats of an earlier pair"}
  conflicting_prompts: {max: 0, unit: "prompts with both A>B and B>A"}
  flaw_mix_max_deviation: {max: 0.10, unit: "largest |share - target| over the six flaw types, 0-1", optional: true}
  length_ratio: {max: 3.0, unit: "mean chosen chars / mean rejected chars", on_fail: flag}
  decontamination: {min: 0.9, unit: "share of rows with no benchmark overlap, 0-1 (check --against or --decontam-report)"}
  max_benchmark_share: {max: 0.02, unit: "share of any one benchmark's items overlapped, 0-1", optional: true}
  review_disagreement: {max: 0.05, unit: "share of decided manually reviewed items disagreeing with the judge/verifier, stratum-weighted, 0-1 (check --review)", optional: true}

sft_data:
  row_gates:
    messages_valid: true
    # the training guide's 0.80 on a 0-1 scale (8.0 of the judge's 0-10); rows are read as 0-10
    # unless metadata.score_scale or `check --score-scale 0-1` says otherwise
    score: {min: 0.80, scale: "0-1", unit: "judge score, stated on a 0-1 scale"}
  row_count: {min: 1000, unit: "examples"}
  messages_valid_share: {equals: 1.0, unit: "share of conversations with valid roles and turns, 0-1"}
  share_score_ge_min: {min: 0.95, unit: "share of scored rows meeting the score row gate (>= 0.80 on 0-1), 0-1", optional: true}
  render_failures: {max: 0, unit: "rows the chat template cannot render", optional: true}
  decontamination: {min: 0.9, unit: "share of rows with no benchmark overlap, 0-1 (check --against or --decontam-report)"}
  max_benchmark_share: {max: 0.02, unit: "share of any one benchmark's items overlapped, 0-1 (measured with decontamination)", optional: true}
  review_disagreement: {max: 0.05, unit: "share of decided manually reviewed items disagreeing with the judge/verifier, stratum-weighted, 0-1 (check --review)", optional: true}

kto_data:
  row_count: {min: 1000, unit: "examples"}
  positive_share: {min: 0.60, max: 0.70, unit: "share of rows labelled desirable, 0-1"}
  decontamination: {min: 0.9, unit: "share of rows with no benchmark overlap, 0-1 (check --against or --decontam-report)"}
  max_benchmark_share: {max: 0.02, unit: "share of any one benchmark's items overlapped, 0-1 (measured with decontamination)", optional: true}
  review_disagreement: {max: 0.05, unit: "share of decided manually reviewed items disagreeing with the judge/verifier, stratum-weighted, 0-1 (check --review)", optional: true}

grpo_data:
  row_gates:
    prompt_only: true
    reward_spec: true
  row_count: {min: 1000, unit: "prompts"}
  prompt_only_share: {equals: 1.0, unit: "share of rows with a prompt and no completion, 0-1"}
  reward_spec_share: {equals: 1.0, unit: "share of rows carrying a reward spec or ground truth, 0-1"}
  decontamination: {min: 0.9, unit: "share of rows with no benchmark overlap, 0-1 (check --against or --decontam-report)"}
  max_benchmark_share: {max: 0.02, unit: "share of any one benchmark's items overlapped, 0-1 (measured with decontamination)", optional: true}
  review_disagreement: {max: 0.05, unit: "share of decided manually reviewed items disagreeing with the judge/verifier, stratum-weighted, 0-1 (check --review)", optional: true}

rlvr_data:
  row_gates:
    tests_per_task: {min: 3, max: 5, unit: "tests (code tasks; a math task's check is its answer)"}
    entry_point_in_prompt: true
    unique_task_id: true
  tasks: {min: 1000, unit: "tasks"}
  share_tests_in_range: {min: 0.95, unit: "share of code tasks with 3-5 tests, 0-1 (not measured without code tasks)", optional: true}
  entry_point_hidden_tasks: {max: 0, unit: "tasks whose prompt does not name the function the tests call"}
  duplicate_task_ids: {max: 0, unit: "task ids seen more than once"}
  domain_mix_max_deviation: {max: 0.10, unit: "largest |share - target| over math/code/domain/general, 0-1", optional: true}
  verifiability: {min: 0.80, unit: "share of tasks whose reference solution passes its verifier, 0-1", optional: true}
  verifiability_domains_below_target: {max: 0, unit: "domains whose verified share is below its target (math 0.95, code 0.90, finance 0.85, general 0.80; check --verdicts)", optional: true}
  decontamination: {min: 0.9, unit: "share of rows with no benchmark overlap, 0-1 (check --against or --decontam-report)"}
  max_benchmark_share: {max: 0.02, unit: "share of any one benchmark's items overlapped, 0-1 (measured with decontamination)", optional: true}
  review_disagreement: {max: 0.05, unit: "share of decided manually reviewed items disagreeing with the judge/verifier, stratum-weighted, 0-1 (check --review)", optional: true}

# Stage 5: DPO training, read from a checkpoint's training_metrics.json.
dpo_training:
  kl_divergence: {max: 0.1, unit: "nats/token: mean per-token KL(policy || reference) on policy samples for held-out prompts"}
  reward_margin: {min: 0.15, unit: "nats: implicit reward margin beta * (chosen log-ratio - rejected log-ratio) on validation pairs"}
  preference_accuracy: {min: 0.5, unit: "share of validation pairs with a positive implicit margin, 0-1", on_fail: flag, optional: true}

# Stage 4: reward model.
reward_model:
  rm_train_accuracy: {min: 0.70, unit: "share of training pairs ranked right, ties wrong, 0-1"}
  rm_val_accuracy: {min: 0.70, unit: "share of validation pairs ranked right, ties wrong, 0-1"}
  rm_train_val_gap: {max: 0.10, unit: "train accuracy - validation accuracy, 0-1"}

# GRPO / RAFT.
rl_training:
  kl_divergence: {max: 0.1, unit: "nats/token, as in dpo_training", optional: true}
  frac_zero_std_groups: {max: 0.5, unit: "share of prompt groups whose rewards are all equal, 0-1", on_fail: flag}

# Stage 7: evaluation.
evaluation:
  capability_retention: {min: 0.95, unit: "tuned score / baseline score, 0-1 (the seeds' 95 %)"}
  win_rate: {min: 0.5, unit: "share of pairwise wins against the baseline, 0-1", optional: true}
"""


@dataclass
class GateResult:
    stage: str
    name: str
    status: str  # "pass" | "fail" | "flag" | "not measured"
    value: Any
    bound: str
    unit: str
    level: str = "dataset"  # or "row"
    rows_failing: int | None = None
    first_lines: list[int] | None = None
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("fail", "not measured")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        """The inverse of :meth:`as_dict` (which leaves out empty fields)."""
        return cls(**{"value": None, "bound": "", "unit": "", **data})


def decontam_entry(gates: dict[str, Any]) -> tuple[list[str], str | None] | None:
    """The gates file's ``decontamination`` entry as (benchmarks, benchmark_dir), or None."""
    spec = gates.get("decontamination")
    if spec is None:
        return None
    against = spec["against"]
    names = [a.strip() for a in against.split(",")] if isinstance(against, str) else list(against)
    return names, spec.get("benchmark_dir")


def gates_init_yaml(available: list[str], folder: str) -> str:
    """The default gates, with a commented ``decontamination`` entry naming the benchmarks found here."""
    if available:
        listed = f"[{', '.join(available)}]"
        found = f"# Benchmarks found in {folder}: {', '.join(available)}."
    else:
        listed = "[gsm8k, humaneval, mbpp, math500, truthfulqa]"
        found = (
            f"# No benchmark files found in {folder}: `alignforge benchmarks import DIR` copies them there "
            "(or set ALIGNFORGE_BENCHMARK_DIR)."
        )
    return (
        DEFAULT_GATES_YAML
        + f"""
# Decontamination is measured, never read from rows' `contaminated` flags. Uncomment to make
# `check` scan every file against these benchmarks (like `check --against ...`; a report from
# `alignforge decontaminate --report R` given as `check --decontam-report R` also measures it).
{found}
# decontamination:
#   against: {listed}
#   benchmark_dir: {folder}  # optional: the default is $ALIGNFORGE_BENCHMARK_DIR, else ~/.cache/alignforge/benchmarks
"""
    )


def validate_gates(gates: dict[str, Any], where: str = "<gates mapping>") -> dict[str, Any]:
    """Check a gates mapping as :func:`load_gates` checks a file (``where`` names it in errors)."""
    if "version" in gates and (type(gates["version"]) is not int or gates["version"] != 1):
        raise ConfigError(
            f"{where}: version {gates['version']!r} is not one this alignforge reads: write `version: 1`"
        )
    for stage, body in gates.items():
        if stage == "version":
            continue
        if stage == "decontamination":
            _check_decontam_entry(where, body)
            continue
        if stage not in STAGES:
            raise ConfigError(f"{where}: unknown stage '{stage}'; stages are {', '.join(STAGES)}")
        _check_stage(where, stage, body)
    return gates


def load_gates(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Gates from ``path`` (the defaults when None), validated: unknown stages, figures and keys are
    errors, as are duplicate keys and a ``version`` other than 1 (a file without one is version 1)."""
    text, where = (DEFAULT_GATES_YAML, "<default gates>") if path is None else (None, str(path))
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")  # type: ignore[arg-type]
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: no such gates file (create one with `alignforge gates init > {path}`)"
            ) from None
    return validate_gates(_parse(text, where), where)


def default_gates() -> dict[str, Any]:
    return load_gates(None)


def stage_for_kind(kind: str) -> str:
    return _STAGE_OF_KIND[kind]


def row_rules(gates: dict[str, Any], stage: str) -> dict[str, Any]:
    """``stage``'s row gates, with bounds on the figures' own scale (a 0-1 judge-score bound times 10)."""
    rules = (gates.get(stage) or {}).get("row_gates") or {}
    return {name: _on_figure_scale(f"{stage}.row_gates.{name}", spec) for name, spec in rules.items()}


def _on_figure_scale(where: str, spec: Any) -> Any:
    """``spec`` with its bounds on the judge's 0-10 when it states them on 0-1 (``scale: "0-1"``)."""
    if not isinstance(spec, dict) or spec.get("scale") != "0-1" or where not in _SCALED:
        return spec
    out = {k: v for k, v in spec.items() if k != "scale"}
    for key in ("min", "max", "equals"):
        if key in spec:  # scaled in decimal: 0.3 on 0-1 is 3.0, not 3.0000000000000004
            out[key] = float(Decimal(repr(spec[key])) * 10)
    return out


def _held_to(where: str, spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The bounds a figure is held to, and their text (saying what a 0-1 bound was stated as)."""
    held = _on_figure_scale(where, spec)
    text = bound_text(held)
    return held, text if held is spec else f"{text} (stated as {bound_text(spec)} on 0-1)"


def _lookup(figures: dict[str, Any], name: str) -> Any:
    value: Any = figures
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def bound_text(spec: dict[str, Any]) -> str:
    """A gate's bounds as text: ``>= 9.0``, ``<= 6.0 and >= 1``."""
    parts = []
    if "min" in spec:
        parts.append(f">= {spec['min']}")
    if "max" in spec:
        parts.append(f"<= {spec['max']}")
    if "equals" in spec:
        parts.append(f"== {spec['equals']}")
    return " and ".join(parts)


def evaluate(figures: dict[str, Any], gates: dict[str, Any], stage: str) -> list[GateResult]:
    """Hold ``figures`` against ``stage``'s gates; row gates report their failing rows.

    A figure that is not a finite number (NaN, infinity) fails its gate, optional or not."""
    body = gates.get(stage)
    if body is None:
        raise ConfigError(f"the gates file has no stage '{stage}'")
    results: list[GateResult] = []
    failures = figures.get("row_failures", {})
    for name, spec in (body.get("row_gates") or {}).items():
        if spec is False:
            continue
        info = failures.get(name, {"rows": 0, "first_lines": []})
        unit = spec.get("unit", "") if isinstance(spec, dict) else ""
        bound = _held_to(f"{stage}.row_gates.{name}", spec)[1] if isinstance(spec, dict) else "every row"
        flag = isinstance(spec, dict) and spec.get("on_fail") == "flag"
        results.append(
            GateResult(
                stage,
                name,
                ("flag" if flag else "fail") if info["rows"] else "pass",
                info["rows"],
                bound,
                unit or "rows failing",
                level="row",
                rows_failing=info["rows"],
                first_lines=info["first_lines"][:20],
            )
        )
    for name, spec in body.items():
        if name == "row_gates":
            continue
        if not isinstance(spec, dict):
            raise ConfigError(f"gate '{stage}.{name}' must be a mapping like {{min: 9.0, unit: ...}}")
        value = _lookup(figures, name)
        shown = name
        unit = spec.get("unit", "")
        held, bound = _held_to(f"{stage}.{name}", spec)
        flag = spec.get("on_fail") == "flag"
        if value is None:
            status = "pass" if spec.get("optional") else "not measured"
            note = "not measured (optional)" if spec.get("optional") else "not measured: gate fails closed"
            if name in _DECONTAM_FIGURES and not spec.get("optional"):
                note = UNMEASURED_DECONTAM
            results.append(GateResult(stage, shown, status, None, bound, unit, note=note))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a mapping" if isinstance(value, dict) else type(value).__name__
            hint = (
                f"; gate one entry with a dotted name such as '{name}.{next(iter(value))}'"
                if isinstance(value, dict) and value
                else ""
            )
            raise ConfigError(
                f"gate '{stage}.{name}' reads figure '{name}', which is {kind}, not a number{hint}"
            )
        if not math.isfinite(value):
            note = f"{value} is not a finite number: the gate fails"
            results.append(GateResult(stage, shown, "flag" if flag else "fail", None, bound, unit, note=note))
            continue
        ok = True
        if "min" in held and value < held["min"]:
            ok = False
        if "max" in held and value > held["max"]:
            ok = False
        if "equals" in held and abs(value - held["equals"]) > 1e-9:
            ok = False
        status = "pass" if ok else ("flag" if flag else "fail")
        results.append(GateResult(stage, shown, status, value, bound, unit))
    return results
