"""Equivalence rules about a loop's passes: a pass one program makes and the other does not, that
changes nothing.

An outer loop's end moved where each pass gained or lost runs an empty inner loop
(:func:`empty_extra_passes`); a first pass dropped whose one ``if`` is false there
(:func:`first_pass_idle`); an arg-max's start moved where both programs agree after the first pass
(:func:`first_pass_settles`). The loop of inert passes is
:func:`~alignforge.verify._guard_rules.inert_passes`'.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _binds_in,
    _int_const,
    _plain_locals,
    _statement_of,
    builtin_call,
    parents,
)
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._boundary import ORDERS
from alignforge.verify._liveness import introspects, live_after

__all__ = ["empty_extra_passes", "first_pass_idle", "first_pass_settles"]


def empty_extra_passes(tree: ast.Module, node: ast.AST) -> bool:
    """The end of an outer loop moved (``range(a, E - 2)`` -> ``range(a, E + 2)``, or ``E - 3``), where the
    outer loop's whole body is an inner ``for j in range(i + d, E + k3)``: on every pass one program makes
    and the other does not, i >= E + min(k, k'), the inner range is empty (i + d >= E + k3), so the pass
    does nothing. The outer index is not read after the loop (liveness); E and i are locals only the
    function's own statements rebind, and neither is rebound in the loop."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.For) or node not in chain or stmt.iter not in chain:
        return False
    outer = stmt
    end = outer.iter.args[-1] if isinstance(outer.iter, ast.Call) and outer.iter.args else None
    if end is None or not (end is node or (isinstance(end, ast.BinOp) and end.right is node)):
        return False
    bound = _name_plus(end)
    if bound is None or not _plain_range(tree, outer.iter, (1, 2)):
        return False
    e, k_ref = bound
    if isinstance(node, ast.BinOp):
        k_mut = -k_ref
    else:  # the constant c made c + 1: E - c moves down one, E + c up one
        k_mut = k_ref - 1 if isinstance(end, ast.BinOp) and isinstance(end.op, ast.Sub) else k_ref + 1
    if not (isinstance(outer.target, ast.Name) and not outer.orelse and len(outer.body) == 1):
        return False
    i = outer.target.id
    inner = outer.body[0]
    if not (isinstance(inner, ast.For) and not inner.orelse and _plain_range(tree, inner.iter, (2,))):
        return False
    assert isinstance(inner.iter, ast.Call)
    start, stop = inner.iter.args
    d = 0 if isinstance(start, ast.Name) and start.id == i else None
    if isinstance(start, ast.BinOp) and isinstance(start.op, ast.Add) and isinstance(start.left, ast.Name):
        d = _int_const(start.right) if start.left.id == i else None
    stop_bound = _name_plus(stop)
    if d is None or d < 0 or stop_bound is None or stop_bound[0] != e:
        return False
    if min(k_ref, k_mut) < stop_bound[1] - d:
        return False
    if i == e or introspects(tree) or not _plain_locals(func, {i, e}):
        return False
    if _binds_in(outer, {id(outer.target)}) & {i, e}:
        return False
    return live_after(func, outer, i) is False


def _name_plus(node: ast.AST) -> tuple[str, int] | None:
    """(E, k) for ``E``, ``E + k`` or ``E - k`` (E a name, k an int constant; ``E - k`` gives -k)."""
    if isinstance(node, ast.Name):
        return node.id, 0
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add | ast.Sub)
        and isinstance(node.left, ast.Name)
        and (k := _int_const(node.right)) is not None
    ):
        return node.left.id, k if isinstance(node.op, ast.Add) else -k
    return None


def _plain_range(tree: ast.Module, call: ast.AST, arities: tuple[int, ...]) -> bool:
    return (
        builtin_call(tree, call, "range", arities)
        and isinstance(call, ast.Call)
        and all(
            isinstance(n, ast.Name | ast.Load | ast.Constant | ast.BinOp | ast.operator)
            for a in call.args
            for n in ast.walk(a)
        )
    )


def first_pass_idle(tree: ast.Module, node: ast.AST) -> bool:
    """``for i in range(a, E)`` made ``range(a + 1, E)``, where the loop's whole body is one ``if`` (no
    ``else``) whose test, made of i and int constants only, is false at i = a: the pass dropped did
    nothing. ``i`` is a local not read after the loop (liveness), not rebound in it."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.For) or stmt.iter not in chain:
        return False
    call = stmt.iter
    if not (builtin_call(tree, call, "range", (2,)) and isinstance(call, ast.Call) and call.args[0] is node):
        return False  # (E, evaluated once in both programs, may be anything)
    if not (isinstance(stmt.target, ast.Name) and len(stmt.body) == 1 and isinstance(stmt.body[0], ast.If)):
        return False
    i = stmt.target.id
    guard = stmt.body[0]
    if stmt.orelse or guard.orelse or _int_value(guard.test, i, node.value) is not False:  # type: ignore[attr-defined]
        return False  # (the loop's `else` may read i, and liveness looks after the whole statement)
    if introspects(tree) or not _plain_locals(func, {i}) or i in _binds_in(stmt, {id(stmt.target)}):
        return False
    return live_after(func, stmt, i) is False


def _int_value(expr: ast.AST, name: str, value: int) -> int | bool | None:
    """The value of ``expr`` with ``name`` = value, for an expression of that name, int constants,
    ``+ - * // %`` and comparisons; None for anything else (or a division by 0)."""
    if isinstance(expr, ast.Name):
        return value if expr.id == name else None
    if (c := _int_const(expr)) is not None:
        return c
    if isinstance(expr, ast.BinOp):
        left, right = _int_value(expr.left, name, value), _int_value(expr.right, name, value)
        if type(left) is not int or type(right) is not int:
            return None
        ops = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__}
        if type(expr.op) in ops:
            return ops[type(expr.op)](left, right)  # type: ignore[no-any-return]
        if isinstance(expr.op, ast.FloorDiv | ast.Mod) and right != 0:
            return left // right if isinstance(expr.op, ast.FloorDiv) else left % right
        return None
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1:
        left, right = _int_value(expr.left, name, value), _int_value(expr.comparators[0], name, value)
        if type(left) is not int or type(right) is not int:
            return None
        return ORDERS[type(expr.ops[0])](left, right) if type(expr.ops[0]) in ORDERS else None
    return None


def first_pass_settles(tree: ast.Module, node: ast.AST) -> bool:
    """A best-so-far's start ``best = c`` made ``c + 1``, both at most 1, before an arg-max over a
    sequence's own counts, whose first element is the answer's start:

        best = c                    # in the function's own body
        res = xs[0]                 # xs unmentioned from here to the loop: it is not empty, and x's
        for x in xs:                # first value is xs[0]
            k = xs.count(x)         # (or the call in the test): at least 1, x being in xs
            if k > best:
                best = k
                res = x

    On the first pass k >= 1 >= best in both programs: either both take the branch, or one keeps
    ``best == 1 == k`` and ``res == xs[0] == x``, what the branch would store. After that pass the two
    programs are in the same state. The loop has no ``break``, ``continue``, ``return`` or ``else``,
    nothing else in it mentions best or res, nor binds xs or x, and nothing between the start and the
    loop mentions best; all four are locals no closure or introspection reaches. For a list, tuple or
    string xs (the task's input types: ``count`` and indexing are theirs)."""
    func, stmt, _ = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.Assign) or stmt not in func.body or len(stmt.targets) != 1:
        return False
    if not self_contained(tree, func):
        return False
    value = stmt.value
    negated = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
    c = _int_const(node)
    if (value.operand if isinstance(value, ast.UnaryOp) and negated else value) is not node or c is None:
        return False
    if not isinstance(stmt.targets[0], ast.Name) or (not negated and c + 1 > 1):
        return False  # the starts c and c + 1 (or -c and -(c + 1)) at most 1
    best = stmt.targets[0].id
    rest = func.body[func.body.index(stmt) + 1 :]
    loop = next((s for s in rest if best in _names_in(s)), None)
    if not (
        isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and isinstance(loop.iter, ast.Name)
    ):
        return False
    x, xs = loop.target.id, loop.iter.id
    before = rest[: rest.index(loop)]
    start = next(
        (
            k
            for k, s in enumerate(before)
            if isinstance(s, ast.Assign)
            and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name)
            and ast.dump(s.value)
            == ast.dump(ast.Subscript(ast.Name(xs, ast.Load()), ast.Constant(0), ast.Load()))
        ),
        None,
    )
    if start is None:
        return False
    res = before[start].targets[0].id  # type: ignore[attr-defined]
    if any({xs, res} & _names_in(s) for s in before[start + 1 :]):
        return False
    if (
        loop.orelse
        or len({best, res, x, xs}) != 4
        or introspects(tree)
        or not _plain_locals(func, {best, res, x, xs})
    ):
        return False
    if any(
        isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Yield | ast.YieldFrom)
        for n in ast.walk(loop)
    ):
        return False
    # xs read only as xs[0] at the start, by the loop and by xs.count(x) in it: no alias, no method, no
    # store can change it in place (found by review: nums.pop(0) in the loop, other = nums; other.clear())
    xs_loads = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == xs]
    up = parents(func)
    allowed = {id(loop.iter), id(before[start].value.value)}  # type: ignore[attr-defined]
    for n in xs_loads:
        call = up.get(id(up.get(id(n))))
        if id(n) in allowed:
            continue
        if not (isinstance(call, ast.Call) and ast.dump(call) == _count_dump(xs, x)):
            return False
    # No call from the start to the loop's end but xs.count(x): a callee could change xs in place
    # through another name (found by review: a global list xs was passed as, changed by a helper).
    span = [*before[start:], loop]
    if any(
        isinstance(n, ast.Call) and ast.dump(n) != _count_dump(xs, x) for st in span for n in ast.walk(st)
    ):
        return False
    guard = next((s for s in loop.body if isinstance(s, ast.If)), None)
    if guard is None or guard.orelse or _binds_in(loop, {id(loop.target)}) & {xs, x}:
        return False
    count = _count_dump(xs, x)
    k = guard.test.left if isinstance(guard.test, ast.Compare) else None
    at = loop.body.index(guard)
    if isinstance(k, ast.Name):  # k = xs.count(x) right before the test
        prior = loop.body[at - 1] if at else None
        if not (
            isinstance(prior, ast.Assign)
            and len(prior.targets) == 1
            and isinstance(prior.targets[0], ast.Name)
            and prior.targets[0].id == k.id
            and ast.dump(prior.value) == count
            and k.id not in {best, res, x, xs}
        ):
            return False
    elif k is None or ast.dump(k) != count:
        return False
    test = guard.test
    assert isinstance(test, ast.Compare)
    if not (
        len(test.ops) == 1
        and isinstance(test.ops[0], ast.Gt)
        and isinstance(test.comparators[0], ast.Name)
        and test.comparators[0].id == best
    ):
        return False
    stores = {
        (s.targets[0].id, ast.dump(s.value))
        for s in guard.body
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
    }
    if len(guard.body) != 2 or stores != {(best, ast.dump(k)), (res, ast.dump(ast.Name(x, ast.Load())))}:
        return False
    return not any({best, res} & _names_in(s) for s in loop.body if s is not guard)


def _count_dump(xs: str, x: str) -> str:
    """The dump of ``xs.count(x)``."""
    return ast.dump(
        ast.Call(ast.Attribute(ast.Name(xs, ast.Load()), "count", ast.Load()), [ast.Name(x, ast.Load())], [])
    )


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
