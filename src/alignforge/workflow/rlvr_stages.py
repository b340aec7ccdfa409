"""The RLVR workflow's own two stages: verified task files and the pass@k-per-cycle table.

- ``workflow.tasks`` (:class:`VerifiedTasks`): task files in (a prepared split, generated tasks, your
  own file; with 002's ``tests`` file joined by task id), a selection (``task_ids`` / ``limit``), and
  every selected task's reference solution run against its own tests through the verify engine.
  Tasks whose reference fails (or that carry none) go to ``<out>.dropped.jsonl`` with the reason;
  the verdicts are ``<out stem>.references.jsonl``. Gates: verifiability per domain (seed 000's
  targets: math 0.95, code 0.90, finance 0.85, general 0.80, or one ``min_verifiability``), and with
  ``on_fail: stop`` no reference may fail at all.
- ``workflow.pass_at_k`` (:class:`PassAtKTable`): the ``evaluate.checkpoint`` reports of the base
  model and each RAFT cycle as one table (rows = checkpoints, pass@k per k, deltas against the
  base, and pass@k per task domain from each checkpoint's verdicts), with the gates on it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from alignforge.errors import ConfigError
from alignforge.stages import Stage, StageSummary, add_drop_reason, side_paths
from alignforge.workflow.run import gate

__all__ = ["VERIFIABILITY_TARGETS", "PassAtKTable", "VerifiedTasks", "reference_completion"]

# Seed 000, "High Verifiability": the share of tasks whose reference passes its own verifier.
VERIFIABILITY_TARGETS = {"math": 0.95, "code": 0.90, "finance": 0.85, "general": 0.80}


def reference_completion(task: dict[str, Any]) -> dict[str, Any] | None:
    """The task's reference solution as a completion row for the verify engine (None: it has none).

    A code reference that defines the entry point is a whole program (``full``); otherwise it is
    the function's body (HumanEval's canonical solutions)."""
    import re

    from alignforge.verify.tasks import find_reference, task_domain

    found = find_reference(task)
    if found is None:
        return None
    text = found[1]
    style = "full"
    if task_domain(task) == "code":
        entry = task.get("entry_point")
        defines = entry and re.search(rf"^\s*(async\s+)?def\s+{re.escape(str(entry))}\s*\(", text, re.M)
        style = "full" if defines or not entry else "body"
    return {"task_id": str(task["task_id"]), "completion": text, "completion_style": style}


@dataclass
class VerifiedTasks(Stage):
    """Selected tasks whose reference solutions pass their own tests; see the module docstring."""

    sources: tuple[str, ...]
    out: Path
    tests: str | None = None
    limit: int | None = None
    task_ids: tuple[str, ...] | None = None
    on_fail: str = "drop"
    min_verifiability: float | None = None
    timeout_s: float = 10.0
    workers: int | None = field(default=None, compare=False)  # speed only

    name: ClassVar[str] = "workflow.tasks"

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        found: dict[str, str | os.PathLike[str] | None] = {
            f"source{i}": s for i, s in enumerate(self.sources)
        }
        found["tests"] = self.tests
        return found

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        paths = side_paths(self.out)
        return {
            "out": paths.out,
            "dropped": paths.dropped,
            "references": Path(self.out).with_suffix(".references.jsonl"),
        }

    def params(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "task_ids": list(self.task_ids) if self.task_ids is not None else None,
            "on_fail": self.on_fail,
            "min_verifiability": self.min_verifiability,
            "timeout_s": self.timeout_s,
        }

    def execute(self) -> StageSummary:
        from alignforge.evaluate.tasks import read_tasks
        from alignforge.io import write_jsonl
        from alignforge.verify.engine import VerdictCache, verify_completions
        from alignforge.verify.tasks import load_tasks, task_domain

        paths = self.outputs()
        summary = StageSummary(self.name, outputs={k: str(v) for k, v in paths.items()})
        rows: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        seen: set[str] = set()
        for src in self.sources:
            for row in read_tasks(src, self.tests):
                tid = str(row["task_id"])
                if tid in seen:
                    dropped.append(add_drop_reason(dict(row), "duplicate_task", {"source": str(src)}))
                    continue
                seen.add(tid)
                rows.append(row)
        rows = self._select(rows)
        refs, checked = [], []
        for row in rows:
            ref = reference_completion(row)
            if ref is None:
                dropped.append(add_drop_reason(dict(row), "no_reference", "the task carries no reference"))
            else:
                refs.append(ref)
                checked.append(row)
        Path(self.out).parent.mkdir(parents=True, exist_ok=True)
        cache = VerdictCache(
            Path(self.out).with_suffix(".verdicts.sqlite")
        )  # a killed run repeats no verdict
        task_map = load_tasks({str(r["task_id"]): r for r in checked})
        verdicts = list(
            verify_completions(task_map, refs, timeout_s=self.timeout_s, workers=self.workers, cache=cache)
        )
        write_jsonl(paths["references"], verdicts)
        kept = []
        by_domain: dict[str, list[int]] = {}
        for row, v in zip(checked, verdicts, strict=True):
            counts = by_domain.setdefault(task_domain(row), [0, 0])
            counts[1] += 1
            if v["passed"]:
                counts[0] += 1
                kept.append(row)
            else:
                bad = [t for t in v.get("tests") or [] if t.get("outcome") != "passed"][:1]
                detail = {"status": str(v["status"]), "detail": v.get("detail") or bad}
                dropped.append(add_drop_reason(dict(row), "reference_fails", detail))
        write_jsonl(paths["out"], kept)
        write_jsonl(paths["dropped"], dropped)
        for row in dropped:
            summary.drop(row["metadata"]["drop_reasons"][-1]["reason"])
        summary.written = len(kept)
        failures = sum(n - p for p, n in by_domain.values())
        verifiability = {d: p / n for d, (p, n) in sorted(by_domain.items()) if n}
        gates = []
        for domain, share in verifiability.items():
            bound = self.min_verifiability
            if bound is None:
                bound = VERIFIABILITY_TARGETS.get(domain, VERIFIABILITY_TARGETS["general"])
            gates.append(
                gate(
                    f"verifiability.{domain}",
                    f"verifiability.{domain}",
                    share,
                    ">=",
                    bound,
                    unit=f"share of {domain} tasks whose reference passes its own tests",
                )
            )
        if not checked:
            gates.append(gate("verifiability", "verifiability", None, ">=", 1.0, unit="no task to verify"))
        if self.on_fail == "stop":
            gates.append(
                gate(
                    "reference_failures",
                    "reference_failures",
                    failures,
                    "<=",
                    0,
                    unit=f"tasks whose reference fails (references.on_fail: stop; see {paths['dropped']})",
                )
            )
        summary.figures = {
            "tasks": len(rows),
            "kept": len(kept),
            "reference_failures": failures,
            "verifiability": verifiability,
            "gates": gates,
        }
        summary.notes.append(
            f"   {len(kept)}/{len(rows)} tasks kept; references failing {failures}; verifiability "
            + ", ".join(f"{d} {v:.3f}" for d, v in verifiability.items())
        )
        return summary

    def _select(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.task_ids is not None:
            by_id = {str(r["task_id"]): r for r in rows}
            missing = [t for t in self.task_ids if t not in by_id]
            if missing:
                raise ConfigError(
                    f"task_ids: {', '.join(missing[:5])} not in {', '.join(map(str, self.sources))}"
                )
            rows = [by_id[t] for t in self.task_ids]
        return rows[: self.limit] if self.limit else rows


@dataclass
class PassAtKTable(Stage):
    """pass@k per checkpoint (base, cycle_1, ...) from ``evaluate.checkpoint`` reports, with its gates.

    ``reports``: ``(label, cycle, report.json)`` in order, the base (cycle 0) first when benchmarked.
    Gates: each cycle's pass@1 >= the base's - ``max_pass1_drop``; the last checkpoint's pass@k >=
    ``min_pass_at_k[k]``. With ``tasks`` (the benchmark's task file) and ``verdicts`` (each report's
    ``verdicts.jsonl``, in the order of ``reports``), each row also has ``by_domain``: the tasks and
    pass@k of each domain (math, code, finance, general) on their own."""

    reports: tuple[tuple[str, int, str], ...]
    out: Path
    k_values: tuple[int, ...]
    max_pass1_drop: float | None = None
    min_pass_at_k: tuple[tuple[int, float], ...] = ()
    on_fail: str = "stop"
    tasks: str | None = None
    verdicts: tuple[str, ...] = ()

    name: ClassVar[str] = "workflow.pass_at_k"

    def __post_init__(self) -> None:
        if self.tasks is not None and len(self.verdicts) != len(self.reports):
            raise ValueError(
                f"verdicts: {len(self.verdicts)} files for {len(self.reports)} reports (one per report)"
            )

    def inputs(self) -> dict[str, str | os.PathLike[str] | None]:
        found: dict[str, str | os.PathLike[str] | None] = {
            f"report.{label}": path for label, _, path in self.reports
        }
        if self.tasks is not None:
            found["tasks"] = self.tasks
            for (label, _, _), path in zip(self.reports, self.verdicts, strict=True):
                found[f"verdicts.{label}"] = path
        return found

    def outputs(self) -> dict[str, str | os.PathLike[str]]:
        return {"out": self.out}

    def params(self) -> dict[str, Any]:
        return {
            "checkpoints": [[label, cycle] for label, cycle, _ in self.reports],
            "k_values": list(self.k_values),
            "max_pass1_drop": self.max_pass1_drop,
            "min_pass_at_k": [list(x) for x in self.min_pass_at_k],
            "on_fail": self.on_fail,
        }

    def execute(self) -> StageSummary:
        domain_of = _domains_by_task(self.tasks) if self.tasks is not None else None
        rows = []
        for i, (label, cycle, path) in enumerate(self.reports):
            report = json.loads(Path(path).read_text(encoding="utf-8"))
            overall = report.get("overall") or {}
            rows.append(
                {
                    "checkpoint": label,
                    "cycle": cycle,
                    "model": report.get("model"),
                    "n_tasks": report.get("n_tasks"),
                    "samples_per_problem": report.get("samples_per_task"),
                    "pass_at_k": {f"pass@{k}": overall.get(f"pass@{k}") for k in self.k_values},
                }
            )
            if domain_of is not None:
                rows[-1]["by_domain"] = self._by_domain(self.verdicts[i], domain_of)
            plus = report.get("plus")
            if isinstance(plus, dict):  # strengthened tasks: pass@k on original + new tests as well
                rows[-1]["plus"] = {
                    "n_tasks": plus.get("n_tasks_strengthened"),
                    "pass_at_k": {
                        f"pass@{k}": (plus.get("overall") or {}).get(f"pass@{k}") for k in self.k_values
                    },
                }
        base = next((r for r in rows if r["cycle"] == 0), None)
        for r in rows:
            r["delta"] = {
                key: (v - base["pass_at_k"][key])
                if base is not None and v is not None and base["pass_at_k"][key] is not None
                else None
                for key, v in r["pass_at_k"].items()
            }
        gates = self._gates(rows, base)
        table = {"k_values": list(self.k_values), "rows": rows, "gates": gates}
        Path(self.out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(self.out).with_suffix(".tmp")
        tmp.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.out)
        figures: dict[str, Any] = {"checkpoints": [r["checkpoint"] for r in rows], "gates": gates}
        for k in self.k_values:
            figures[f"pass@{k}"] = {r["checkpoint"]: r["pass_at_k"][f"pass@{k}"] for r in rows}
        if domain_of is not None:
            figures["by_domain"] = {r["checkpoint"]: r["by_domain"] for r in rows}
        if any("plus" in r for r in rows):
            figures["plus"] = {r["checkpoint"]: r["plus"]["pass_at_k"] for r in rows if "plus" in r}
        summary = StageSummary(self.name, written=len(rows), outputs={"out": str(self.out)}, figures=figures)
        for r in rows:
            summary.notes.append(f"   {r['checkpoint']:<10} {_shown_row(r['pass_at_k'])}")
            if "plus" in r:
                summary.notes.append(
                    f"     {'+ new':<8} {_shown_row(r['plus']['pass_at_k'])}  (original + plus_tests, "
                    f"{r['plus']['n_tasks']} tasks strengthened)"
                )
            parts = r.get("by_domain") or {}
            for domain, part in parts.items() if len(parts) > 1 else ():  # one domain: the row says it
                summary.notes.append(
                    f"     {domain:<8} {_shown_row(part['pass_at_k'])}  ({part['n_tasks']} tasks)"
                )
        return summary

    def _by_domain(self, verdicts: str, domain_of: dict[str, str]) -> dict[str, Any]:
        """pass@k of each domain's tasks from one checkpoint's verdicts (a task of no known domain in the
        verdicts is an error naming it: the verdicts and the task file disagree)."""
        from alignforge.io import DataError, iter_jsonl
        from alignforge.verify import pass_at_k_table

        parts: dict[str, list[dict[str, Any]]] = {}
        for line, v in iter_jsonl(verdicts):
            tid = str(v.get("task_id")) if isinstance(v, dict) else None
            if tid is None or tid not in domain_of:
                raise DataError(verdicts, line, f"field 'task_id': {tid!r} is not a task of {self.tasks}")
            parts.setdefault(domain_of[tid], []).append(v)
        out = {}
        for domain, rows in sorted(parts.items()):
            table = pass_at_k_table(rows, self.k_values)
            out[domain] = {
                "n_tasks": len(table["tasks"]),
                "pass_at_k": {f"pass@{k}": table["overall"][f"pass@{k}"] for k in self.k_values},
            }
        return out

    def _gates(self, rows: list[dict[str, Any]], base: dict[str, Any] | None) -> list[dict[str, Any]]:
        gates = []
        if self.max_pass1_drop is not None and base is not None:
            b = base["pass_at_k"].get("pass@1")
            for r in rows:
                if r["cycle"] == 0:
                    continue
                gates.append(
                    gate(
                        f"pass@1.{r['checkpoint']}",
                        "pass@1",
                        r["pass_at_k"].get("pass@1") if b is not None else None,  # no base: fails closed
                        ">=",
                        (b or 0.0) - self.max_pass1_drop,
                        unit=f"pass@1; the base's {_shown(b)} - max_pass1_drop {self.max_pass1_drop:g}",
                        on_fail=self.on_fail,
                    )
                )
        last = rows[-1] if rows else None
        for k, bound in self.min_pass_at_k:
            value = last["pass_at_k"].get(f"pass@{k}") if last is not None else None
            label = last["checkpoint"] if last is not None else "none"
            gates.append(
                gate(
                    f"pass@{k}.{label}.min",
                    f"pass@{k}",
                    value,
                    ">=",
                    bound,
                    unit=f"pass@{k} of the last checkpoint",
                    on_fail=self.on_fail,
                )
            )
        return gates


def _domains_by_task(tasks: str) -> dict[str, str]:
    """task_id -> its domain, as the verify engine reads it, for every task of a task file."""
    from alignforge.io import iter_jsonl
    from alignforge.verify.tasks import task_domain

    return {str(row["task_id"]): task_domain(row) for _, row in iter_jsonl(tasks) if isinstance(row, dict)}


def _shown_row(values: dict[str, float | None]) -> str:
    return "  ".join(f"{key} " + ("n/a" if v is None else f"{v:.3f}") for key, v in values.items())


def _shown(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"
