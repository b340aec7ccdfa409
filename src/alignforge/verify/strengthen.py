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

The real verifier's runs (:func:`_engine`), the re-seeded tests and the check of the new tests are in
:mod:`._strengthen_checks`; :class:`TaskReport` and :func:`format_totals` are in
:mod:`._strengthen_report` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alignforge.verify._inputs_mutation import input_key
from alignforge.verify._plus_inputs import INTERNAL_ERROR, NO_LITERAL, Work, add_found, classify, oracle_task
from alignforge.verify._plus_tests import plus_task
from alignforge.verify._stdio_inputs import ENTRY as STDIO_ENTRY
from alignforge.verify._stdio_inputs import parse_stdio_inputs
from alignforge.verify._strengthen_checks import _engine, _finish, _reseed
from alignforge.verify._strengthen_report import TaskReport as TaskReport
from alignforge.verify._strengthen_report import format_totals as format_totals
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


def read_task_rows(source: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(row as given, normalised task)`` per line of a JSONL path (or per row of an iterable);
    a bad row, or a task_id given twice, raises ``DataError`` naming the file, line and field."""
    from alignforge.io import DataError, iter_jsonl

    if isinstance(source, str | Path):
        path: Path | str = Path(source)
        rows: Iterable[tuple[int | None, Any]] = iter_jsonl(path)
    else:
        path, rows = "<tasks>", enumerate(source, 1)
    out = []
    lines: dict[str, int | None] = {}  # task_id -> the line it was first given on
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
            task = normalize_task(row)
        except ValueError as exc:
            raise DataError(path, line_no, str(exc)) from None
        if task["task_id"] in lines:  # one task's mutants would be measured against the other's tests
            raise DataError(path, line_no, f"field 'task_id': duplicate of line {lines[task['task_id']]}")
        lines[task["task_id"]] = line_no
        out.append((dict(row), task))
    if not out:
        raise DataError(path, None, "no tasks")
    return out


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
                else f"skipped: the reference fails its own tests ({_why(v)})"
            )
    units = {t: len(v.get("tests") or []) for (t, _), v in refs.items()}
    survivors: dict[str, set[str]] = {w.task["task_id"]: set() for w in works}
    for (t, n), v in muts.items():
        if v["passed"]:
            survivors[t].add(n)
    return ok, survivors, units


def _why(verdict: dict[str, Any]) -> str:
    """A failing verdict in a few words: its status and detail, or its first test that did not pass."""
    if verdict.get("detail"):
        return f"{verdict['status']}: {verdict['detail']}"[:200]
    test = next((t for t in verdict.get("tests") or [] if t["outcome"] != "passed"), None)
    if test is None:
        return str(verdict["status"])
    detail = f": {test['detail']}" if test.get("detail") else ""
    return f"{test['name']} {test['outcome']}{detail}"[:200]


def _guarded(phase: str, step: Any) -> Any:
    """``step(w)`` for one task; an unexpected error in it fails that task alone (:meth:`Work.fail`)."""

    def run(w: Work) -> Any:
        try:
            return step(w)
        except Exception as exc:
            w.fail(phase, exc)
            return 0

    return run


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
                inputs = _guarded(
                    "the oracle's runs", lambda w: oracle_task(w, oracle, opts, survivors[w.task["task_id"]])
                )
                list(ex.map(inputs, todo))
            # a pytest module re-seeded would redefine the module's own tests (same names): not re-seeded
            _reseed(
                [w for w in todo if w.report.status == NO_LITERAL and w.task["style"] != "pytest"],
                pool,
                opts,
                survivors,
            )
            _finish([w for w in todo if w.report.status == "strengthened"], pool, opts, n_base)
            left = [
                w
                for w in works
                if w.report.survivors
                and ok[w.task["task_id"]]
                and not w.report.status.startswith(INTERNAL_ERROR)
            ]
            survivors_of = _guarded("the survivors' classification", lambda w: classify(w, oracle, opts))
            found_by = _guarded("the differential run's tests", lambda w: add_found(w, oracle, opts))
            with ThreadPoolExecutor(max(1, oracle.size * 2)) as ex:
                list(ex.map(survivors_of, left))
                # A survivor the differential run tells apart within the contract: its inputs become tests
                # (through the same oracle), then the real verifier measures again and the rest is reclassified.
                added = list(ex.map(found_by, left))
                again = [w for w, n in zip(left, added, strict=True) if n]
                _finish(again, pool, opts, n_base)
                for w in again:  # what the verifier's check kept of them
                    w.report.differential_tests = sum(input_key(i) in w.from_differential for i, _ in w.cases)
                list(ex.map(survivors_of, [w for w in again if w.report.survivors]))
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
