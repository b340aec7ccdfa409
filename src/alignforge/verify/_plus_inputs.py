"""Per task, the inputs of the new tests: mutated in rounds, kept where the reference answers them the
same way twice, scored by the mutants they kill, chosen by greedy set cover and confirmed under more hash
secrets; and the survivors classified.

:mod:`alignforge.verify.strengthen` runs these per task and checks the result with the real verifier.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alignforge.verify._contract import Contract, infer_contract
from alignforge.verify._inputs_constants import NO_CONSTANTS, Constants, harvest_constants
from alignforge.verify._inputs_mutation import (
    Input,
    defined_classes,
    extract_doc_inputs,
    extract_inputs,
    input_key,
    is_literal,
    mutate_inputs,
)
from alignforge.verify._oracle import not_run, too_large, unsent
from alignforge.verify._plus_tests import _same, passes, render_plus_tests
from alignforge.verify._stdio_inputs import StdioContract, stdio_contract
from alignforge.verify._symmetry import _drop_symmetric_relations

if TYPE_CHECKING:
    from alignforge.verify.strengthen import TaskReport

__all__ = ["Work", "oracle_task", "classify", "add_found", "select", "reseeded", "NO_LITERAL"]

NO_LITERAL = "skipped: no call with literal arguments in the tests"
_SEEDED = re.compile(r"(?<![\w.])((?:random\.)?(?:Random|seed)\(\s*)(\d+)(\s*\))")


def reseeded(tests: str, seed: int) -> str | None:
    """The tests with the seed of each seeded random generator (``random.Random(42)``, ``random.seed(42)``)
    set to ``seed``; None when they seed none. Tests that draw their inputs from a generator check a
    property of each answer, so more draws make more tests that any correct solution passes."""
    if not _SEEDED.search(tests):
        return None
    return _SEEDED.sub(lambda m: f"{m.group(1)}{seed}{m.group(3)}", tests)


_MAX_OUTPUT_REPR = 1000
# Two runs that agree can agree by chance (a set's order, a random draw): the inputs set cover chooses
# run this many times more, each run in a fresh zygote under a hash secret of its own, and one answered
# otherwise is dropped; set cover then chooses again without it, at most _RECHOOSE times.
_CONFIRM_RUNS = 5
_RECHOOSE = 5
INTERNAL_ERROR = "skipped: internal error"


@dataclass
class Work:
    """One task being strengthened: its row, reference, mutants, and what the rounds found."""

    row: dict[str, Any]
    task: dict[str, Any]
    ref: str
    entry: str
    report: TaskReport
    mutants: list[tuple[str, str]] = field(default_factory=list)
    cases: list[tuple[Input, Any]] = field(default_factory=list)
    seeds: list[Input] = field(default_factory=list)
    contract: Contract | StdioContract | None = None
    kept: list[tuple[Input, Any]] = field(default_factory=list)
    plus_src: str | None = None  # the task's own tests under another seed (:func:`reseeded`)
    llm_inputs: list[Input] = field(default_factory=list)  # proposed by an LLM (off by default)
    alts: list[str] = field(default_factory=list)  # known-correct alternatives passing the original tests
    found: dict[str, list[Input]] = field(default_factory=dict)  # missed mutant -> inputs that tell it apart
    from_differential: set[str] = field(default_factory=set)  # input keys of the cases add_found added
    base_survivors: list[str] = field(default_factory=list)  # the mutants the original tests let through
    constants: Constants = NO_CONSTANTS  # the reference's literals, steps of the mutation (oracle_task)

    def runs(self, program: str) -> str:
        """``program`` as the oracle calls it: a stdio program gets its :data:`ENTRY` function."""
        if self.task.get("style") == "stdio":
            from alignforge.verify._stdio_inputs import stdio_program

            return stdio_program(program)
        return program

    def plus(self) -> str | list[Any] | None:
        """The new tests as the task will carry them (None: none)."""
        if self.plus_src is not None:
            return self.plus_src
        return render_plus_tests(self.task, self.entry, self.cases) if self.cases else None

    def fail(self, phase: str, exc: BaseException) -> None:
        """An unexpected error in one of this task's phases: the task is skipped, saying so, with no new
        test and the original tests' figures; the other tasks go on."""
        rep = self.report
        why = f"{INTERNAL_ERROR} in {phase}: {type(exc).__name__}: {exc}"[:300]
        rep.status = why
        self.cases, self.plus_src, self.found, self.kept = [], None, {}, []
        rep.plus_tests = rep.differential_tests = 0
        rep.reseeded = None
        rep.survivors = list(self.base_survivors)
        rep.killed_after = rep.killed_before
        detail = why.removeprefix("skipped: ")
        rep.survivor_notes = {n: {"kind": "unclassified", "detail": detail} for n in rep.survivors}


def _judge(r0: dict[str, Any], r1: dict[str, Any], slow_s: float) -> str | None:
    """Why an input is dropped after the reference's two runs (None: kept)."""
    for r in (r0, r1):
        if "timeout" in r:
            return "timeout"
    for r in (r0, r1):
        if "raised" in r:
            return "raises"
        if "error" in r:
            if unsent(r):
                return "output_too_large"
            return "not_run_after_timeouts" if not_run(r) else "harness_error"
    if max(r0.get("cpu_s") or 0.0, r1.get("cpu_s") or 0.0) > slow_s:
        return "slow"
    v0, v1 = r0["ok"], r1["ok"]
    if not is_literal(v0) or not is_literal(v1):
        return "output_not_literal"
    if len(repr(v0)) > _MAX_OUTPUT_REPR:
        return "output_too_large"
    return None if _same(v0, v1) else "nondeterministic"


def select(
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


def _candidates(
    w: Work, pool: list[Input], rng: random.Random, seen: set[str], n: int, first: list[Input]
) -> list[Input]:
    """Up to ``n`` new inputs, ``first`` (an LLM's) then ones mutated from ``pool``, that meet the task's
    contract (the others are counted as dropped, with a few examples of the rule they break)."""
    rep, contract = w.report, w.contract
    assert contract is not None
    inputs: list[Input] = []
    for cand in first + mutate_inputs(pool, rng, limit=n, constants=w.constants):
        cand = contract.repair(cand)
        key = input_key(cand)
        if key in seen:
            continue
        seen.add(key)
        why = contract.violation(cand)
        rep.candidates += 1
        if why:
            rep.dropped["contract"] += 1
            if len(rep.contract_examples) < 3:
                rep.contract_examples.append(f"{input_key(cand)[:120]}: {why}")
            continue
        inputs.append(cand)
        if len(inputs) >= n:
            break
    return inputs


def _kills(
    w: Work, oracle: Any, opts: dict[str, Any], kept: list[tuple[Input, Any]], names: set[str]
) -> list[set[str]]:
    """Per kept input, which of the mutants ``names`` it kills (the mutant raises, times out or differs,
    an answer too large to send back included)."""
    kills: list[set[str]] = [set() for _ in kept]
    for name, code in w.mutants:
        if name not in names:
            continue
        res = oracle.calls(w.runs(code), w.entry, [i for i, _ in kept], timeout_s=opts["mutant_timeout_s"])[
            "runs"
        ][0]
        for j, (r, (_, expected)) in enumerate(zip(res, kept, strict=True)):
            if (
                "timeout" in r
                or "raised" in r
                or too_large(r)
                or ("ok" in r and not passes(r["ok"], expected))
            ):
                kills[j].add(name)
    return kills


def _agreed(
    w: Work, oracle: Any, opts: dict[str, Any], kept: list[tuple[Input, Any]]
) -> list[tuple[Input, Any]]:
    """The inputs on which every known-correct alternative answers as the reference does (the others
    test behaviour the task leaves open, or a quirk of the reference: dropped)."""
    for alt in w.alts:
        if not kept:
            break
        res = oracle.calls(w.runs(alt), w.entry, [i for i, _ in kept], timeout_s=opts["timeout_s"])["runs"][0]
        agree = [("ok" in r and passes(r["ok"], want)) for r, (_, want) in zip(res, kept, strict=True)]
        w.report.dropped["alternative_disagrees"] += agree.count(False)
        kept = [k for k, a in zip(kept, agree, strict=True) if a]
    return kept


def _unsteady(w: Work, oracle: Any, opts: dict[str, Any], cases: list[tuple[Input, Any]]) -> set[int]:
    """Which of ``cases`` the reference answers otherwise in :data:`_CONFIRM_RUNS` more runs (each input
    in a fresh child, each run in a fresh zygote under a hash secret of its own): another value, a raise,
    or an answer it cannot send back. A timeout, or an input not run, tells nothing and drops nothing."""
    if not cases:
        return set()
    runs = oracle.calls(
        w.runs(w.ref),
        w.entry,
        [i for i, _ in cases],
        timeout_s=opts["timeout_s"],
        runs=_CONFIRM_RUNS,
        per_input=True,
        max_timeouts=10,
        fresh=True,
    )["runs"]
    return {
        k
        for run in runs
        for k, (r, (_, want)) in enumerate(zip(run, cases, strict=True))
        if "raised" in r or unsent(r) or ("ok" in r and not _same(r["ok"], want))
    }


def _choose(
    w: Work,
    oracle: Any,
    opts: dict[str, Any],
    kept: list[tuple[Input, Any]],
    kills: list[set[str]],
    targets: set[str],
    room: int,
    extra: int,
) -> tuple[list[tuple[Input, Any]], list[tuple[Input, Any]]]:
    """:func:`select` over ``kept``, each chosen input confirmed (:func:`_unsteady`); one answered
    otherwise is dropped (``nondeterministic``) and set cover chooses again without it. Returns the chosen
    cases, in the order chosen, and ``kept`` less the dropped inputs. A reference that answers alike every
    time gets what :func:`select` chose, unchanged."""
    sizes = [len(input_key(i)) for i, _ in kept]
    live, sure, bad = list(range(len(kept))), set(), set()
    pick: list[int] = []
    for _ in range(_RECHOOSE):
        pick = [
            live[c] for c in select([kills[j] for j in live], targets, [sizes[j] for j in live], room, extra)
        ]
        new = [j for j in pick if j not in sure]
        found = {new[k] for k in _unsteady(w, oracle, opts, [kept[j] for j in new])}
        sure |= set(new) - found
        if not found:
            break
        w.report.dropped["nondeterministic"] += len(found)
        bad |= found
        live = [j for j in live if j not in found]
    return [kept[j] for j in pick if j in sure], [k for j, k in enumerate(kept) if j not in bad]


def _answered(w: Work, oracle: Any, opts: dict[str, Any], inputs: list[Input]) -> list[tuple[Input, Any]]:
    """``(input, the reference's answer)`` for the inputs the reference answers the same way twice (in
    fresh children under two hash secrets, each input under its own CPU-time limit) and every known-correct
    alternative answers alike; the others are counted as dropped, by reason."""
    runs = oracle.calls(
        w.runs(w.ref), w.entry, inputs, timeout_s=opts["timeout_s"], runs=2, per_input=True, max_timeouts=10
    )["runs"]
    new: list[tuple[Input, Any]] = []
    for inp, r0, r1 in zip(inputs, runs[0], runs[1], strict=True):
        why = _judge(r0, r1, opts["slow_s"])
        if why is None and w.constants.is_sentinel(r0["ok"]):
            why = "sentinel_answer"  # the reference's "no answer" value (10 ** 20, -sys.maxsize - 1, inf)
        if why:
            w.report.dropped[why] += 1
        else:
            new.append((inp, r0["ok"]))
    return _agreed(w, oracle, opts, new)


def oracle_task(w: Work, oracle: Any, opts: dict[str, Any], survivors: set[str]) -> None:
    """Inputs for one task, in rounds: the first mutates the observed inputs; while a mutant the original
    tests let survive is killed by none, the next round mutates the kept inputs too (evalplus's
    type-aware mutation grows its pool the same way), with more candidates each round, running only the
    mutants still alive."""
    rep = w.report
    seeds = extract_inputs(w.task, w.entry, defined_classes(w.ref))
    if (
        not seeds
    ):  # tests that check a property (find_zero): a fixed expected value could refuse a valid answer
        rep.status = "skipped: no call with literal arguments in the tests"
        return
    doc = str(w.task.get("prompt") or w.task.get("text") or "")
    known = {input_key(s) for s in seeds}
    seeds += [d for d in extract_doc_inputs(doc, w.entry) if input_key(d) not in known]
    rep.seeds = len(seeds)
    w.constants = harvest_constants(w.ref)
    w.seeds, w.contract = seeds, infer_contract(seeds, doc, marks=w.constants.scale)
    _drop_symmetric_relations(w, oracle, opts)
    if w.task.get("style") == "stdio":  # the text form's own rules: tokens read back, counts kept
        w.contract = stdio_contract(w.contract, seeds)
    rng = random.Random(f"{opts['seed']}:{w.task['task_id']}")
    seen = {input_key(s) for s in seeds}
    kills: list[set[str]] = []
    pool, alive = seeds, {n for n, _ in w.mutants}
    for round_no in range(opts["rounds"]):
        first = w.llm_inputs if round_no == 0 else []
        inputs = _candidates(w, pool, rng, seen, opts["candidates"] * (round_no + 1) + len(first), first)
        if not inputs:
            break
        rep.rounds = round_no + 1
        new = _answered(w, oracle, opts, inputs)
        kills += _kills(w, oracle, opts, new, alive)
        w.kept += new
        alive = set(survivors) - set().union(*kills)
        if not alive:
            break
        pool = seeds + rng.sample([i for i, _ in w.kept], min(len(w.kept), 50))
    rep.kept = len(w.kept)
    if not w.kept:
        rep.status = (
            "skipped: no generated input survived the reference's runs"
            if rep.candidates > rep.dropped["contract"]
            else "skipped: every generated input breaks the inferred contract"
        )
        return
    w.cases, w.kept = _choose(w, oracle, opts, w.kept, kills, survivors, opts["max_tests"], opts["extra"])
    rep.kept = len(w.kept)
    if not w.kept:
        rep.status = "skipped: no generated input survived the reference's runs"


def classify(w: Work, oracle: Any, opts: dict[str, Any]) -> None:
    """Why each surviving mutant survives (:mod:`._equivalence`), from a differential run on inputs
    mutated under no contract but the arity."""
    from alignforge.verify._equivalence import SurvivorNote, classify_survivors

    rep = w.report
    if w.contract is None or not w.seeds:
        why = rep.status.removeprefix("skipped: ") if rep.status != "strengthened" else "no inputs"
        rep.survivor_notes = {n: SurvivorNote("unclassified", why).as_dict() for n in rep.survivors}
        return
    rng = random.Random(f"{opts['seed']}:{w.task['task_id']}:differential")
    pool = w.seeds + [i for i, _ in w.kept]
    inputs = {input_key(i): i for i in pool}
    sample = rng.sample(pool, min(len(pool), 60))
    # every one-step mutation of the observed inputs first (the empty value, 0, one element, ...), then
    # random ones up to the limit: a boundary input must not depend on the draw
    steps = mutate_inputs(w.seeds, rng, limit=0, constants=w.constants)
    for cand in steps + mutate_inputs(sample, rng, limit=opts["differential"], constants=w.constants):
        for c in (cand, w.contract.repair(cand)):
            inputs.setdefault(input_key(c), c)
        if len(inputs) >= opts["differential"] + len(pool):
            break
    programs = {n: w.runs(c) for n, c in w.mutants}
    notes = classify_survivors(
        w.runs(w.ref),
        w.entry,
        {n: programs[n] for n in rep.survivors},
        list(inputs.values()),
        w.contract,
        oracle,
        timeout_s=opts["mutant_timeout_s"],
        found=w.found,
        sentinels=w.constants,
        source=(w.ref, None) if w.task.get("style") == "stdio" else None,  # stdio mutants: the whole program
    )
    rep.survivor_notes = {n: note.as_dict() for n, note in notes.items()}


def add_found(w: Work, oracle: Any, opts: dict[str, Any]) -> int:
    """Tests from the inputs the differential run found to tell a surviving mutant apart within the
    contract (``w.found``): they go through the oracle as every other input does (two runs under two hash
    secrets, the known-correct alternatives), and greedy set cover adds the fewest that kill the most of
    those mutants, up to ``max_tests`` tests in all, each confirmed under more secrets (:func:`_choose`).
    Returns how many tests were added."""
    found, w.found = w.found, {}
    room = opts["max_tests"] - len(w.cases)
    if not found or room <= 0 or w.plus_src is not None or w.report.status != "strengthened":
        return 0
    rep = w.report
    inputs = list({input_key(i): i for got in found.values() for i in got[:20]}.values())
    rep.candidates += len(inputs)
    new = _answered(w, oracle, opts, inputs)
    if not new:
        return 0
    kills = _kills(w, oracle, opts, new, set(found))
    chosen, new = _choose(w, oracle, opts, new, kills, set(found), room, 0)
    w.kept += new
    rep.kept = len(w.kept)
    w.cases += chosen
    w.from_differential |= {input_key(i) for i, _ in chosen}
    return len(chosen)
