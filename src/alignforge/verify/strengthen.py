"""Test strengthening (evalplus's recipe): new tests per code task, chosen to kill the mutants the
original tests let through, kept apart from the originals in ``plus_tests``.

Per task (:mod:`._plus_inputs`): the literal inputs of its tests and of the examples in its text are
mutated type by type (:mod:`._inputs_mutation`: boundaries, sign and case flips, repeats, sorted and
reversed lists, larger sizes, the reference's own constants); inputs that break the contract inferred
from the observed ones, relaxed where the task's text does not ask for a rule, are dropped
(:mod:`._contract`); the reference runs on the rest in the sandbox, each input in a fresh child under a
CPU-time limit, twice, under two different hash secrets (:mod:`._oracle`), and inputs where it raises,
times out, runs slow, returns something that is no literal or one of its sentinels (``10 ** 20``: no
answer), or disagrees with itself are dropped. The reference's mutants (the ones calibration
uses) run on the kept inputs; while a mutant the original tests let survive is killed by none, another
round mutates the kept inputs too. Greedy set cover picks the few inputs that kill the most mutants the
original tests let survive, plus a few that kill mutants a second time. The chosen inputs become
asserts (floats compared with ``isclose``, :mod:`._plus_tests`). Then the real verifier runs the
reference and every mutant against the original tests and against original + new ones: the kill rates
before and after are measured, not predicted, and a new test the reference fails is removed. Each
mutant still alive is classified (:mod:`._equivalence`): equivalent (same answers on a differential
input set *and* a syntactic rule), or not; the kill rate is reported raw and over the mutants not shown
equivalent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.verify._inputs_mutation import input_key
from alignforge.verify._plus_inputs import NO_LITERAL, Work, add_found, classify, oracle_task, reseeded
from alignforge.verify._plus_tests import plus_task
from alignforge.verify._stdio_inputs import ENTRY as STDIO_ENTRY
from alignforge.verify._stdio_inputs import parse_stdio_inputs
from alignforge.verify.calibration import reference_program
from alignforge.verify.tasks import entry_point_of, normalize_task

__all__ = [
    "strengthen_tasks",
    "read_task_rows",
    "plus_task",
    "TaskReport",
    "format_totals",
    "DROP_REASONS",
    "ALTERNATIVES",
]

STYLES = ("humaneval", "mbpp", "pytest", "stdio")
"""The test styles strengthened. A stdio task's inputs are read as lines of tokens (``_stdio_inputs``);
one whose inputs are not in that form is skipped, saying so."""

ALTERNATIVES = "alternative_solutions"
"""A row's field of known-correct solutions (full programs) beside its reference: an input on which one
that passes the original tests answers otherwise is dropped, and each must pass the new tests."""

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
    "alternative_disagrees",
)


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
        return {**self.__dict__, "dropped": dict(self.dropped)}

    def line(self) -> str:
        if self.status != "strengthened":
            return f"{self.task_id}: {self.status}"
        drops = ", ".join(f"{r} {n}" for r, n in sorted(self.dropped.items())) or "none"
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
        alts = row.get(ALTERNATIVES, [])
        if not isinstance(alts, list) or not all(isinstance(a, str) and a.strip() for a in alts):
            raise DataError(path, line_no, f"field {ALTERNATIVES!r}: expected a list of programs (strings)")
        try:
            out.append((dict(row), normalize_task(row)))
        except ValueError as exc:
            raise DataError(path, line_no, str(exc)) from None
    if not out:
        raise DataError(path, None, "no tasks")
    return out


def _engine(
    task_map: dict[str, Any],
    items: list[tuple[str, str, str]],
    pool: Any,
    *,
    timeout_s: float,
    partial: bool,
    retry_timeouts: bool = False,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Verdicts of the real verifier for ``(task_id, name, full program)``, by ``(task_id, name)``.
    ``retry_timeouts``: a timed-out program runs once more (for the known-correct ones: a slow reference
    near its limit on a busy machine is not a failing one)."""
    from alignforge.verify.engine import verify_completions

    if not items:
        return {}
    rows = [
        {"task_id": t, "completion": c, "completion_style": "full", "sample_index": i}
        for i, (t, _, c) in enumerate(items)
    ]
    verdicts = verify_completions(
        task_map, rows, pool=pool, timeout_s=timeout_s, partial=partial, retry_timeouts=retry_timeouts
    )
    return {(t, n): v for (t, n, _), v in zip(items, verdicts, strict=True)}


def _measure(
    works: list[Work], task_map: dict[str, Any], pool: Any, opts: dict[str, Any]
) -> tuple[dict[str, bool], dict[str, set[str]], dict[str, int]]:
    """The reference's verdict, the surviving mutants and the reference's unit count, per task."""
    refs = _engine(
        task_map,
        [(w.task["task_id"], "reference", w.ref) for w in works],
        pool,
        timeout_s=opts["ref_timeout_s"],
        partial=True,
        retry_timeouts=True,
    )
    muts = _engine(
        task_map,
        [(w.task["task_id"], n, c) for w in works for n, c in w.mutants],
        pool,
        timeout_s=opts["mutant_timeout_s"],
        partial=False,
    )
    alts = _engine(
        task_map,
        [(w.task["task_id"], f"alt{i}", a) for w in works for i, a in enumerate(w.row.get(ALTERNATIVES, []))],
        pool,
        timeout_s=opts["ref_timeout_s"],
        partial=False,
        retry_timeouts=True,
    )
    for w in works:  # only the alternatives that pass the original tests are known to be correct here
        given = w.row.get(ALTERNATIVES, [])
        w.alts = [a for i, a in enumerate(given) if alts[(w.task["task_id"], f"alt{i}")]["passed"]]
        w.report.alternatives = len(given)
        w.report.alternatives_used = len(w.alts)
    ok = {t: bool(v["passed"]) for (t, _), v in refs.items()}
    for w in works:
        v = refs[(w.task["task_id"], "reference")]
        if not v["passed"]:
            w.report.status = (
                f"skipped: the reference times out on its own tests ({opts['ref_timeout_s']:g} CPU s, twice)"
                if v["status"] == "timeout"
                else "skipped: the reference fails its own tests"
            )
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
    rounds: int = 3,
    differential: int = 1000,
    reseeds: int = 30,
    llm: Any = None,
    llm_inputs: int = 10,
) -> tuple[list[dict[str, Any]], list[TaskReport]]:
    """Strengthen every code task of ``tasks`` (a JSONL path or rows); return the rows (with
    ``plus_tests`` where new tests were made) and one :class:`TaskReport` per task, in input order.

    ``timeout_s`` is the CPU-time limit per reference call; an input on which the reference uses more
    than ``slow_s`` CPU seconds is dropped (so the new tests stay fast on slower machines). ``candidates``
    inputs are tried per round, in up to ``rounds`` rounds (a round after the first only while a mutant
    the original tests let survive is killed by no kept input). The mutants left alive are classified on
    ``differential`` further inputs (:mod:`._equivalence`). A task whose tests call the function only
    on inputs drawn from a seeded generator gets its own tests under the best of ``reseeds`` other seeds.
    With ``llm`` (an :class:`alignforge.llm.LLM`; None: off), up to ``llm_inputs`` inputs it proposes
    per task join the first round's candidates, under the same contract and the same oracle.
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
        rounds=rounds,
        differential=differential,
        reseeds=reseeds,
    )
    pairs = read_task_rows(tasks)
    reports = [TaskReport(task["task_id"]) for _, task in pairs]
    works: list[Work] = []
    for (row, task), rep in zip(pairs, reports, strict=True):
        ref = reference_program(task) if task["domain"] == "code" else None
        stdio = task["domain"] == "code" and task["style"] == "stdio"
        module = str(task.get("module") or "solution")
        entry = (task.get("entry_point") or entry_point_of(ref, task.get("tests"), module)) if ref else None
        if stdio and ref:
            entry = STDIO_ENTRY if parse_stdio_inputs(task) else None
        if task["domain"] != "code" or task["style"] not in STYLES:
            rep.status = f"skipped: {task.get('style') or task['domain']} tasks are not strengthened"
        elif ref is None or not entry:
            rep.status = (
                "skipped: no reference solution"
                if ref is None
                else "skipped: stdio inputs that are not lines of tokens"
                if stdio
                else "skipped: no entry point"
            )
        else:
            works.append(Work(row, task, ref, entry, rep, reference_mutants(ref, None if stdio else entry)))
    base_map = {w.task["task_id"]: w.task for w in works}
    with SandboxPool(workers) as pool, OraclePool(workers) as oracle:
        if works:
            ok, survivors, n_base = _measure(works, base_map, pool, opts)
            for w in works:
                tid = w.task["task_id"]
                w.report.mutants = len(w.mutants)
                w.report.killed_before = w.report.killed_after = len(w.mutants) - len(survivors[tid])
                w.report.survivors = w.base_survivors = sorted(survivors[tid])
            todo = [w for w in works if w.report.status == "strengthened"]
            if llm is not None:  # an LLM writes calls; a stdio program takes text
                _ask_llm([w for w in todo if w.entry != STDIO_ENTRY], llm, llm_inputs)
            with ThreadPoolExecutor(max(1, oracle.size * 2)) as ex:
                list(ex.map(lambda w: oracle_task(w, oracle, opts, survivors[w.task["task_id"]]), todo))
            # a pytest module re-seeded would redefine the module's own tests (same names): not re-seeded
            _reseed(
                [w for w in todo if w.report.status == NO_LITERAL and w.task["style"] != "pytest"],
                pool,
                opts,
                survivors,
            )
            _finish([w for w in todo if w.report.status == "strengthened"], pool, opts, n_base)
            left = [w for w in works if w.report.survivors and ok[w.task["task_id"]]]
            with ThreadPoolExecutor(max(1, oracle.size * 2)) as ex:
                list(ex.map(lambda w: classify(w, oracle, opts), left))
                # A survivor the differential run tells apart within the contract: its inputs become tests
                # (through the same oracle), then the real verifier measures again and the rest is reclassified.
                added = list(ex.map(lambda w: add_found(w, oracle, opts), left))
                again = [w for w, n in zip(left, added, strict=True) if n]
                _finish(again, pool, opts, n_base)
                for w in again:  # what the verifier's check kept of them
                    w.report.differential_tests = sum(input_key(i) in w.from_differential for i, _ in w.cases)
                list(ex.map(lambda w: classify(w, oracle, opts), [w for w in again if w.report.survivors]))
                for w in again:
                    w.found = {}
                    if not w.report.survivors:
                        w.report.survivor_notes = {}
    made = {id(w.report): plus for w in works if (plus := w.plus())}
    out_rows = []
    for (row, _), rep in zip(pairs, reports, strict=True):
        if id(rep) in made:
            row = {**row, "plus_tests": made[id(rep)]}
        out_rows.append(row)
    return out_rows, reports


def _ask_llm(todo: list[Work], llm: Any, n: int) -> None:
    from alignforge.verify._llm_inputs import propose_inputs

    proposed = propose_inputs(llm, todo, n=n)
    for w in todo:
        got = proposed.get(w.task["task_id"], [])
        if isinstance(got, str):
            w.report.llm_error = got
        else:
            w.llm_inputs = got
            w.report.llm_inputs = len(got)


def _test_key(row: dict[str, Any]) -> str:
    return next((k for k in ("tests", "test", "test_list") if k in row), "tests")


def _reseed(works: list[Work], pool: Any, opts: dict[str, Any], survivors: dict[str, set[str]]) -> None:
    """Tasks whose tests draw their inputs from a seeded generator (no literal call to mutate): their own
    tests under the seed (1..``reseeds``) that kills the most surviving mutants, if one kills any."""
    variants: dict[str, Any] = {}
    items: list[tuple[str, str, str]] = []
    for w in works:
        tid, tests = w.task["task_id"], w.row.get(_test_key(w.row))
        if not survivors[tid] or not isinstance(tests, str) or reseeded(tests, 0) is None:
            continue
        programs = [("reference", w.ref)] + [(n, c) for n, c in w.mutants if n in survivors[tid]]
        for s in range(1, opts["reseeds"] + 1):
            key = f"{tid}#seed{s}"
            variants[key] = normalize_task({**w.row, "task_id": key, _test_key(w.row): reseeded(tests, s)})
            items += [(key, n, c) for n, c in programs]
    if not items:
        return
    verdicts = _engine(variants, items, pool, timeout_s=opts["ref_timeout_s"], partial=False)
    for w in works:
        tid = w.task["task_id"]
        scores = [
            (sum(not verdicts[(f"{tid}#seed{s}", n)]["passed"] for n in survivors[tid]), -s)
            for s in range(1, opts["reseeds"] + 1)
            if (f"{tid}#seed{s}", "reference") in verdicts
            and verdicts[(f"{tid}#seed{s}", "reference")]["passed"]
        ]
        if scores and max(scores)[0] > 0:
            seed = -max(scores)[1]
            w.plus_src = reseeded(w.row[_test_key(w.row)], seed)
            w.report.status = "strengthened"
            w.report.reseeded = seed


def _finish(todo: list[Work], pool: Any, opts: dict[str, Any], n_base: dict[str, int]) -> None:
    """Check the new tests with the real verifier: the reference must pass them (a new test it fails is
    removed), then the kill rate after is measured on original + new tests."""
    for _ in range(3):
        made = [w for w in todo if w.plus()]
        refs = _engine(
            {w.task["task_id"]: normalize_task(plus_task({**w.row, "plus_tests": w.plus()})) for w in made},
            [(w.task["task_id"], "reference", w.ref) for w in made]
            + [(w.task["task_id"], f"alt{i}", a) for w in made for i, a in enumerate(w.alts)],
            pool,
            timeout_s=opts["ref_timeout_s"],
            partial=True,
        )
        bad = False
        for w in made:
            tid = w.task["task_id"]
            v = refs[(tid, "reference")]
            w.report.reference_passes = bool(v["passed"])
            failing = [
                x for x in [v] + [refs[(tid, f"alt{i}")] for i in range(len(w.alts))] if not x["passed"]
            ]
            w.report.alternatives_failing = len(failing) - (not v["passed"])
            if failing:  # a new test the reference or a known-correct alternative fails is removed
                bad = True
                if w.plus_src is not None:
                    w.report.removed_after_check += 1
                    w.plus_src = w.report.reseeded = None
                    continue
                drop = {k for x in failing for k in _failing_plus(x, n_base[tid])} or set(range(len(w.cases)))
                w.report.removed_after_check += len(drop)
                w.cases = [c for k, c in enumerate(w.cases) if k not in drop]
        if not bad:
            break
    made = [w for w in todo if w.plus()]
    muts = _engine(
        {w.task["task_id"]: normalize_task(plus_task({**w.row, "plus_tests": w.plus()})) for w in made},
        [(w.task["task_id"], n, c) for w in made for n, c in w.mutants],
        pool,
        timeout_s=opts["mutant_timeout_s"],
        partial=False,
    )
    for w in todo:
        w.report.plus_tests = len(w.cases) if w.plus_src is None else 1
        if w.plus():
            w.report.survivors = [n for n, _ in w.mutants if muts[(w.task["task_id"], n)]["passed"]]
            w.report.killed_after = len(w.mutants) - len(w.report.survivors)
        else:  # no new test (or every one removed): the original tests' figures stand
            w.report.survivors = list(w.base_survivors)
            w.report.killed_after = w.report.killed_before
            if w.report.reference_passes is None:
                w.report.reference_passes = True  # it passes its (original) tests, checked before


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
        "inputs dropped: " + (", ".join(f"{k} {v}" for k, v in drops.most_common()) or "none"),
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
