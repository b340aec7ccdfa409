"""The ``noop_guard`` equivalence rule: a guard whose body does nothing when its test fails, run without it.

``if ys: xs.extend(ys)`` (ys then the empty list, both lists the function made) or ``if v: a += v`` (v
then 0, int-valued locals in a program where no float arises: :func:`_zero_steps`) behaves the same
with its test removed (:func:`noop_guard`). The other rules about an ``if`` whose test cannot matter
are :mod:`alignforge.verify._guard_rules`' and :mod:`alignforge.verify._dead_conjunct`'s.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _int_const,
    _params,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    builtin_call,
    parents,
    required_params,
    stores_of,
)
from alignforge.verify._ast_ints import _float_free
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._liveness import introspects

__all__ = ["noop_guard"]


def noop_guard(tree: ast.Module, node: ast.AST) -> bool:
    """``if len(ys) > 0: xs.extend(ys)`` (or ``if ys:``, ``xs += ys``) run without its test: when the test
    fails ys is the empty list and extending by it changes nothing. ``ys`` is only ever bound to a new
    list (a display or a list comprehension), ``xs`` to a new list too; both are locals no closure,
    ``global`` or introspection reaches; ``len`` is the builtin."""
    if isinstance(node, ast.If) and not node.orelse and _zero_steps(tree, node):
        return True
    if not (isinstance(node, ast.If) and not node.orelse and len(node.body) == 1):
        return False
    func, _stmt, _chain = _statement_of(tree, node.body[0])
    body = node.body[0]
    if func is None or introspects(tree):
        return False
    if isinstance(body, ast.Expr) and isinstance(call := body.value, ast.Call):
        if not (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "extend"
            and isinstance(call.func.value, ast.Name)
            and len(call.args) == 1
            and not call.keywords
        ):
            return False
        xs, ys = call.func.value, call.args[0]
    elif (
        isinstance(body, ast.AugAssign) and isinstance(body.op, ast.Add) and isinstance(body.target, ast.Name)
    ):
        xs, ys = body.target, body.value
    else:
        return False
    if not isinstance(ys, ast.Name) or ys.id == xs.id or not _empty_when_false(tree, node.test, ys.id):
        return False
    if not (
        all(_only_new_lists(func, name) for name in (xs.id, ys.id)) and _plain_locals(func, {xs.id, ys.id})
    ):
        return False
    # xs bound before the guard on every path (found by review: bound only in a loop that may not run,
    # the mutant's xs.extend raises where the reference's test just fails): a list made by a statement
    # of the function's own body that comes before the one holding the guard
    top = next(k for k, st in enumerate(func.body) if any(n is node for n in ast.walk(st)))
    return any(
        isinstance(st, ast.Assign)
        and [ast.dump(t) for t in st.targets] == [ast.dump(ast.Name(id=xs.id, ctx=ast.Store()))]
        and isinstance(st.value, ast.List | ast.ListComp)
        for st in func.body[:top]
    )


def _zero_steps(tree: ast.Module, guard: ast.If) -> bool:
    """``if v: a += v; b -= v`` (or ``if v != 0:``) run without its test: when the test fails v is 0, and
    stepping an int by 0 changes nothing. In a program where no float arises from the task's int inputs
    (:func:`~alignforge.verify._ast_ints._float_free`), v and every a are int-valued locals
    (:func:`_int_valued`), each a bound by a statement of the function's own body before the one holding
    the guard (so ``a += 0`` cannot raise where the test just failed)."""
    func, _, _ = _statement_of(tree, guard)
    if func is None or not self_contained(tree, func):
        return False
    test = guard.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotEq):
        sides = [test.left, test.comparators[0]]
        test = (
            next((x for x in sides if _int_const(x) is None), test) if 0 in map(_int_const, sides) else test
        )
    if func is None or not isinstance(test, ast.Name) or not _float_free(tree) or introspects(tree):
        return False
    if any(
        isinstance(op, ast.Is | ast.IsNot)
        for n in ast.walk(tree)
        if isinstance(n, ast.Compare)
        for op in n.ops
    ):
        return False  # `a += 0` makes a new int object past the small ones: `a is b` tells (found by review)
    if any(isinstance(n, ast.Name) and n.id == "id" for n in ast.walk(tree)):
        return False  # ... and so does id(a) == id(b) (found by review)
    v = test.id
    steps = [
        st.target.id
        for st in guard.body
        if isinstance(st, ast.AugAssign)
        and isinstance(st.op, ast.Add | ast.Sub)
        and isinstance(st.target, ast.Name)
        and isinstance(st.value, ast.Name)
        and st.value.id == v
        and st.target.id != v
    ]
    if len(steps) != len(guard.body) or not _plain_locals(func, {v, *steps}):
        return False
    if not all(_int_valued(func, name, set()) for name in {v, *steps}):
        return False
    top = next(k for k, st in enumerate(func.body) if any(n is guard for n in ast.walk(st)))
    bound = {
        t.id
        for st in func.body[:top]
        if isinstance(st, ast.Assign)
        for t in st.targets
        if isinstance(t, ast.Name)
    }
    return set(steps) <= bound


_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.RShift, ast.LShift)


def _int_valued(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, seen: set[str]) -> bool:
    """Every binding of ``name`` in ``func`` stores an int, given int parameters: ``name = E`` or
    ``name op= E`` with E made of int constants, parameters, ``+ - * // % >> <<`` (never a bool out of
    them: ``True + 0`` is 1), unary minus and names that are themselves int-valued."""
    if name in seen:
        return True  # (a cycle: each of its bindings is checked where it is first met)
    seen.add(name)
    params = _params(func)
    binds = stores_of(func, name)
    if name in binds_not_by_name(func):
        return False  # (found by review: a parameter rebound by `import .. as`, `except .. as`, `case`)
    if name in params:
        required = name in required_params(func)
        return required and (not binds or all(_int_bind(func, n, params, seen) for n in binds))
    return bool(binds) and all(_int_bind(func, n, params, seen) for n in binds)


def _int_bind(
    func: ast.FunctionDef | ast.AsyncFunctionDef, target: ast.Name, params: set[str], seen: set[str]
) -> bool:
    stmt = next(
        (
            s
            for s in ast.walk(func)
            if isinstance(s, ast.Assign | ast.AugAssign)
            and (target in getattr(s, "targets", []) or getattr(s, "target", None) is target)
        ),
        None,
    )
    if stmt is None or (isinstance(stmt, ast.AugAssign) and not isinstance(stmt.op, _INT_OPS)):
        return False
    value = stmt.value
    if (
        isinstance(stmt, ast.Assign)
        and value is not None
        and not isinstance(value, ast.BinOp | ast.UnaryOp | ast.Constant)
    ):
        return False  # a bare name or constant could be a bool
    for n in ast.walk(value):
        if isinstance(n, ast.Name):
            if not _int_valued(func, n.id, seen):  # (a parameter rebound to a list is none: found by review)
                return False
        elif isinstance(n, ast.Constant):
            if type(n.value) is not int:
                return False
        elif isinstance(n, ast.BinOp):
            if not isinstance(n.op, _INT_OPS):
                return False
        elif isinstance(n, ast.UnaryOp):
            if not isinstance(n.op, ast.USub):
                return False
        elif not isinstance(n, ast.Load | ast.operator | ast.unaryop):
            return False
    return True


def _empty_when_false(tree: ast.Module, test: ast.AST, name: str) -> bool:
    """``test`` fails only when the list ``name`` is empty: ``name``, ``len(name)``, ``len(name) > 0``,
    ``len(name) != 0``, ``len(name) >= 1``, ``0 < len(name)``."""
    if isinstance(test, ast.Name):
        return test.id == name

    def is_len(n: ast.AST) -> bool:
        return (
            builtin_call(tree, n, "len", (1,))
            and isinstance(n, ast.Call)
            and isinstance(n.args[0], ast.Name)
            and n.args[0].id == name
        )

    if is_len(test):
        return True
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if is_len(left):
        k = _int_const(right)
        return (isinstance(op, ast.Gt | ast.NotEq) and k == 0) or (isinstance(op, ast.GtE) and k == 1)
    if is_len(right):
        k = _int_const(left)
        return (isinstance(op, ast.Lt | ast.NotEq) and k == 0) or (isinstance(op, ast.LtE) and k == 1)
    return False


def _only_new_lists(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Every binding of ``name`` in ``func`` is ``name = [...]`` or ``name = [.. for ..]`` (or ``name +=``):
    it is always a list the function made. Not a parameter."""
    if name in _params(func) or name in binds_not_by_name(func):
        return False
    parent_of = parents(func)
    for n in ast.walk(func):
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            up = parent_of.get(id(n))
            if (
                isinstance(up, ast.Assign)
                and len(up.targets) == 1
                and isinstance(up.value, ast.List | ast.ListComp)
            ):
                continue
            if isinstance(up, ast.AugAssign) and isinstance(up.op, ast.Add):
                continue
            return False
    return True
