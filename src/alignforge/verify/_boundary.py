"""The ``boundary_point`` proof: a mutant that can differ from its reference only at one or two inputs,
run there.

An ``off_by_one`` mutant that moves a constant compared with the function's only (int) input answers
otherwise only where the two comparisons do (``n < 10`` against ``n < 11``: n = 10). Where nothing else
could tell the two programs apart (a self-contained, stateless function that still holds its input
when it compares), running both at those points, first, in one run with the other inputs, and getting
the same answers by ``==`` is a proof. :func:`boundary_inputs` finds the points; :func:`run_with_points`
runs them for :func:`~alignforge.verify._equivalence.classify_survivors`. Kept apart from the syntactic
rules of :mod:`alignforge.verify._equivalence`: this one needs the oracle.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from alignforge.verify._ast_facts import (
    _binds_in,
    _int_const,
    _plain_locals,
    _statement_of,
    fixed_input,
    parents,
    required_params,
)
from alignforge.verify._ast_preconditions import reflective, self_contained
from alignforge.verify._inputs_mutation import Input
from alignforge.verify._mutants import mutation_site
from alignforge.verify._oracle import not_run

__all__ = ["ORDERS", "answers", "boundary_inputs", "run_with_points"]

_MAX_TIMEOUTS = 15  # the oracle's default of 3 would leave the rest of a slow mutant's inputs unanswered


def answers(oracle: Any, program: str, entry: str, inputs: list[Input], timeout_s: float) -> list[Any]:
    """The oracle's result per input, None where the program was never run on it (the oracle stops a
    run after ``max_timeouts`` timeouts and marks the rest not run: they tell nothing either way)."""
    got = oracle.calls(program, entry, inputs, timeout_s=timeout_s, max_timeouts=_MAX_TIMEOUTS)["runs"][0]
    return [None if not_run(r) else r for r in got]


# the six comparisons of two ints, by their ast operator
ORDERS: dict[type, Callable[[int, int], bool]] = {
    ast.Lt: int.__lt__,
    ast.LtE: int.__le__,
    ast.Gt: int.__gt__,
    ast.GtE: int.__ge__,
    ast.Eq: int.__eq__,
    ast.NotEq: int.__ne__,
}


def boundary_inputs(
    reference: str, entry: str | None, operator: str, inputs: list[Input]
) -> list[Input] | None:
    """``boundary_point``: the one or two inputs on which the ``off_by_one`` mutant can differ; None where
    the rule does not apply.

    It applies to a self-contained function (:func:`self_contained`: no recursion, nobody else calls it,
    no class, no nested function) of one required parameter p and nothing else, that never rebinds p,
    whose changed constant c (or ``-c``) is one side of a single comparison (``<``, ``<=``, ``>``, ``>=``,
    ``==``, ``!=``) whose other side is p, when every input (the differential set, made from the task's
    own) passes p as an int (the task's input type, as the ``parity`` rule takes it). The two programs then
    differ only in that comparison, which compares the same int p with c or c + 1 wherever it runs: for
    any p but the one or two where the two comparisons answer otherwise, both run alike. Those inputs
    are returned: run on them, the mutant answering every one the reference answers, the same way, is a
    proof (``if n < 10: return False`` made ``n < 11``, where n = 10 gives False either way: MBPP 711)."""
    if operator != "off_by_one" or not inputs:
        return None
    found = mutation_site(reference, entry, operator)
    if found is None or reflective(found[0]):
        return None
    tree, node = found
    func, _stmt, _chain = _statement_of(tree, node)
    if func is None or func.name != entry or not self_contained(tree, func):
        return None
    a = func.args
    if a.posonlyargs or a.vararg or a.kwarg or a.kwonlyargs or a.defaults or len(a.args) != 1:
        return None
    p = a.args[0].arg
    if p not in required_params(func) or not _plain_locals(func, {p}) or not _stateless(tree):
        return None
    if not all(len(x) == 1 and not kw and type(x[0]) is int for x, kw in inputs):
        return None
    c = _int_const(node)
    if c is None:  # (off_by_one changes an int constant: for the type checker)
        return None
    up = parents(tree)
    side, parent, sign = node, up.get(id(node)), 1
    if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub):
        side, parent, sign = parent, up.get(id(parent)), -1
    test = parent
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in ORDERS):
        return None
    if not fixed_input(func, p) and not _read_first(func, test, p):
        return None
    first = test.left is side
    other = test.comparators[0] if first else test.left
    if not (first or test.comparators[0] is side) or not (isinstance(other, ast.Name) and other.id == p):
        return None
    order = ORDERS[type(test.ops[0])]
    c0, c1 = sign * c, sign * (c + 1)
    apart = [
        x
        for x in range(min(c0, c1) - 2, max(c0, c1) + 3)
        if (order(c0, x) if first else order(x, c0)) != (order(c1, x) if first else order(x, c1))
    ]
    return [((x,), {}) for x in apart]


_PURE_MODULES = frozenset({"math", "cmath"})
_OUTSIDE = frozenset({"open", "input", "exit", "quit"})  # (setattr and the like: refused as reflective)


def _stateless(tree: ast.Module) -> bool:
    """No call can leave anything behind for the next one (the task's tests call the function one after
    another in one process): the module binds no mutable value (only constants, tuples of them, imports
    and functions), imports only ``math`` and ``cmath``, and names no builtin that reaches outside the
    call (a file, standard input). Found by review: ``hist = []`` appended to below the boundary, read
    above it, a difference only a later call shows."""
    for st in tree.body:  # (self_contained allows no other assignment at the top)
        if isinstance(st, ast.Assign) and any(
            isinstance(n, ast.List | ast.Set | ast.Dict) for n in ast.walk(st.value)
        ):
            return False
    for n in ast.walk(tree):
        if isinstance(n, ast.Import) and any(a.name not in _PURE_MODULES for a in n.names):
            return False
        if isinstance(n, ast.ImportFrom) and (n.level or n.module not in _PURE_MODULES):
            return False
        if isinstance(n, ast.Name) and n.id in _OUTSIDE:
            return False
    return True


def _read_first(func: ast.FunctionDef | ast.AsyncFunctionDef, expr: ast.AST, p: str) -> bool:
    """``expr`` runs once a call, before anything can rebind ``p``: it sits in the test of an ``if``, or the
    value of a ``return``, an expression statement or an assignment, of a statement of the function's own
    body that no statement before it binds p in, and nothing in that test or value binds a name or makes
    a scope of its own (``:=``, a comprehension, a lambda)."""
    k = next((k for k, st in enumerate(func.body) if any(n is expr for n in ast.walk(st))), None)
    if k is None or any(p in _binds_in(st) for st in func.body[:k]):
        return False
    st = func.body[k]
    head = (
        st.test
        if isinstance(st, ast.If)
        else st.value
        if isinstance(st, ast.Return | ast.Expr | ast.Assign)
        else None
    )
    if head is None or not any(n is expr for n in ast.walk(head)):
        return False
    scoped = ast.NamedExpr | ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    return not any(isinstance(n, scoped) for n in ast.walk(head))


def _exactly(r: dict[str, Any] | None, want: Any) -> bool:
    """The mutant answered ``want`` itself: ``==``, as the task's tests compare, not within a float's
    tolerance (found by review: 1000000.0 against 1000000.5 passes ``isclose``)."""
    if r is None or "ok" not in r:
        return False
    try:
        return bool(r["ok"] == want)
    except Exception:  # a value whose comparison raises is no proof
        return False


def run_with_points(
    oracle: Any,
    reference: str,
    program: str,
    entry: str,
    points: list[Input],
    answered: list[tuple[Input, Any]],
    timeout_s: float,
) -> tuple[list[tuple[Input, Any]], list[Any], bool]:
    """Both programs on the ``points`` first, then on the inputs the reference ``answered``, in one run
    each: whatever a call at a point leaves behind, the calls after it show (found by review: a cycle's
    memory, held past the call). Returns the (input, answer) pairs the reference answers in that run,
    the mutant's results on them, and whether the points prove the mutant equivalent: at each, the
    reference raised (no answer) or both answered alike by ``==``; a timeout or an answer that could not
    be sent back leaves a point unknown, and no proof."""
    run = points + [i for i, _ in answered]
    ref_run = answers(oracle, reference, entry, run, timeout_s)
    got_run = answers(oracle, program, entry, run, timeout_s)
    keep = [k for k, r in enumerate(ref_run) if r is not None and "ok" in r]
    proof = all(
        r is not None and ("raised" in r or ("ok" in r and _exactly(got_run[k], r["ok"])))
        for k, r in enumerate(ref_run[: len(points)])
    )
    return [(run[k], ref_run[k]["ok"]) for k in keep], [got_run[k] for k in keep], proof
