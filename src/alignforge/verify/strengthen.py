"""Test strengthening (evalplus's recipe): new tests per code task, chosen to kill the mutants the
original tests let through, kept apart from the originals in ``plus_tests``.

Per task: the literal inputs of its tests are mutated type by type (:mod:`._inputs_mutation`); inputs
that break the contract inferred from the observed ones are dropped (:mod:`._contract`); the reference
runs on the rest in the sandbox, each input in a fresh child under a CPU-time limit, twice, under two
different hash secrets (:mod:`._oracle`), and inputs where it raises, times out, runs slow, returns
something that is no literal, or disagrees with itself are dropped. The reference's mutants (the ones
calibration uses) run on the kept inputs; greedy set cover picks the few inputs that kill the most
mutants the original tests let survive, plus a few that kill mutants a second time. The chosen inputs
become asserts (floats compared with ``isclose``, :mod:`._plus_tests`). Then the real verifier runs the
reference and every mutant against the original tests and against original + new ones: the kill
rates before and after are measured, not predicted, and a new test the reference fails is removed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.verify._contract import infer_contract
from alignforge.verify._inputs_mutation import Input, extract_inputs, input_key, is_literal, mutate_inputs
from alignforge.verify._plus_tests import passes, plus_task, render_plus_tests
from alignforge.verify.calibration import reference_program
from alignforge.verify.tasks import entry_point_of, normalize_task

__all__ = ["strengthen_tasks", "read_task_rows", "plus_task", "TaskReport", "format_totals", "DROP_REASONS"]

DROP_REASONS = (
    "contract",
    "raises",
    "timeout",
    "slow",
    "nondeterministic",
    "output_not_literal",
    "output_too_large",
    "not_run_after_timeouts",
    "harness_error",
)
_MAX_OUTPUT_REPR = 1000


@dataclass
class TaskReport:
    """One task's outcome: mutants killed before / after, inputs tried, kept, dropped (by reason), chosen."""

    task_id: str
    status: str = "strengthened"  # or "skipped: <why>"
    seeds: int = 0
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

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "dropped": dict(self.dropped)}

    def line(self) -> str:
        if self.status != "strengthened":
            return f"{self.task_id}: {self.status}"
        drops = ", ".join(f"{r} {n}" for r, n in sorted(self.dropped.items())) or "none"
        ref = "reference passes" if self.reference_passes else "REFERENCE FAILS"
        return (
            f"{self.task_id}: mutants killed {self.killed_before}/{self.mutants} -> {self.killed_after}/"
            f"{self.mutants}; {self.plus_tests} new tests from {self.kept} kept of {self.candidates} inputs "
            f"(dropped: {drops}); {ref}"
        )


def read_task_rows(source: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(row as given, normalised task)`` per line of a JSONL path (or per row of an iterable);
    a bad row raises ``DataError`` naming the file, line and field."""
    from alignforge.io import DataError, iter_jsonl

    if isinstance(source, str | Path):
        path: Path | str = Path(source)
        rows: Iterable[tuple[int | None, Any]] = iter_jsonl(path)
    else:
        path, rows = "<tasks>", enumerate(source, 1)
    out = []
    for line_no, row in rows:
        if not isinstance(row, Mapping):
            raise DataError(path, line_no, "expected a JSON object")
        if "plus_tests" in row and not isinstance(row["plus_tests"], str | list):
            raise DataError(
                path, line_no, "field 'plus_tests': expected a check() string or a list of asserts"
            )
        try:
            out.append((dict(row), normalize_task(row)))
        except ValueError as exc:
            raise DataError(path, line_no, str(exc)) from None
    if not out:
        raise DataError(path, None, "no tasks")
    return out


@dataclass
class _Work:
    row: dict[str, Any]
    task: dict[str, Any]
    ref: str
    entry: str
    report: TaskReport
    mutants: list[tuple[str, str]] = field(default_factory=list)
    cases: list[tuple[Input, Any]] = field(default_factory=list)


def _same(a: Any, b: Any) -> bool:
    """Two runs' values agree: same types all the way down, floats by isclose."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return passes(a, b)
    return bool(a == b)


def _judge(r0: dict[str, Any], r1: dict[str, Any], slow_s: float) -> str | None:
    """Why an input is dropped after the reference's two runs (None: kept)."""
    for r in (r0, r1):
        if "timeout" in r:
            return "timeout"
    for r in (r0, r1):
        if "raised" in r:
            return "raises"
        if "error" in r:
            return "not_run_after_timeouts" if str(r["error"]).startswith("not run") else "harness_error"
    if max(r0.get("cpu_s") or 0.0, r1.get("cpu_s") or 0.0) > slow_s:
        return "slow"
    v0, v1 = r0["ok"], r1["ok"]
    if not is_literal(v0) or not is_literal(v1):
        return "output_not_literal"
    if len(repr(v0)) > _MAX_OUTPUT_REPR:
        return "output_too_large"
    return None if _same(v0, v1) else "nondeterministic"


def _select(
    kills: list[set[str]], targets: set[str], sizes: list[int], max_tests: int, extra: int
) -> list[int]:
    """Greedy set cover of ``targets`` (mutants the original tests let survive), then up to ``extra``
    inputs that kill mutants a second time (or, with none left to gain, the smallest unused ones)."""
    chosen: list[int] = []
    uncovered = set(targets)
    while uncovered and len(chosen) < max_tests:
        best = max(range(len(kills)), key=lambda j: (len(kills[j] & uncovered), -sizes[j], -j), default=None)
        if best is None or not kills[best] & uncovered:
            break
        chosen.append(best)
        uncovered -= kills[best]
    times: Counter[str] = Counter(m for j in chosen for m in kills[j])
    for _ in range(extra):
        rest = [j for j in range(len(kills)) if j not in chosen]
        if not rest or len(chosen) >= max_tests:
            break
        best = max(rest, key=lambda j: (sum(times[m] < 2 for m in kills[j]), -sizes[j], -j))
        chosen.append(best)
        times.update(kills[best])
    return chosen


def _oracle_task(w: _Work, oracle: Any, opts: dict[str, Any], survivors: set[str]) -> None:
    rep = w.report
    seeds = extract_inputs(w.task, w.entry)
    rep.seeds = len(seeds)
    if not seeds:
        rep.status = "skipped: no call with literal arguments in the tests"
        return
    contract = infer_contract(seeds)
    rng = random.Random(f"{opts['seed']}:{w.task['task_id']}")
    inputs: list[Input] = []
    seen = {input_key(s) for s in seeds}
    for cand in mutate_inputs(seeds, rng, limit=opts["candidates"]):
        cand = contract.repair(cand)
        key = input_key(cand)
        if key in seen:
            continue
        seen.add(key)
        why = contract.violation(cand)
        if why:
            rep.dropped["contract"] += 1
            if len(rep.contract_examples) < 3:
                rep.contract_examples.append(f"{input_key(cand)[:120]}: {why}")
            continue
        inputs.append(cand)
        if len(inputs) >= opts["candidates"]:
            break
    rep.candidates = len(inputs) + rep.dropped["contract"]
    if not inputs:
        rep.status = "skipped: every generated input breaks the inferred contract"
        return
    runs = oracle.calls(
        w.ref, w.entry, inputs, timeout_s=opts["timeout_s"], runs=2, per_input=True, max_timeouts=10
    )["runs"]
    kept: list[tuple[Input, Any]] = []
    for inp, r0, r1 in zip(inputs, runs[0], runs[1], strict=True):
        why = _judge(r0, r1, opts["slow_s"])
        if why:
            rep.dropped[why] += 1
        else:
            kept.append((inp, r0["ok"]))
    rep.kept = len(kept)
    if not kept:
        rep.status = "skipped: no generated input survived the reference's runs"
        return
    kills: list[set[str]] = [set() for _ in kept]
    for name, code in w.mutants:
        res = oracle.calls(code, w.entry, [i for i, _ in kept], timeout_s=opts["mutant_timeout_s"])["runs"][0]
        for j, (r, (_, expected)) in enumerate(zip(res, kept, strict=True)):
            if "timeout" in r or "raised" in r or ("ok" in r and not passes(r["ok"], expected)):
                kills[j].add(name)
    sizes = [len(input_key(i)) for i, _ in kept]
    chosen = _select(kills, survivors, sizes, opts["max_tests"], opts["extra"])
    w.cases = [kept[j] for j in chosen]


def _engine(
    task_map: dict[str, Any], items: list[tuple[str, str, str]], pool: Any, *, timeout_s: float, partial: bool
) -> dict[tuple[str, str], dict[str, Any]]:
    """Verdicts of the real verifier for ``(task_id, name, full program)``, by ``(task_id, name)``."""
    from alignforge.verify.engine import verify_completions

    rows = [
        {"task_id": t, "completion": c, "completion_style": "full", "sample_index": i}
        for i, (t, _, c) in enumerate(items)
    ]
    verdicts = verify_completions(
        task_map, rows, pool=pool, timeout_s=timeout_s, partial=partial, retry_timeouts=False
    )
    return {(t, n): v for (t, n, _), v in zip(items, verdicts, strict=True)}


def _measure(
    works: list[_Work], task_map: dict[str, Any], pool: Any, opts: dict[str, Any]
) -> tuple[dict[str, bool], dict[str, set[str]], dict[str, int]]:
    """The reference's verdict, the surviving mutants and the reference's unit count, per task."""
    refs = _engine(
        task_map,
        [(w.task["task_id"], "reference", w.ref) for w in works],
        pool,
        timeout_s=opts["ref_timeout_s"],
        partial=True,
    )
    muts = _engine(
        task_map,
        [(w.task["task_id"], n, c) for w in works for n, c in w.mutants],
        pool,
        timeout_s=opts["mutant_timeout_s"],
        partial=False,
    )
    ok = {t: bool(v["passed"]) for (t, _), v in refs.items()}
    units = {t: len(v.get("tests") or []) for (t, _), v in refs.items()}
    survivors: dict[str, set[str]] = {w.task["task_id"]: set() for w in works}
    for (t, n), v in muts.items():
        if v["passed"]:
            survivors[t].add(n)
    return ok, survivors, units


def _failing_plus(verdict: dict[str, Any], n_base: int) -> list[int]:
    return [
        i - n_base
        for i, t in enumerate(verdict.get("tests") or [])
        if i >= n_base and t["outcome"] != "passed"
    ]


def strengthen_tasks(
    tasks: Any,
    *,
    max_tests: int = 10,
    extra: int = 3,
    candidates: int = 100,
    seed: int = 0,
    workers: int | None = None,
    timeout_s: float = 1.0,
    slow_s: float = 0.2,
    mutant_timeout_s: float = 1.0,
    ref_timeout_s: float = 5.0,
) -> tuple[list[dict[str, Any]], list[TaskReport]]:
    """Strengthen every code task of ``tasks`` (a JSONL path or rows); return the rows (with
    ``plus_tests`` where new tests were made) and one :class:`TaskReport` per task, in input order.

    ``timeout_s`` is the CPU-time limit per reference call; an input on which the reference uses more
    than ``slow_s`` CPU seconds is dropped (so the new tests stay fast on slower machines).
    """
    from alignforge.verify._mutants import mutants as reference_mutants
    from alignforge.verify._oracle import OraclePool
    from alignforge.verify._pool import SandboxPool

    opts = dict(
        max_tests=max_tests,
        extra=extra,
        candidates=candidates,
        seed=seed,
        timeout_s=timeout_s,
        slow_s=slow_s,
        mutant_timeout_s=mutant_timeout_s,
        ref_timeout_s=ref_timeout_s,
    )
    pairs = read_task_rows(tasks)
    reports = [TaskReport(task["task_id"]) for _, task in pairs]
    works: list[_Work] = []
    for (row, task), rep in zip(pairs, reports, strict=True):
        ref = reference_program(task) if task["domain"] == "code" else None
        entry = (task.get("entry_point") or entry_point_of(ref, task.get("tests"))) if ref else None
        if task["domain"] != "code" or task["style"] not in ("humaneval", "mbpp"):
            rep.status = f"skipped: {task.get('style') or task['domain']} tasks are not strengthened"
        elif ref is None or not entry:
            rep.status = "skipped: no reference solution" if ref is None else "skipped: no entry point"
        else:
            works.append(_Work(row, task, ref, entry, rep, reference_mutants(ref, entry)))
    base_map = {w.task["task_id"]: w.task for w in works}
    with SandboxPool(workers) as pool, OraclePool(workers) as oracle:
        if works:
            ok, survivors, n_base = _measure(works, base_map, pool, opts)
            for w in works:
                tid = w.task["task_id"]
                w.report.mutants = len(w.mutants)
                w.report.killed_before = w.report.killed_after = len(w.mutants) - len(survivors[tid])
                if not ok[tid]:
                    w.report.status = "skipped: the reference fails its own tests"
            todo = [w for w in works if w.report.status == "strengthened"]
            with ThreadPoolExecutor(max(1, oracle.size * 2)) as ex:
                list(ex.map(lambda w: _oracle_task(w, oracle, opts, survivors[w.task["task_id"]]), todo))
            _finish(todo, pool, opts, n_base)
    made = {id(w.report): w for w in works if w.cases}
    out_rows = []
    for (row, _), rep in zip(pairs, reports, strict=True):
        done = made.get(id(rep))
        if done is not None:
            row = {**row, "plus_tests": render_plus_tests(done.task, done.entry, done.cases)}
        out_rows.append(row)
    return out_rows, reports


def _finish(todo: list[_Work], pool: Any, opts: dict[str, Any], n_base: dict[str, int]) -> None:
    """Check the new tests with the real verifier: the reference must pass them (a new test it fails is
    removed), then the kill rate after is measured on original + new tests."""
    for _ in range(3):
        made = [w for w in todo if w.cases]
        if not made:
            return
        plus_map = {
            w.task["task_id"]: normalize_task(
                plus_task({**w.row, "plus_tests": render_plus_tests(w.task, w.entry, w.cases)})
            )
            for w in made
        }
        refs = _engine(
            plus_map,
            [(w.task["task_id"], "reference", w.ref) for w in made],
            pool,
            timeout_s=opts["ref_timeout_s"],
            partial=True,
        )
        bad = False
        for w in made:
            v = refs[(w.task["task_id"], "reference")]
            w.report.reference_passes = bool(v["passed"])
            if not v["passed"]:
                bad = True
                drop = set(_failing_plus(v, n_base[w.task["task_id"]])) or set(range(len(w.cases)))
                w.report.removed_after_check += len(drop)
                w.cases = [c for k, c in enumerate(w.cases) if k not in drop]
        if not bad:
            break
    made = [w for w in todo if w.cases]
    plus_map = {
        w.task["task_id"]: normalize_task(
            plus_task({**w.row, "plus_tests": render_plus_tests(w.task, w.entry, w.cases)})
        )
        for w in made
    }
    muts = _engine(
        plus_map,
        [(w.task["task_id"], n, c) for w in made for n, c in w.mutants],
        pool,
        timeout_s=opts["mutant_timeout_s"],
        partial=False,
    )
    for w in todo:
        w.report.plus_tests = len(w.cases)
        if w.cases:
            w.report.killed_after = sum(not muts[(w.task["task_id"], n)]["passed"] for n, _ in w.mutants)
        elif w.report.reference_passes is None:
            w.report.reference_passes = True  # no new tests: it passes its (original) tests, checked before


def format_totals(reports: list[TaskReport]) -> list[str]:
    """Total lines: tasks strengthened, mutant kill rate before -> after, new tests, drops by reason."""
    done = [r for r in reports if r.status == "strengthened"]
    measured = [r for r in reports if r.mutants]
    n = sum(r.mutants for r in measured)
    before = sum(r.killed_before for r in measured)
    after = sum(r.killed_after for r in measured)
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
        f"mutant kill rate {before}/{n} ({before / n:.2%}) -> {after}/{n} ({after / n:.2%})"
        if n
        else "no mutants",
        f"new tests {sum(r.plus_tests for r in done)} (at most {max((r.plus_tests for r in done), default=0)} per task); "
        f"inputs kept {sum(r.kept for r in done)} of {sum(r.candidates for r in done)}",
        "inputs dropped: " + (", ".join(f"{k} {v}" for k, v in drops.most_common()) or "none"),
        f"references failing their strengthened tests: {len(failing)}"
        + (f" ({', '.join(failing[:10])})" if failing else ""),
    ]
    return lines
