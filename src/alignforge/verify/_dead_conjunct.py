"""The ``dead_conjunct`` equivalence rule: a change in A of ``A and g == k`` where g is never k.

g is set to k only under an always-false test (``x - x < 0``), so the test is false in both programs
and its body never runs; A, of plain cells, names, int constants, ``+``/``-`` and one order comparison,
raises in neither for the task's int or float operands (:func:`dead_conjunct`). On the plain cells of
:mod:`alignforge.verify._guard_rules`.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _input_name,
    _int_const,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    builtin_call,
    parents,
    stores_of,
)
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._guard_rules import _plain_cell
from alignforge.verify._liveness import introspects

__all__ = ["dead_conjunct"]


def dead_conjunct(tree: ast.Module, node: ast.AST) -> bool:
    """A change in A of a test ``A and g == k`` where g is never k: g is bound only by ``g = c`` (int
    constants), one of them (c != k) in the function's own body before the test's statement, and those
    with c == k only under a test that is always false, ``E - E < 0`` (or ``> 0``: 0, or NaN for an
    infinite float, compares false). So the test is false in both programs and its body never runs;
    A, made of plain cells, names, int constants, ``+``/``-`` and one order comparison, is evaluated in
    both and, for int or float operands (the task's input types), raises in neither. (MBPP 899, whose
    ``arr[i] - arr[i] < 0`` is a typo for ``arr[i] - arr[i - 1] < 0``.) Like
    :func:`~alignforge.verify._sign_rules.parity`, it only ever backs the differential run, which calls
    both programs on the task's own input types: a list of strings there (``+`` joins, ``-`` raises)
    shows the difference before the rule is asked."""
    up = parents(tree)
    test = next((a for a in _ancestors(up, node) if isinstance(a, ast.BoolOp)), None)
    if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and len(test.values) == 2):
        return False
    left, right = test.values
    if any(
        n is node for sub in ast.walk(left) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)
    ):
        return False  # an index changed reads another cell, or none (found by review: IndexError)
    if not any(n is node for n in ast.walk(left)) or not (
        isinstance(left, ast.Compare)
        and len(left.ops) == 1
        and isinstance(left.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE)
        and all(
            isinstance(n, ast.Name | ast.Load | ast.BinOp | ast.Add | ast.Sub | ast.Compare | ast.cmpop)
            or _plain_cell(n)
            or _int_const(n) is not None
            or isinstance(up.get(id(n)), ast.Subscript)  # inside a plain cell's index
            for n in ast.walk(left)
        )
    ):
        return False
    if not (
        isinstance(right, ast.Compare)
        and isinstance(right.left, ast.Name)
        and len(right.ops) == 1
        and isinstance(right.ops[0], ast.Eq)
        and (k := _int_const(right.comparators[0])) is not None
    ):
        return False
    g = right.left.id
    func, stmt, _ = _statement_of(tree, test)
    if func is None or stmt is None or introspects(tree) or not _plain_locals(func, {g}):
        return False
    if not self_contained(tree, func):
        return False
    # The values A computes with are the task's numbers: cells of parameters, parameters and range
    # indices, never rebound (found by review: a local holding an object whose __sub__ says anything);
    # an index is int arithmetic of those (found by review: arr[k] for k = slice(None) is a list).
    indices = {id(n) for sub in ast.walk(left) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)}
    for n in ast.walk(left):
        if id(n) in indices and not (
            isinstance(n, ast.Load | ast.Add | ast.Sub)
            or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add | ast.Sub))
            or _int_const(n) is not None
            or (isinstance(n, ast.Name) and (_input_name(tree, func, n.id) or _range_var(tree, func, n.id)))
        ):
            return False
        if isinstance(n, ast.Name) and id(n) not in indices:
            cell = up.get(id(n))
            base = isinstance(cell, ast.Subscript) and cell.value is n
            # a bare parameter may be a list (xs + ys < xs: found by review): cells of parameters only
            if not (
                (base and _input_name(tree, func, n.id, cells=True))
                or (not base and _range_var(tree, func, n.id))
            ):
                return False
    stores = stores_of(func, g)
    if g in binds_not_by_name(func):
        return False
    for n in stores:
        bind = up.get(id(n))
        if not (
            isinstance(bind, ast.Assign) and bind.targets == [n] and (c := _int_const(bind.value)) is not None
        ):
            return False
        if c == k and not _never_runs(up, bind):
            return False
    for n in stores:
        bind = up.get(id(n))
        if isinstance(bind, ast.stmt) and _never_runs(up, bind):
            side = up[id(bind)].test.left.left  # type: ignore[attr-defined]
            held = side.value if isinstance(side, ast.Subscript) else side
            cells = isinstance(side, ast.Subscript)
            if not (isinstance(held, ast.Name) and _input_name(tree, func, held.id, cells=cells)):
                return False  # E - E of the task's numbers only (found by review: a class's __sub__)
    top = next((a for a in [stmt, *_ancestors(up, stmt)] if a in func.body), None)
    return top is not None and any(
        isinstance(s, ast.Assign) and s.targets[0] in stores and _int_const(s.value) != k
        for s in func.body[: func.body.index(top)]
    )


def _range_var(tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Every binding of the local ``name`` is a ``for`` over the builtin ``range``: it holds ints."""
    up = parents(func)
    binds = stores_of(func, name)
    return (
        bool(binds)
        and _plain_locals(func, {name})
        and name not in binds_not_by_name(func)
        and all(
            isinstance(loop := up.get(id(n)), ast.For)
            and loop.target is n
            and builtin_call(tree, loop.iter, "range", (1, 2, 3))
            for n in binds
        )
    )


def _never_runs(up: dict[int, ast.AST], stmt: ast.stmt) -> bool:
    """``stmt`` is in the body of an ``if E - E < 0`` (or ``> 0``), E a plain cell or a name."""
    guard = up.get(id(stmt))
    if not (isinstance(guard, ast.If) and stmt in guard.body):
        return False
    t = guard.test
    return (
        isinstance(t, ast.Compare)
        and len(t.ops) == 1
        and isinstance(t.ops[0], ast.Lt | ast.Gt)
        and _int_const(t.comparators[0]) == 0
        and isinstance(t.left, ast.BinOp)
        and isinstance(t.left.op, ast.Sub)
        and ast.dump(t.left.left) == ast.dump(t.left.right)
        and (isinstance(t.left.left, ast.Name) or _plain_cell(t.left.left))
    )


def _ancestors(up: dict[int, ast.AST], node: ast.AST) -> list[ast.AST]:
    out = []
    while (node := up.get(id(node))) is not None:  # type: ignore[assignment]
        out.append(node)
    return out
