"""Equivalence rules for a ``+``/``-`` swap whose sign cannot show.

``a + b`` and ``a - b`` differ by ``2b``: read only modulo 2 they are the same (:func:`parity`, also
through a running sum); ``x == x + y`` and ``x == x - y`` both say y == 0 (:func:`zero_test`); a counter
stepped from 0 by ``+= k`` or by ``-= k`` ends as ``c*k`` or ``-c*k``, the same where only ``== 0``,
``if``, ``% 2`` or ``abs`` read it (:func:`sign_blind_counter`). The first two hold for int operands, in
a program where no float can arise from ints (:func:`~alignforge.verify._ast_ints._float_free`).
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import binds_not_by_name, builtin_call, parents, rebound
from alignforge.verify._ast_ints import _float_free
from alignforge.verify._liveness import introspects

__all__ = ["parity", "zero_test", "sign_blind_counter"]


def parity(tree: ast.Module, node: ast.AST) -> bool:
    """``a + b`` <-> ``a - b`` where the value is only read as ``(...) % 2``: a+b and a-b differ by 2b. Or
    stored to a running sum only ever read that way (``s = s + x`` ... ``s % 2``): by induction over its
    stores, s has the same parity in both programs.

    For int operands (floats and strings differ): the rule only ever backs the differential run, which
    calls both programs on the task's own input types, and only in a program where no float can arise
    from ints (:func:`~alignforge.verify._ast_ints._float_free`)."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)) or not _float_free(tree):
        return False
    parent_of = parents(tree)
    top = _sum_top(parent_of, node)
    if any(
        (isinstance(n, ast.Constant) and isinstance(n.value, str | bytes))
        or (
            isinstance(n, ast.Call) and not any(builtin_call(tree, n, f, (1,)) for f in ("int", "len", "abs"))
        )
        for n in ast.walk(top)
    ):
        return False  # a string's % is formatting: ('%d' + str(n)) % 2 (found by review)
    above = parent_of.get(id(top))
    if _mod_two(above, top):
        return True
    if not (
        isinstance(above, ast.Assign)
        and above.value is top
        and len(above.targets) == 1
        and isinstance(above.targets[0], ast.Name)
    ):
        return False
    return _parity_only(tree, parent_of, above.targets[0].id)


def _sum_top(parent_of: dict[int, ast.AST], node: ast.AST) -> ast.AST:
    """The whole sum ``node`` is a term of: up through ``+`` and ``-`` (a + b - c: the same terms, signs
    aside)."""
    cur = node
    while isinstance(up := parent_of.get(id(cur)), ast.BinOp) and isinstance(up.op, ast.Add | ast.Sub):
        cur = up
    return cur


def _mod_two(above: ast.AST | None, value: ast.AST) -> bool:
    return (
        isinstance(above, ast.BinOp)
        and isinstance(above.op, ast.Mod)
        and above.left is value
        and isinstance(above.right, ast.Constant)
        and type(above.right.value) is int
        and above.right.value == 2
    )


def _parity_only(tree: ast.Module, parent_of: dict[int, ast.AST], var: str) -> bool:
    """Every read of ``var`` (anywhere in the program) is a term of a sum that is read ``% 2`` or stored
    back to ``var`` (``var = var + x``, ``var += x``), and every store to it is a plain ``var = ...`` or
    ``var += / -= ...``: only its parity ever shows. No parameter, ``global``, ``nonlocal``, match capture,
    other binding or introspection."""
    if introspects(tree) or var in binds_not_by_name(tree):
        return False
    for n in ast.walk(tree):
        if isinstance(n, ast.arg) and n.arg == var:
            return False
        if isinstance(n, ast.Attribute) and n.attr == var:
            return False  # a class body's name read as an attribute (found by review)
        if isinstance(n, ast.Global | ast.Nonlocal) and var in n.names:
            return False
        if not (isinstance(n, ast.Name) and n.id == var):
            continue
        up = parent_of.get(id(n))
        if isinstance(n.ctx, ast.Load):
            top = _sum_top(parent_of, n)
            above = parent_of.get(id(top))
            if _mod_two(above, top) or _stored_to(above, top, var):
                continue
            return False
        if isinstance(up, ast.Assign) and up.targets == [n]:
            continue  # its value's reads of var are checked as reads
        if not (isinstance(up, ast.AugAssign) and up.target is n and isinstance(up.op, ast.Add | ast.Sub)):
            return False  # a tuple target, a loop variable, del, `var *= 3`, ...
    return True


def _stored_to(above: ast.AST | None, value: ast.AST, var: str) -> bool:
    """``var = value`` or ``var += value`` / ``var -= value``."""
    if isinstance(above, ast.Assign):
        return above.value is value and [ast.dump(t) for t in above.targets] == [
            ast.dump(ast.Name(id=var, ctx=ast.Store()))
        ]
    return (
        isinstance(above, ast.AugAssign)
        and above.value is value
        and isinstance(above.op, ast.Add | ast.Sub)
        and isinstance(above.target, ast.Name)
        and above.target.id == var
    )


def _sign_blind_read(parent_of: dict[int, ast.AST], name: ast.Name, *, abs_is_builtin: bool) -> bool:
    """The value is read only in a way that cannot tell ``x`` from ``-x`` (for an int): ``x == 0``,
    ``x != 0``, ``not x``, ``if x``, ``x % 2``, ``abs(x)``."""
    up = parent_of.get(id(name))
    if isinstance(up, ast.Compare) and len(up.ops) == 1 and isinstance(up.ops[0], ast.Eq | ast.NotEq):
        other = up.comparators[0] if up.left is name else up.left
        return isinstance(other, ast.Constant) and type(other.value) is int and other.value == 0
    if isinstance(up, ast.UnaryOp) and isinstance(up.op, ast.Not):
        return True
    if isinstance(up, ast.BinOp) and isinstance(up.op, ast.Mod) and up.left is name:
        return isinstance(up.right, ast.Constant) and up.right.value == 2
    if isinstance(up, ast.Call) and isinstance(up.func, ast.Name) and up.func.id == "abs":
        return up.args == [name] and not up.keywords and abs_is_builtin
    return isinstance(up, ast.If | ast.While | ast.IfExp) and up.test is name


def sign_blind_counter(tree: ast.Module, node: ast.AST) -> bool:
    """``v += k`` <-> ``v -= k`` where ``v`` starts at 0 and only ever moves by that one statement: it ends as
    ``c*k`` or ``-c*k``; read only where the sign cannot show (``v == 0``, ``if v``, ``v % 2``, ``abs(v)``),
    the two are the same."""
    if not (
        isinstance(node, ast.AugAssign)
        and isinstance(node.op, ast.Add | ast.Sub)
        and isinstance(node.target, ast.Name)
        and isinstance(node.value, ast.Constant)
        and type(node.value.value) is int
    ):
        return False
    var = node.target.id
    if introspects(tree) or var in binds_not_by_name(tree):
        return False  # read through locals(), or bound by a match capture to any value (a review found both)
    abs_is_builtin = not rebound(tree, "abs")
    parent_of = parents(tree)
    for other in ast.walk(tree):
        if isinstance(other, ast.arg) and other.arg == var:
            return False
        if isinstance(other, ast.Global | ast.Nonlocal) and var in other.names:
            return False
        if not (isinstance(other, ast.Name) and other.id == var):
            continue
        up = parent_of.get(id(other))
        if isinstance(other.ctx, ast.Load):
            if not _sign_blind_read(parent_of, other, abs_is_builtin=abs_is_builtin):
                return False
        elif isinstance(up, ast.AugAssign) and up.target is other:
            if up is not node:
                # Another step, even the same one: the mutant flips only this one, so the counter
                # would move both ways and could come back to 0 (a review found it).
                return False
        elif not (
            isinstance(up, ast.Assign)
            and up.targets == [other]
            and isinstance(up.value, ast.Constant)
            and type(up.value.value) is int
            and up.value.value == 0
        ):
            return False  # any other store (a tuple target, a loop variable, del, ...)
    return True


def zero_test(tree: ast.Module, node: ast.AST) -> bool:
    """``x == x + y`` <-> ``x == x - y`` (or ``!=``): both say y == 0. ``x`` is names and constants only,
    the same value both times it is evaluated. For int operands, as :func:`parity` (with floats,
    rounding can make ``x + y == x`` and ``x - y == x`` differ)."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)) or not _float_free(tree):
        return False
    up = parents(tree).get(id(node))
    if not (isinstance(up, ast.Compare) and len(up.ops) == 1 and isinstance(up.ops[0], ast.Eq | ast.NotEq)):
        return False
    other = up.comparators[0] if up.left is node else up.left
    if any(isinstance(n, ast.NamedExpr) for n in ast.walk(up)):
        return False  # `a + (a := b) == a`: x is not the same value twice (found by review)
    return (
        ast.dump(other) == ast.dump(node.left)
        and all(isinstance(n, ast.Name | ast.Load | ast.Constant) for n in ast.walk(other))
        # y runs between x's two reads: a call in it could rebind x (found by review: `x + g(n) == x`)
        and all(isinstance(n, ast.Name | ast.Load | ast.Constant) for n in ast.walk(node.right))
        and not any(isinstance(n, ast.Constant) and isinstance(n.value, str | bytes) for n in ast.walk(up))
    )
