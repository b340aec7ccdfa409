"""Equivalence rules about an ``if`` whose test is changed or dropped where it cannot matter.

An ``if`` whose body only evaluates and drops what its test read, its test flipped or removed
(:func:`inert_body`), or a loop of such passes with its first dropped (:func:`inert_passes`); a guard
whose body does nothing when its test fails (``if ys: xs.extend(ys)``, ``if v: a += v``) run without
it (:func:`noop_guard`); a change in A of ``A and g == k`` where g is never k, so the test is false in
both programs (:func:`dead_conjunct`).
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _CATCHERS,
    _binds_in,
    _float_free,
    _input_name,
    _int_const,
    _params,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    builtin_call,
    fixed_input,
    parents,
    required_params,
    self_contained,
    stores_of,
)
from alignforge.verify._liveness import introspects, live_after

__all__ = ["inert_body", "inert_passes", "noop_guard", "dead_conjunct"]


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
    (:func:`~alignforge.verify._ast_facts._float_free`), v and every a are int-valued locals
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
