"""Equivalence rules about an ``if`` whose test is changed or dropped where it cannot matter.

An ``if`` whose body only evaluates and drops what its test read, its test flipped or removed
(:func:`inert_body`), or a loop of such passes with its first dropped (:func:`inert_passes`). A guard
whose body does nothing when its test fails, run without it, is :mod:`alignforge.verify._noop_guard`'s;
a change in A of ``A and g == k`` where g is never k, :mod:`alignforge.verify._dead_conjunct`'s.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _CATCHERS,
    _binds_in,
    _int_const,
    _plain_locals,
    _statement_of,
    builtin_call,
    fixed_input,
    parents,
)
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._liveness import introspects, live_after

__all__ = ["inert_body", "inert_passes"]


def inert_body(tree: ast.Module, node: ast.AST) -> bool:
    """An ``if`` (no ``else``) whose body only evaluates cells its test read and drops them (``(a[j],
    a[j + 1] == a[j + 1], a[j])``, a typo for a swap): with its test flipped, or removed, nothing changes.

    The test is one comparison (no chain, so no short cut) of subscripts, names and constants, so every
    subscript in it is evaluated; the body holds only tuples, constants, ``==``/``!=`` and those same
    subscripts, so it cannot raise once the test has run (``==`` of builtin values never raises). With
    the test removed it must not have raised where the body does not: it reads exactly the body's
    subscripts and no bare name, and compares with ``==``/``!=``, or orders two cells of the same
    sequence (the task's lists are of one comparable type, as
    :func:`~alignforge.verify._sign_rules.parity` takes ints). Subscript indices are names, constants
    and ``+``/``-`` of them. (Found by review: bare names and ``+`` in the body, chains and
    comprehensions in the test, ``x < s`` across types.)"""
    up = parents(tree)
    guard = node if isinstance(node, ast.If) else up.get(id(node))
    if not (isinstance(guard, ast.If) and (guard is node or guard.test is node)):
        return False
    reads = _inert_if(guard)
    if reads is None:
        return False
    test_reads, body_reads = reads
    if guard is not node:
        return True  # flipped: the test runs as before, the body cannot raise after it
    test = guard.test
    assert isinstance(test, ast.Compare)
    sides = (test.left, test.comparators[0])
    if body_reads != test_reads or not all(isinstance(x, ast.Subscript | ast.Constant) for x in sides):
        return False
    if isinstance(test.ops[0], ast.Eq | ast.NotEq):
        return True
    left, right = sides
    return (
        isinstance(test.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE)
        and isinstance(left, ast.Subscript)
        and isinstance(right, ast.Subscript)
        and ast.dump(left.value) == ast.dump(right.value)
    )


def _inert_if(guard: ast.If) -> tuple[set[str], set[str]] | None:
    """The cells an ``if`` (no ``else``) reads in its test and in its body (their dumps), when the test is
    one comparison of names, constants and plain cells (:func:`_plain_cell`) and the body only evaluates
    cells its test read, in tuples and ``==``/``!=``, and drops them: once its test has run, the ``if``
    can neither raise nor change anything. None for anything else."""
    test = guard.test
    if guard.orelse or not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    sides = (test.left, test.comparators[0])
    if not all(isinstance(x, ast.Name | ast.Constant) or _plain_cell(x) for x in sides):
        return None
    test_reads = {ast.dump(x) for x in sides if isinstance(x, ast.Subscript)}
    body_reads: set[str] = set()
    for stmt in guard.body:
        if not isinstance(stmt, ast.Expr):
            return None
        todo = [stmt.value]
        while todo:
            n = todo.pop()
            if isinstance(n, ast.Tuple):
                todo.extend(n.elts)
            elif isinstance(n, ast.Compare) and all(isinstance(op, ast.Eq | ast.NotEq) for op in n.ops):
                todo.extend([n.left, *n.comparators])
            elif _plain_cell(n):
                body_reads.add(ast.dump(n))
            elif not isinstance(n, ast.Constant):
                return None
    return (test_reads, body_reads) if body_reads <= test_reads else None


def inert_passes(tree: ast.Module, node: ast.AST) -> bool:
    """``for j in range(a, E)`` made ``range(a + 1, E)`` (the mutant makes the same passes less the first)
    where the loop's whole body is an inert ``if`` (:func:`_inert_if`: ``if a[j] > a[j + 1]: (a[j],
    a[j + 1] == a[j + 1], a[j])``, a typo for a swap). A pass changes nothing, or raises in its test: where
    the reference answers, none of its passes raised, so none of the mutant's does, and both end in the
    same state. Test values are read without side effects: every name the passes read but ``j`` is a
    required parameter the function never rebinds and only reads (:func:`_only_read`: the task's lists;
    a ``defaultdict`` made in the function would grow a key). The function is self-contained, with no
    ``try`` or ``with`` to catch what a pass raises. ``j`` is a local not read after the loop (liveness),
    which has no ``else``."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.For) or stmt.iter not in chain:
        return False
    call = stmt.iter
    if not (builtin_call(tree, call, "range", (2,)) and isinstance(call, ast.Call) and call.args[0] is node):
        return False
    if not (isinstance(stmt.target, ast.Name) and not stmt.orelse and len(stmt.body) == 1):
        return False
    guard = stmt.body[0]
    if not isinstance(guard, ast.If) or _inert_if(guard) is None:
        return False
    j = stmt.target.id
    # Every name the passes read is the index or an input: a local could hold an object whose comparison
    # has an effect (a Decimal sets its context's flags: found by review).
    names = {n.id for n in ast.walk(guard) if isinstance(n, ast.Name)} - {j}
    if not all(fixed_input(func, name) and _only_read(tree, func, guard, name) for name in names):
        return False
    # No one catches what a pass raises, in the function or around a call of it (found by review: a
    # `try`, `contextlib.suppress`, a helper calling it with a defaultdict).
    if not self_contained(tree, func) or any(isinstance(n, _CATCHERS) for n in ast.walk(func)):
        return False
    if introspects(tree) or not _plain_locals(func, {j}) or j in _binds_in(stmt, {id(stmt.target)}):
        return False
    return live_after(func, stmt, j) is False


def _only_read(
    tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, guard: ast.If, name: str
) -> bool:
    """Every mention of ``name`` in ``func`` reads it: ``len(a)``, or a cell (``a[i]``, ``a[i][k]``) in the
    inert ``guard``, or an operand of a comparison or arithmetic, or returned. Nothing aliases it or a cell
    of it, passes it on, or replaces what it holds (found by review: ``a[:] = map(cmp_to_key(
    d.setdefault), a)`` made every comparison of its cells write to d)."""
    up = parents(tree)
    in_guard = {id(m) for m in ast.walk(guard)}
    for n in ast.walk(func):
        if not (isinstance(n, ast.Name) and n.id == name):
            continue
        parent = up.get(id(n))
        if isinstance(parent, ast.Call) and builtin_call(tree, parent, "len", (1,)) and parent.args[0] is n:
            continue
        top: ast.AST = n
        while isinstance(up.get(id(top)), ast.Subscript) and up[id(top)].value is top:  # type: ignore[attr-defined]
            top = up[id(top)]
        if top is n or not isinstance(top.ctx, ast.Load):  # type: ignore[attr-defined]
            return False
        # a cell only compared, computed with or returned: never bound to a name, iterated, passed on
        # or called a method of, where what it holds could change (found by review: `x = a[i]` then
        # `x[:] = map(cmp_to_key(d.setdefault), x)`, a list of lists)
        if not (
            id(top) in in_guard
            or isinstance(up.get(id(top)), ast.Compare | ast.BinOp | ast.UnaryOp | ast.Return)
        ):
            return False
    return True


def _plain_cell(n: ast.AST) -> bool:
    """``a[i]``, ``a[i + 1]``: a name subscripted by names, int constants and ``+``/``-`` of them."""
    if not (isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and isinstance(n.ctx, ast.Load)):
        return False
    return all(
        isinstance(m, ast.Name | ast.Load | ast.BinOp | ast.Add | ast.Sub) or _int_const(m) is not None
        for m in ast.walk(n.slice)
    )
