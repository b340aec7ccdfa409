"""Equivalence rules about stores: a value never read, or a table's extra cell never reached.

A mutant that changes only a value that is stored and then never seen behaves as the reference does.
These rules say so when the program's own text shows it, and only then: a local that no path reads
afterwards (:func:`dead_store`, by :mod:`alignforge.verify._liveness`; the stored value has no side
effect, :func:`~alignforge.verify._ast_facts.pure`, and carries the changed constant only as an element
or with a sign, so nothing runs, or raises, differently while it is built); a table one cell longer
whose extra cell is never reached (:func:`grown_table`). Anything they cannot see through (a call, a
closure, ``locals()``) makes them answer no. A dict's cells read only where the change cannot show are
:mod:`alignforge.verify._dict_rules`'; ``heapq.nlargest``'s list one item longer is
:mod:`alignforge.verify._top_k_prefix`'s; the tables whose initial cells are never read are
:mod:`alignforge.verify._table_rules`' and :mod:`alignforge.verify._filled_in_order`'s.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _CATCHERS,
    _binds_in,
    _int_const,
    _params,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    builtin_call,
    fixed_input,
    parents,
    pure,
    stores_of,
)
from alignforge.verify._ast_ints import _floors, _range_size, _signed_int
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._liveness import introspects, live_after

__all__ = ["dead_store", "grown_table"]


def _stored_value(stmt: ast.stmt | None) -> tuple[str, ast.AST] | None:
    """``(name, value)`` for ``name = value`` and ``name: T = value``. Not ``name += value``: on a list or an
    array that changes the object in place, which other names may see."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id, stmt.value
    return None


def dead_store(tree: ast.Module, node: ast.AST) -> bool:
    """A changed int constant that only ever sits in a value stored to a local that is never read afterwards
    (``total = 0`` right before ``total = ...``; ``i = 0`` before ``for i in ...`` when ``i`` is not read
    after the loop): :func:`alignforge.verify._liveness.live_after` says no path reads what was stored.

    Between the constant and the stored value there may be only containers (``(0, x)``, ``[0] * n``,
    ``[0 for _ in ...]``) and a sign: no operator, call, comparison, ``and``/``or`` or ``if``, whose result,
    or whether later parts run at all, could depend on the value (``int(s, 10)`` and ``int(s, 11)``
    differ; so do ``a > 3 and s < a`` and ``a > 4 and ...``). The rest of the value is evaluated the same
    way in both programs; it must still be free of side effects."""
    func, stmt, chain = _statement_of(tree, node)
    stored = _stored_value(stmt)
    if func is None or stmt is None or stored is None or introspects(tree):
        return False
    name, value = stored
    if value not in chain or not pure(tree, value) or not _only_carried(chain[: chain.index(value) + 1]):
        return False
    return live_after(func, stmt, name) is False


def _only_carried(path: list[ast.AST]) -> bool:
    """``path`` (the changed constant first, the stored value last) holds the constant only as an element:
    each step up is a container's element, a comprehension's element, ``[...] * n`` on the list's side,
    or a unary sign."""
    for child, parent in zip(path, path[1:], strict=False):
        if isinstance(parent, ast.Tuple | ast.List | ast.Set) and child in parent.elts:
            continue
        if isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp) and parent.elt is child:
            continue
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mult) and isinstance(child, ast.List):
            continue
        if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub | ast.UAdd | ast.Invert):
            continue
        return False
    return True


def grown_table(tree: ast.Module, node: ast.AST) -> bool:
    """A fresh table made one cell (or row) longer at its end, ``T = [c] * (E + 1)`` made ``E + 2`` (or
    ``[c] * 256`` made 257; the size may be a name bound once to the constant and read only there; rows:
    ``[.. for _ in range(E + 1)]``), where T is only ever indexed (never its length, an iteration, a
    slice, a method, a call with it), by indices never negative (:func:`_non_negative`) or by E itself
    (if E + 1 <= 0 the table is empty and the access raises).

    Where the reference answers, each of its accesses fell within its table: one beyond would have raised
    IndexError, and nothing in the function can catch it (no ``try``, ``with`` or ``yield``). The mutant
    makes the same accesses to the same cells, which hold the same values, and never touches the extra
    one. T is a local bound once, no nested scope or introspection reaches it, and the table's element
    (or row) is side-effect free, built once more in the mutant."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or stmt is None or _int_const(node) is None or introspects(tree):
        return False
    if not self_contained(tree, func):
        return False
    up = parents(tree)
    size: ast.AST = node
    if isinstance(stmt, ast.Assign) and stmt.value is node:  # SIZE = 256, read once, as a table's size
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            return False
        name = stmt.targets[0].id
        uses = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == name]
        if len(uses) != 2 or not _plain_locals(func, {name}) or name in binds_not_by_name(func):
            return False
        size = next(n for n in uses if isinstance(n.ctx, ast.Load))
        _, stmt, _ = _statement_of(tree, size)
    elif isinstance(above := up.get(id(node)), ast.BinOp) and isinstance(above.op, ast.Add):
        size = above
    found = _grown(tree, stmt, size)
    if found is None:
        return False
    table, minus_one = found
    if minus_one is not None and not _fixed_param(func, size):
        minus_one = None  # T[E] is the last cell only while E keeps its value (found by review)
    if any(isinstance(n, _CATCHERS) for n in ast.walk(tree)) or "__getitem__" in ast.dump(tree):
        return False  # anywhere in the program: a caller could catch the IndexError, or an old-style
        # iteration (a class's __getitem__, however bound, and no __iter__) end on it (found by review)
    if not _plain_locals(func, {table}) or table in binds_not_by_name(func):
        return False
    for n in ast.walk(func):
        if not (isinstance(n, ast.Name) and n.id == table):
            continue
        if not isinstance(n.ctx, ast.Load):
            if up.get(id(n)) is not stmt:
                return False  # bound again
            continue
        sub = up.get(id(n))
        if not (isinstance(sub, ast.Subscript) and sub.value is n and not isinstance(sub.ctx, ast.Del)):
            return False
        if not (
            (minus_one is not None and ast.dump(sub.slice) == minus_one)
            or _non_negative(tree, func, sub.slice, up, set())
        ):
            return False
    return True


def _fixed_param(func: ast.FunctionDef | ast.AsyncFunctionDef, size: ast.AST) -> bool:
    """``size`` is ``p + 1`` for a parameter p the function never rebinds (no call, global or subscript in
    it whose value could change between the table and its read)."""
    p = size.left if isinstance(size, ast.BinOp) else None
    return isinstance(p, ast.Name) and fixed_input(func, p.id)


def _grown(tree: ast.Module, stmt: ast.stmt | None, size: ast.AST) -> tuple[str, str | None] | None:
    """For ``T = [e] * S`` (or ``S * [e]``) or ``T = [e for _ in range(S)]`` (e side-effect free): T, and
    the dump of X where S is ``X + 1`` (an index equal to the reference's size less one)."""
    if not (
        isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
    ):
        return None
    value = stmt.value
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
        one = value.left if value.right is size else value.right if value.left is size else None
        if not (isinstance(one, ast.List) and len(one.elts) == 1 and pure(tree, one.elts[0])):
            return None
    elif isinstance(value, ast.ListComp) and len(value.generators) == 1:
        gen = value.generators[0]
        if (
            gen.ifs
            or gen.is_async
            or _range_size(tree, gen.iter) is not size
            or not isinstance(gen.target, ast.Name)
        ):
            return None  # (a target such as last[0] is stored once more in the mutant: found by review)
        # the mutant builds one element more (even where the reference builds none): it must not raise
        # (found by review: `[min(range(n - i)) for i in range(n + 1)]`)
        if not _never_raises(tree, stmt, value.elt):
            return None
    else:
        return None
    if not pure(tree, size):
        return None
    minus_one = None
    if isinstance(size, ast.BinOp) and isinstance(size.op, ast.Add) and _int_const(size.right) == 1:
        minus_one = ast.dump(size.left)
    return stmt.targets[0].id, minus_one


def _never_raises(tree: ast.Module, stmt: ast.stmt, e: ast.AST) -> bool:
    """``e`` is a constant, or a row ``[c] * S`` / ``[c for _ in range(S)]`` (c a constant) with S an int
    for sure when ``stmt`` runs (:func:`_int_for_sure`)."""
    if isinstance(e, ast.Constant):
        return True
    func, _, _ = _statement_of(tree, stmt)
    if func is None:
        return False
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
        one, size = (e.left, e.right) if isinstance(e.left, ast.List) else (e.right, e.left)
        ok = isinstance(one, ast.List) and len(one.elts) == 1 and isinstance(one.elts[0], ast.Constant)
        return ok and _int_for_sure(tree, func, size, stmt)
    if isinstance(e, ast.ListComp) and len(e.generators) == 1 and isinstance(e.elt, ast.Constant):
        gen = e.generators[0]
        count = _range_size(tree, gen.iter)
        plain = isinstance(gen.target, ast.Name) and not gen.ifs and not gen.is_async
        return plain and count is not None and _int_for_sure(tree, func, count, stmt)
    return False


def _int_for_sure(
    tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, e: ast.AST, before: ast.stmt
) -> bool:
    """``e`` is an int when ``before`` (a statement of ``func``'s own body) runs: int constants, ``+``/``-``,
    and names bound once, by ``name = len(..)`` (the builtin) earlier in the function's own body."""
    if _int_const(e) is not None:
        return True
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub):
        return _int_for_sure(tree, func, e.left, before) and _int_for_sure(tree, func, e.right, before)
    if not isinstance(e, ast.Name) or not _plain_locals(func, {e.id}) or e.id in binds_not_by_name(func):
        return False
    binds = stores_of(func, e.id)
    earlier = func.body[: func.body.index(before)] if before in func.body else []
    return len(binds) == 1 and any(
        isinstance(st, ast.Assign) and st.targets == binds and builtin_call(tree, st.value, "len", (1,))
        for st in earlier
    )


def _non_negative(
    tree: ast.Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    e: ast.AST,
    up: dict[int, ast.AST],
    seen: set[str],
) -> bool:
    """``e`` is an int that is never negative: an int constant >= 0, ``len(..)``, ``ord(..)``, ``+``, ``*``,
    ``//``, ``%`` of such, a local every binding of which is such (:func:`_never_negative_name`), or
    ``x - d`` (d an int constant) where a test around it says x >= d (``elif`` after ``if i == 0`` says
    i >= 1, x being never negative itself)."""
    if (c := _int_const(e)) is not None:
        return c >= 0
    if builtin_call(tree, e, "len", (1,)) or builtin_call(tree, e, "ord", (1,)):
        return True
    if isinstance(e, ast.Name):
        return _never_negative_name(tree, func, e.id, up, seen)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Mult | ast.FloorDiv | ast.Mod):
        return _non_negative(tree, func, e.left, up, seen) and _non_negative(tree, func, e.right, up, seen)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Sub) and isinstance(e.left, ast.Name):
        d = _int_const(e.right)
        if d is None or not _never_negative_name(tree, func, e.left.id, up, seen):
            return False
        child: ast.AST = e
        while (parent := up.get(id(child))) is not None and parent is not func:
            if isinstance(parent, ast.If) and child is not parent.test:
                branch = parent.orelse if child in parent.orelse else parent.body
                floors = _floors(parent.test, negated=branch is parent.orelse)
                rebinds = set().union(*(_binds_in(st) for st in branch))
                if floors.get(e.left.id, 0) >= d and e.left.id not in rebinds:
                    return True
            child = parent
    return False


def _never_negative_name(
    tree: ast.Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    name: str,
    up: dict[int, ast.AST],
    seen: set[str],
) -> bool:
    """Every binding of the local ``name`` stores a never-negative int: ``name = e``, ``name += e`` or
    ``name *= e`` (e :func:`_non_negative`, assuming ``name`` is: by induction over the run), or a ``for``
    over ``range(a, ..)`` (a never negative, a positive step) or ``range(a, b, -s)`` with b >= -1. Not a
    parameter."""
    if name in seen:
        return True
    if name in _params(func) or name in binds_not_by_name(func) or not _plain_locals(func, {name}):
        return False
    seen.add(name)
    binds = stores_of(func, name)
    for n in binds:
        where = up.get(id(n))
        if (isinstance(where, ast.Assign) and where.targets == [n]) or (
            isinstance(where, ast.AugAssign) and isinstance(where.op, ast.Add | ast.Mult)
        ):
            ok = _non_negative(tree, func, where.value, up, seen)
        elif (
            isinstance(where, ast.For)
            and where.target is n
            and builtin_call(tree, where.iter, "range", (1, 2, 3))
        ):
            assert isinstance(where.iter, ast.Call)
            args = where.iter.args
            start = args[0] if len(args) > 1 else ast.Constant(0)
            step = _signed_int(args[2]) if len(args) == 3 else 1
            if step is not None and step > 0:
                ok = _non_negative(tree, func, start, up, seen)
            else:
                stop = _signed_int(args[1]) if len(args) == 3 else None
                ok = step is not None and stop is not None and stop >= -1
        else:
            ok = False
        if not ok:
            return False
    return bool(binds)
