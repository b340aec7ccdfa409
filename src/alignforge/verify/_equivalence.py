"""The mutants no test kills, classified: equivalent to the reference, or weakly tested.

A mutant that survives the strengthened tests is either equivalent to the reference (no input tells
them apart, so no test can kill it; evalplus leaves such mutants out of its rate too) or a sign that
the tests are still weak. A survivor is called **equivalent** only when both of these hold:

1. *differential*: on a large set of inputs (type-aware mutants of the observed and kept inputs, under
   no contract but the arity: negative, empty, other-case and larger values included), the mutant
   answers every input the reference answers, the same way (floats by ``isclose``);
2. *a syntactic rule* says why it cannot differ (:data:`RULES`):

   - ``parity``: a ``+``/``-`` swap whose result is only read modulo 2 (``(a - b) % 2``), or is stored to
     a running sum only ever read that way (``s = s + x`` ... ``s % 2``);
   - ``zero_test``: ``x == x + y`` against ``x == x - y`` (both say y == 0);
   - ``sign_blind_counter``: a counter stepped by one ``+= k`` / ``-= k`` statement from 0, only ever read
     where its sign cannot show (``== 0``, ``if``, ``% 2``, ``abs``);
   - ``empty_extra_passes``: an outer loop's end moved where its whole body is an inner loop that is empty
     on the passes one program makes and the other does not (``range(n - 2)`` around
     ``range(i + 1, n - 1)``), its index unread after it;
   - ``dead_store``: a change inside a side-effect-free value stored to a local that no path reads
     afterwards (by the liveness analysis of :mod:`alignforge.verify._liveness`: ``total = 0`` right
     before ``total = ...``);
   - a table's initial value where the code after it writes every cell before any is read:
     ``overwritten_table`` (``T = [0] * n`` then ``for i in range(n): T[i] = <no T>``, or a loop nest
     whose every branch stores the cell from earlier ones); ``filled_in_order`` (``dp[0]``, ``dp[1]``,
     then ``dp[i]`` from ``dp[i - 1]``, ``dp[i // 2]``, ``dp[j]`` for j below i, or downward from the
     end); ``filled_by_rows`` (a 2-D table's first rows and columns written whole, then the rest row by
     row: edit distance); ``filled_as_triangle`` (row i from row i - 1, at columns 0 to i, only column 0
     read after: Bell's triangle);
   - ``grown_table``: a fresh table one cell (or row) longer at its end (``[c] * (n + 1)`` made
     ``n + 2``), only ever indexed by indices never negative: where the reference answers, it never
     reached past its end, and the mutant never touches the extra cell;
   - ``cell_counter``: a dict's count cells, set to s at first sight and stepped by one statement, read
     only as ``== s`` ("seen once");
   - ``unread_cells``: the value stored in a dict's cell when no cell of it is ever read, only its keys by
     ``in`` (``h[ch] = 0`` marks ``ch`` seen);
   - ``scaled_counter``: ``d[k] += c`` made ``+= c + 1`` (c >= 1) for a ``defaultdict(int)`` read only by
     ``max(d, key=d.get)`` (``min``, ``sorted``): the counts keep their order and ties;
   - ``first_pass_idle``: ``range(a, E)`` made ``range(a + 1, E)`` where the body is one ``if`` whose test
     (of the index and constants) is false at a (``range(1, n)`` around ``if i % 2 == 0``);
   - ``first_pass_settles``: a best-so-far's start 0 made 1 before an arg-max of ``xs.count(x)`` over xs
     whose answer starts as ``xs[0]``: after the first pass both programs hold ``(count, xs[0])``;
   - ``top_k_prefix``: ``heapq.nlargest(k, xs)`` made ``k + 1`` where only items below k are read;
   - ``inert_body``: an ``if`` whose body only evaluates and drops values its test already read
     (``(a[j], a[j + 1] == a[j + 1], a[j])``), its test flipped or removed;
   - ``inert_passes``: ``range(a, E)`` made ``range(a + 1, E)`` for a loop whose whole body is such an
     inert ``if`` on the task's own lists: a pass changes nothing or raises, so where the reference
     answers, the mutant's passes (its own less the first) change nothing either;
   - ``boundary_point`` (not syntactic alone: :func:`boundary_inputs`): a constant compared with the one
     int parameter of a self-contained function, where it still holds the input; the two programs can
     differ only where ``n < c`` and ``n < c + 1`` answer otherwise (n = c), and are run there;
   - ``dead_conjunct``: a change in A of ``A and g == k`` where g is only ever set to k under an
     always-false test (``x - x < 0``), A of int cells, ``+``/``-`` and one comparison;
   - ``noop_guard``: ``if len(ys) > 0: xs.extend(ys)`` run without its test, ys and xs lists the function
     made: when the test fails, extending by the empty list does nothing; likewise ``if v: a += v``
     for int-valued locals (v is then 0).

   Where each rule lives: ``parity``, ``zero_test`` and ``sign_blind_counter`` in
   :mod:`alignforge.verify._sign_rules`; ``empty_extra_passes``, ``first_pass_idle`` and
   ``first_pass_settles`` in :mod:`alignforge.verify._loop_rules`; ``inert_body`` and ``inert_passes``
   in :mod:`alignforge.verify._guard_rules`; ``noop_guard`` in :mod:`alignforge.verify._noop_guard`;
   ``dead_conjunct`` in :mod:`alignforge.verify._dead_conjunct`; ``dead_store`` and ``grown_table`` in
   :mod:`alignforge.verify._store_rules`; ``cell_counter``, ``unread_cells`` and ``scaled_counter`` in
   :mod:`alignforge.verify._dict_rules`; ``top_k_prefix`` in :mod:`alignforge.verify._top_k_prefix`;
   ``overwritten_table`` in :mod:`alignforge.verify._table_rules`; ``filled_by_rows`` in
   :mod:`alignforge.verify._filled_by_rows`; ``filled_as_triangle`` in
   :mod:`alignforge.verify._filled_as_triangle`; ``filled_in_order`` in
   :mod:`alignforge.verify._filled_in_order`; ``boundary_point`` in :mod:`alignforge.verify._boundary`;
   the table machinery the table rules share in :mod:`alignforge.verify._table_cells`, the AST facts
   they all share in :mod:`alignforge.verify._ast_facts` and :mod:`alignforge.verify._ast_ints`. No rule
   proves anything of a reflective program (:func:`~alignforge.verify._ast_preconditions.reflective`).
   ``grown_table``, ``filled_as_triangle``, ``first_pass_settles``, ``dead_conjunct``, ``top_k_prefix``
   and ``noop_guard`` on ints also need a
   self-contained program (:func:`~alignforge.verify._ast_preconditions.self_contained`: nothing but the
   function's own statements runs while it does, and only the task calls it); eleven reviews broke them
   with programs that did otherwise.

An input the reference answers with one of its sentinels (``10 ** 20``, ``-sys.maxsize - 1``, ``inf``:
its value for "no answer") is outside the contract, like one the contract refuses.

Every other survivor is reported as what it is, never hidden: ``outside_contract`` (an input the task's
contract refuses tells it apart; the input and the rule it breaks are named), ``missed`` (an input within
the contract tells it apart: more candidates would find it) or ``undistinguished`` (no input of the
differential set tells it apart, but no rule proves it equivalent).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alignforge.verify._ast_preconditions import reflective
from alignforge.verify._boundary import answers, boundary_inputs, run_with_points
from alignforge.verify._contract import Contract
from alignforge.verify._dead_conjunct import dead_conjunct
from alignforge.verify._dict_rules import cell_counter, scaled_counter, unread_cells
from alignforge.verify._filled_as_triangle import filled_as_triangle
from alignforge.verify._filled_by_rows import filled_by_rows
from alignforge.verify._filled_in_order import filled_in_order
from alignforge.verify._guard_rules import inert_body, inert_passes
from alignforge.verify._inputs_constants import NO_CONSTANTS, Constants
from alignforge.verify._inputs_mutation import Input, input_key
from alignforge.verify._loop_rules import empty_extra_passes, first_pass_idle, first_pass_settles
from alignforge.verify._mutants import mutation_site
from alignforge.verify._noop_guard import noop_guard
from alignforge.verify._plus_tests import passes
from alignforge.verify._sign_rules import parity, sign_blind_counter, zero_test
from alignforge.verify._stdio_inputs import StdioContract
from alignforge.verify._store_rules import dead_store, grown_table
from alignforge.verify._table_rules import overwritten_table
from alignforge.verify._top_k_prefix import top_k_prefix

__all__ = ["SurvivorNote", "RULES", "boundary_inputs", "equivalence_rule", "classify_survivors", "KINDS"]

KINDS = ("equivalent", "outside_contract", "missed", "undistinguished", "unclassified")


@dataclass(frozen=True)
class SurvivorNote:
    """Why a mutant survives: ``kind`` (one of :data:`KINDS`), a line of detail, and for an equivalent
    one the rule (of :data:`RULES`) that proves it."""

    kind: str
    detail: str
    rule: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, **({"rule": self.rule} if self.rule else {})}


# rule name -> (the mutation operators it applies to, the check on the reference's tree and the site)
RULES: dict[str, tuple[tuple[str, ...], Callable[[ast.Module, ast.AST], bool]]] = {
    "parity": (("swap_add_sub",), parity),
    "zero_test": (("swap_add_sub",), zero_test),
    "empty_extra_passes": (("swap_add_sub", "off_by_one"), empty_extra_passes),
    "noop_guard": (("first_branch",), noop_guard),
    "first_pass_idle": (("off_by_one",), first_pass_idle),
    "first_pass_settles": (("off_by_one",), first_pass_settles),
    "top_k_prefix": (("off_by_one",), top_k_prefix),
    "inert_body": (("flip_compare", "first_branch"), inert_body),
    "inert_passes": (("off_by_one",), inert_passes),
    "dead_conjunct": (("flip_compare", "swap_add_sub"), dead_conjunct),
    "sign_blind_counter": (("swap_add_sub",), sign_blind_counter),
    "dead_store": (("off_by_one",), dead_store),
    "overwritten_table": (("off_by_one",), overwritten_table),
    "filled_in_order": (("off_by_one",), filled_in_order),
    "filled_by_rows": (("off_by_one",), filled_by_rows),
    "filled_as_triangle": (("off_by_one",), filled_as_triangle),
    "grown_table": (("off_by_one",), grown_table),
    "cell_counter": (("off_by_one", "swap_add_sub"), cell_counter),
    "unread_cells": (("off_by_one",), unread_cells),
    "scaled_counter": (("off_by_one",), scaled_counter),
}


def equivalence_rule(reference: str, entry: str | None, operator: str) -> str | None:
    """The name of the rule that proves the mutant ``operator`` makes of ``reference`` equivalent, or None."""
    found = mutation_site(reference, entry, operator)
    if found is None:
        return None
    tree, node = found
    if reflective(tree):
        return None
    return next((rule for rule, (ops, check) in RULES.items() if operator in ops and check(tree, node)), None)


def classify_survivors(
    reference: str,
    entry: str,
    survivors: dict[str, str],
    inputs: list[Input],
    contract: Contract | StdioContract,
    oracle: Any,
    *,
    timeout_s: float,
    found: dict[str, list[Input]] | None = None,
    sentinels: Constants = NO_CONSTANTS,
    source: tuple[str, str | None] | None = None,
) -> dict[str, SurvivorNote]:
    """A :class:`SurvivorNote` per surviving mutant (``name -> program``), from the reference's and each
    mutant's answers on ``inputs`` (the differential set) and :func:`equivalence_rule`. With ``found``,
    the inputs within the contract that tell a ``missed`` mutant apart are put there, by mutant name.
    ``source``: the program and entry point the mutants were made from, for the syntactic rules, when
    the oracle runs another form of it (a stdio program with its calling function appended). An input
    the reference answers with one of its ``sentinels`` (:class:`Constants`: ``10 ** 20``, ``inf``) is
    one it has no answer for, outside the contract as much as one the contract refuses."""
    ref = answers(oracle, reference, entry, inputs, timeout_s)
    answered = [(i, r["ok"]) for i, r in zip(inputs, ref, strict=True) if r is not None and "ok" in r]
    notes: dict[str, SurvivorNote] = {}
    for name, program in survivors.items():
        edge = None if source else boundary_inputs(reference, entry, name, inputs)
        if edge:
            checked, got, edge_proof = run_with_points(
                oracle, reference, program, entry, edge, answered, timeout_s
            )
        else:
            checked, edge_proof = answered, False
            got = answers(oracle, program, entry, [i for i, _ in checked], timeout_s)
        # An input the mutant was never run on (its run stopped after repeated timeouts) tells nothing.
        compared = sum(r is not None for r in got)
        differ = [
            (inp, want, r)
            for (inp, want), r in zip(checked, got, strict=True)
            if r is not None and not ("ok" in r and passes(r["ok"], want))
        ]
        unrun = f" ({len(got) - compared} not run after repeated timeouts)" if compared < len(got) else ""
        rule = None
        if differ and all(r.get("timeout") for _, _, r in differ):
            # Only the clock tells them apart (a loaded machine, a mutant a little slower): a rule's
            # proof outweighs it; without one the timeouts stand as a difference.
            rule = equivalence_rule(*(source or (reference, entry)), name)
            if rule:
                notes[name] = SurvivorNote(
                    "equivalent",
                    f"rule {rule}; same answers on {compared - len(differ)} inputs, "
                    f"{len(differ)} more timed out{unrun}",
                    rule,
                )
                continue
        if differ:
            outside = [(i, r, contract.violation(i) or _no_answer(want, sentinels)) for i, want, r in differ]
            inside = [(i, r) for i, r, why in outside if why is None]
            if inside:
                if found is not None:
                    found[name] = [i for i, _ in inside]
                inp, r = inside[0]
                notes[name] = SurvivorNote("missed", f"{_tells(inp, r)} (within the contract)")
            else:
                inp, r, why = outside[0]
                notes[name] = SurvivorNote(
                    "outside_contract", f"{_tells(inp, r)}; the contract refuses it ({why})"
                )
            continue
        rule = equivalence_rule(*(source or (reference, entry)), name)
        if rule is None and edge_proof:
            rule = "boundary_point"  # every input it could differ on, run: the same answers
        if rule:
            notes[name] = SurvivorNote(
                "equivalent", f"rule {rule}; same answers on {compared} inputs{unrun}", rule
            )
        else:
            notes[name] = SurvivorNote(
                "undistinguished",
                f"same answers on {compared} inputs{unrun}; no rule proves it equivalent",
            )
    return notes


def _no_answer(want: Any, sentinels: Constants) -> str | None:
    if sentinels.is_sentinel(want):
        return f"sentinel: the reference answers {want!r}, its value for no answer"
    return None


def _tells(inp: Input, r: dict[str, Any]) -> str:
    how = "times out on" if r.get("timeout") else "raises on" if "raised" in r else "answers otherwise on"
    return f"{input_key(inp)[:120]} tells it apart (the mutant {how} it)"
