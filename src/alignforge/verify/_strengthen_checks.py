"""The real verifier's runs for test strengthening (:mod:`.strengthen`): programs against tasks
(:func:`_engine`), tasks' own tests under other seeds (:func:`_reseed`), and the check of the new tests
with the kill rate after (:func:`_finish`).
"""

from __future__ import annotations

from typing import Any

from alignforge.verify._plus_inputs import INTERNAL_ERROR, Work, reseeded
from alignforge.verify._plus_tests import plus_task
from alignforge.verify.tasks import normalize_task


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


def _failing_plus(verdict: dict[str, Any], n_base: int) -> list[int]:
    return [
        i - n_base
        for i, t in enumerate(verdict.get("tests") or [])
        if i >= n_base and t["outcome"] != "passed"
    ]


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


# More checks of the reference against its new tests, each in a fresh pool (a hash secret of its own).
_SECRETS = 5
ALL_REMOVED = "skipped: every new test failed the reference's check (nondeterministic or stateful?)"
ALL_REMOVED_BY_ALTERNATIVES = "skipped: every new test failed a known-correct alternative"


def _plus_map(works: list[Work]) -> dict[str, Any]:
    """task_id -> the task with its new tests, normalised; a task where that fails is failed alone."""
    out = {}
    for w in works:
        try:
            out[w.task["task_id"]] = normalize_task(plus_task({**w.row, "plus_tests": w.plus()}))
        except Exception as exc:
            w.fail("the check of the new tests", exc)
    return out


def _other_secrets(
    task_map: dict[str, Any], works: list[Work], pool: Any, opts: dict[str, Any]
) -> list[dict[tuple[str, str], dict[str, Any]]]:
    """The reference's verdicts on original + new tests in :data:`_SECRETS` fresh one-worker pools: every
    pool a fresh zygote, so a hash secret of its own (the pool's own workers keep theirs for the run)."""
    from concurrent.futures import ThreadPoolExecutor

    from alignforge.verify._pool import SandboxPool

    items = [(w.task["task_id"], "reference", w.ref) for w in works]
    if not items:
        return []

    def one(_: int) -> dict[tuple[str, str], dict[str, Any]]:
        with SandboxPool(1, isolation=pool.isolation, tmpfs_mb=pool.config["tmpfs_mb"]) as fresh:
            return _engine(task_map, items, fresh, timeout_s=opts["ref_timeout_s"], partial=True)

    with ThreadPoolExecutor(max(1, min(_SECRETS, pool.size))) as ex:
        return list(ex.map(one, range(_SECRETS)))


def _failing_here(verdict: dict[str, Any], n_base: int) -> list[int]:
    """The new tests a verdict under another secret says the reference fails or errs on (a timeout, or a
    run that never started, says nothing of the answers)."""
    return [
        i - n_base
        for i, t in enumerate(verdict.get("tests") or [])
        if i >= n_base and t["outcome"] in ("failed", "error")
    ]


def _finish(todo: list[Work], pool: Any, opts: dict[str, Any], n_base: dict[str, int]) -> None:
    """Check the new tests with the real verifier: the reference must pass them, in the pool and under
    :data:`_SECRETS` more hash secrets, and every known-correct alternative too (a new test one fails is
    removed), then the kill rate after is measured on original + new tests. A task whose every new test
    is removed is skipped, saying so."""
    had = {id(w) for w in todo if w.plus()}
    ref_failed: set[int] = set()
    checked: dict[str, Any] = {}  # task_id -> the new tests last checked under the other secrets
    for _ in range(3):
        made = [w for w in todo if w.plus()]
        task_map = _plus_map(made)
        made = [w for w in made if w.task["task_id"] in task_map]
        refs = _engine(
            task_map,
            [(w.task["task_id"], "reference", w.ref) for w in made]
            + [(w.task["task_id"], f"alt{i}", a) for w in made for i, a in enumerate(w.alts)],
            pool,
            timeout_s=opts["ref_timeout_s"],
            partial=True,
        )
        again = [w for w in made if checked.get(w.task["task_id"]) != w.plus()]
        others = _other_secrets(task_map, again, pool, opts)
        checked.update({w.task["task_id"]: w.plus() for w in again})
        bad = False
        for w in made:
            tid = w.task["task_id"]
            v = refs[(tid, "reference")]
            elsewhere = {
                k
                for o in others
                if (tid, "reference") in o
                for k in _failing_here(o[(tid, "reference")], n_base[tid])
            }
            w.report.reference_passes = bool(v["passed"]) and not elsewhere
            failing = [
                x for x in [v] + [refs[(tid, f"alt{i}")] for i in range(len(w.alts))] if not x["passed"]
            ]
            w.report.alternatives_failing = len(failing) - (not v["passed"])
            if not w.report.reference_passes:
                ref_failed.add(id(w))
            # a new test the reference (anywhere) or a known-correct alternative fails is removed
            if failing or elsewhere:
                bad = True
                if w.plus_src is not None:
                    w.report.removed_after_check += 1
                    w.plus_src = w.report.reseeded = None
                    continue
                drop = {k for x in failing for k in _failing_plus(x, n_base[tid])} | elsewhere
                drop = drop or set(range(len(w.cases)))
                w.report.removed_after_check += len(drop)
                w.cases = [c for k, c in enumerate(w.cases) if k not in drop]
        if not bad:
            break
    made = [w for w in todo if w.plus()]
    task_map = _plus_map(made)
    made = [w for w in made if w.task["task_id"] in task_map]
    muts = _engine(
        task_map,
        [(w.task["task_id"], n, c) for w in made for n, c in w.mutants],
        pool,
        timeout_s=opts["mutant_timeout_s"],
        partial=False,
    )
    for w in todo:
        if w.report.status.startswith(INTERNAL_ERROR):
            continue
        w.report.plus_tests = len(w.cases) if w.plus_src is None else 1
        if w.plus():
            w.report.survivors = [n for n, _ in w.mutants if muts[(w.task["task_id"], n)]["passed"]]
            w.report.killed_after = len(w.mutants) - len(w.report.survivors)
        else:  # no new test (or every one removed): the original tests' figures stand
            w.report.survivors = list(w.base_survivors)
            w.report.killed_after = w.report.killed_before
            if id(w) in had:  # every one removed: no test of the reference's is failing now
                w.report.status = ALL_REMOVED if id(w) in ref_failed else ALL_REMOVED_BY_ALTERNATIVES
                w.report.reference_passes = True
            if w.report.reference_passes is None:
                w.report.reference_passes = True  # it passes its (original) tests, checked before
