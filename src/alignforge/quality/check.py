"""``check``: read a dataset once, compute its figures, hold them against the gates."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError
from alignforge.io import JsonlWriter, ReadStats, detect_file_kind, iter_jsonl, read_rows
from alignforge.quality._common import Accumulator
from alignforge.quality._dpo import DPOAccumulator
from alignforge.quality._kinds import GRPOAccumulator, KTOAccumulator, RLVRAccumulator, SFTAccumulator
from alignforge.quality.gates import GateResult, evaluate, load_gates, row_rules, stage_for_kind
from alignforge.records import Kind, detect_shape

__all__ = ["CheckResult", "check_file", "compute_figures", "keep_passing", "make_accumulator"]


@dataclass
class CheckResult:
    path: str
    kind: str
    shape: str
    stage: str
    figures: dict[str, Any]
    gates: list[GateResult] = field(default_factory=list)
    read: ReadStats = field(default_factory=ReadStats)

    @property
    def passed(self) -> bool:
        return not any(g.failed for g in self.gates)

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if g.failed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "shape": self.shape,
            "stage": self.stage,
            "passed": self.passed,
            "figures": self.figures,
            "gates": [g.as_dict() for g in self.gates],
            "invalid_rows": {"skipped": self.read.skipped, "reasons": self.read.reasons, "side_file": self.read.side_file},
        }


def make_accumulator(kind: Kind, rules: dict[str, Any], *, tokenizer: Any = None, verdicts: Any = None) -> Accumulator:
    if kind is Kind.DPO:
        return DPOAccumulator(rules)
    if kind is Kind.SFT:
        return SFTAccumulator(rules, tokenizer=tokenizer)
    if kind is Kind.KTO:
        return KTOAccumulator(rules)
    if kind is Kind.GRPO:
        return GRPOAccumulator(rules)
    if kind is Kind.RLVR:
        return RLVRAccumulator(rules, verdicts=verdicts)
    raise AlignforgeError(f"check does not measure {kind.value} files (it measures sft, dpo, kto, grpo and rlvr)")


def _first_shape(path: Path, kind: Kind) -> str:
    if str(path).endswith(".parquet"):
        return "standard"
    for _, obj in iter_jsonl(path):
        return detect_shape(obj).value if isinstance(obj, dict) else "standard"
    return "standard"


def _load_verdicts(path: str | os.PathLike[str]) -> dict[str, str]:
    best: dict[str, str] = {}
    for _, row in read_rows(path, Kind.VERDICT):
        tid = row["task_id"]
        if best.get(tid) != "passed":
            best[tid] = row["status"]
    return best


def _apply_decontam_report(figures: dict[str, Any], path: str | os.PathLike[str]) -> None:
    try:
        report = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise AlignforgeError(f"{path}: no such decontamination report") from None
    except orjson.JSONDecodeError as exc:
        raise AlignforgeError(f"{path}: not valid JSON ({exc})") from None
    if "decontamination_score" not in report:
        raise AlignforgeError(f"{path}: field 'decontamination_score' is missing (write it with `alignforge decontaminate --report`)")
    figures["decontamination"] = report["decontamination_score"]
    per = report.get("per_benchmark") or {}
    figures["per_benchmark"] = per
    shares = [b.get("share", 0.0) for b in per.values()]
    figures["max_benchmark_share"] = report.get("max_benchmark_share", max(shares) if shares else None)
    figures["decontam_report"] = str(path)


def compute_figures(
    path: str | os.PathLike[str],
    *,
    kind: Kind | str | None = None,
    rules: dict[str, Any] | None = None,
    on_error: str = "raise",
    side_file: str | os.PathLike[str] | None = None,
    tokenizer: Any = None,
    verdicts: dict[str, str] | None = None,
    stats: ReadStats | None = None,
) -> tuple[Kind, dict[str, Any], Accumulator]:
    """One streaming pass over ``path``: (kind, figures, the accumulator)."""
    path = Path(path)
    k = Kind(kind) if kind else detect_file_kind(path)
    acc = make_accumulator(k, rules or {}, tokenizer=tokenizer, verdicts=verdicts)
    for line, row in read_rows(path, k, on_error=on_error, side_file=side_file, stats=stats):  # type: ignore[arg-type]
        acc.add(line, row)
    figures = acc.finish()
    if stats is not None:
        figures["invalid_rows"] = stats.skipped
    return k, figures, acc


def check_file(
    path: str | os.PathLike[str],
    *,
    kind: Kind | str | None = None,
    gates: dict[str, Any] | str | os.PathLike[str] | None = None,
    stage: str | None = None,
    on_error: str = "raise",
    side_file: str | os.PathLike[str] | None = None,
    decontam_report: str | os.PathLike[str] | None = None,
    verdicts: str | os.PathLike[str] | None = None,
    tokenizer: Any = None,
) -> CheckResult:
    """Measure ``path`` and evaluate its stage's gates (the defaults of ``gates init`` when None)."""
    path = Path(path)
    gate_cfg = gates if isinstance(gates, dict) else load_gates(gates)
    k = Kind(kind) if kind else detect_file_kind(path)
    stage = stage or stage_for_kind(k.value)
    stats = ReadStats()
    if on_error == "skip" and side_file is None:
        side_file = path.with_name(path.name + ".errors.jsonl")
    verdict_map = _load_verdicts(verdicts) if verdicts else None
    _, figures, _ = compute_figures(
        path, kind=k, rules=row_rules(gate_cfg, stage), on_error=on_error, side_file=side_file,
        tokenizer=tokenizer, verdicts=verdict_map, stats=stats,
    )
    if decontam_report:
        _apply_decontam_report(figures, decontam_report)
    results = evaluate(figures, gate_cfg, stage)
    return CheckResult(str(path), k.value, _first_shape(path, k), stage, figures, results, stats)


def keep_passing(
    path: str | os.PathLike[str], out: str | os.PathLike[str], *, kind: Kind | str, rules: dict[str, Any],
    excluded_lines: set[int] | None = None,
) -> tuple[int, int]:
    """Write the rows of ``path`` that pass every row-level gate to ``out``: (kept, dropped).

    A second streaming pass: a fresh accumulator sees each row in turn, so "first occurrence
    wins" for duplicates; pair-level duplicates and conflicts come from the first pass.
    """
    k = Kind(kind)
    acc = make_accumulator(k, rules)
    excluded = excluded_lines or set()
    kept = dropped = 0
    tmp = Path(out).with_name(f".{Path(out).name}.tmp{os.getpid()}")
    with JsonlWriter(tmp, append=False) as writer:
        for line, row in read_rows(path, k, on_error="skip"):
            before = sum(acc.failures.counts.values())
            acc.add(line, row)
            if sum(acc.failures.counts.values()) == before and line not in excluded:
                writer.write(row)
                kept += 1
            else:
                dropped += 1
    os.replace(tmp, out)
    return kept, dropped
