"""The report of test strengthening: :class:`TaskReport` (one task's outcome and its line) and
:func:`format_totals` (the total lines over all tasks). Both are re-exported by :mod:`.strengthen`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TaskReport", "format_totals"]


@dataclass
class TaskReport:
    """One task's outcome: mutants killed before / after, inputs tried, kept, dropped (by reason), chosen."""

    task_id: str
    status: str = "strengthened"  # or "skipped: <why>"
    seeds: int = 0
    rounds: int = 1
    candidates: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    contract_examples: list[str] = field(default_factory=list)
    mutants: int = 0
    killed_before: int = 0
    killed_after: int = 0
    plus_tests: int = 0
    reference_passes: bool | None = None
    removed_after_check: int = 0
    alternatives: int = 0  # known-correct solutions given ...
    alternatives_used: int = 0  # ... of which pass the original tests (the ones used as second oracles)
    alternatives_failing: int = 0  # ... of those, failing original + new tests
    llm_inputs: int = 0  # inputs an LLM proposed (before the contract and the oracle)
    llm_error: str | None = None
    reseeded: int | None = None  # new tests = the task's own tests under this seed (no literal calls)
    survivors: list[str] = field(default_factory=list)  # mutants that pass original + new tests
    survivor_notes: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {kind, detail}
    differential_tests: int = 0  # new tests from inputs the survivors' differential run found (in plus_tests)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "dropped": {k: n for k, n in self.dropped.items() if n}}

    def line(self) -> str:
        if self.status != "strengthened":
            return f"{self.task_id}: {self.status}"
        drops = ", ".join(f"{r} {n}" for r, n in sorted(self.dropped.items()) if n) or "none"
        ref = "reference passes" if self.reference_passes else "REFERENCE FAILS"
        alive = "".join(
            f"; survives: {m} ({(self.survivor_notes.get(m) or {'kind': 'unclassified'})['kind']})"
            for m in self.survivors
        )
        return (
            f"{self.task_id}: mutants killed {self.killed_before}/{self.mutants} -> {self.killed_after}/"
            f"{self.mutants}; {self.plus_tests} new tests from {self.kept} kept of {self.candidates} inputs "
            f"(dropped: {drops})"
            + (
                f"; {self.differential_tests} of the tests from the differential run"
                if self.differential_tests
                else ""
            )
            + f"; {ref}{alive}"
            + (f"; new tests = its own tests under seed {self.reseeded}" if self.reseeded is not None else "")
        )


def format_totals(reports: list[TaskReport]) -> list[str]:
    """Total lines: tasks strengthened, mutant kill rate before -> after (raw, and over the mutants not
    shown equivalent), why the survivors survive, new tests, drops by reason."""
    done = [r for r in reports if r.status == "strengthened"]
    measured = [r for r in reports if r.mutants]
    n = sum(r.mutants for r in measured)
    before = sum(r.killed_before for r in measured)
    after = sum(r.killed_after for r in measured)
    kinds: Counter[str] = Counter(
        (r.survivor_notes.get(m) or {"kind": "unclassified"})["kind"] for r in measured for m in r.survivors
    )
    eq = kinds["equivalent"]
    drops: Counter[str] = Counter()
    for r in reports:
        drops.update(r.dropped)
    failing = [r.task_id for r in done if r.reference_passes is False]
    skipped = Counter(r.status for r in reports if r.status != "strengthened")
    lines = [
        f"tasks {len(reports)}: strengthened {len(done)}, skipped {len(reports) - len(done)}"
        + (
            " (" + "; ".join(f"{s.removeprefix('skipped: ')} {k}" for s, k in skipped.most_common()) + ")"
            if skipped
            else ""
        ),
        f"mutant kill rate (raw, all mutants) {before}/{n} ({before / n:.2%}) -> {after}/{n} ({after / n:.2%})"
        if n
        else "no mutants",
    ]
    if n:
        lines.append(
            f"mutant kill rate over non-equivalent mutants (less {eq} shown equivalent) "
            f"{before}/{n - eq} ({before / max(1, n - eq):.2%}) -> {after}/{n - eq} ({after / max(1, n - eq):.2%})"
        )
        lines.append(
            f"surviving mutants {n - after}: "
            + (", ".join(f"{k} {kinds[k]}" for k in sorted(kinds, key=lambda k: -kinds[k])) or "none")
        )
        rules: Counter[str] = Counter(
            note.get("rule") or "?"
            for r in measured
            for m in r.survivors
            if (note := r.survivor_notes.get(m) or {}).get("kind") == "equivalent"
        )
        if rules:
            lines.append("equivalent by rule: " + ", ".join(f"{k} {v}" for k, v in rules.most_common()))
    lines += [
        f"new tests {sum(r.plus_tests for r in done)} (at most {max((r.plus_tests for r in done), default=0)} per task"
        + (
            f"; {diff} from inputs the differential run found"
            if (diff := sum(r.differential_tests for r in done))
            else ""
        )
        + "); "
        f"inputs kept {sum(r.kept for r in done)} of {sum(r.candidates for r in done)}",
        "inputs dropped: " + (", ".join(f"{k} {v}" for k, v in drops.most_common() if v) or "none"),
        f"references failing their strengthened tests: {len(failing)}"
        + (f" ({', '.join(failing[:10])})" if failing else ""),
    ]
    alt_n = sum(r.alternatives for r in reports)
    if alt_n:
        alt_used = sum(r.alternatives_used for r in reports)
        alt_bad = [r.task_id for r in done if r.alternatives_failing]
        lines.append(
            f"known-correct alternatives: {alt_n} given, {alt_used} pass the original tests; "
            f"of those, failing their strengthened tests: {sum(r.alternatives_failing for r in done)}"
            + (f" ({', '.join(map(str, alt_bad[:10]))})" if alt_bad else "")
        )
    return lines
