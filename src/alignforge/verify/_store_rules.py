"""Equivalence rules about stores: a value never read, or read only where the change cannot show.

A mutant that changes only a value that is stored and then never seen behaves as the reference does.
These rules say so when the program's own text shows it, and only then: a local that no path reads
afterwards (:func:`dead_store`, by :mod:`alignforge.verify._liveness`; the stored value has no side
effect, :func:`~alignforge.verify._ast_facts.pure`, and carries the changed constant only as an element
or with a sign, so nothing runs, or raises, differently while it is built); a table one cell longer
whose extra cell is never reached (:func:`grown_table`), or ``heapq.nlargest``'s list one item longer
whose extra item is never read (:func:`top_k_prefix`); a dict's cells read only as "seen once"
(:func:`cell_counter`), only by the order of their counts (:func:`scaled_counter`), or never
(:func:`unread_cells`). Anything they cannot see through (a call, a closure, ``locals()``) makes them
answer no. The tables whose initial cells are never read are :mod:`alignforge.verify._table_rules`'
and :mod:`alignforge.verify._filled_in_order`'s.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from alignforge.verify._ast_facts import (
    _CATCHERS,
    _binds_in,
    _floors,
    _input_name,
    _int_const,
    _params,
    _plain_locals,
    _range_size,
    _signed_int,
    _statement_of,
    binds_not_by_name,
    bound_beside_imports,
    builtin_call,
    fixed_input,
    modules_of,
    parents,
    pure,
    rebound,
    self_contained,
    stores_of,
)
from alignforge.verify._liveness import introspects, live_after

__all__ = ["dead_store", "grown_table", "cell_counter", "scaled_counter", "unread_cells", "top_k_prefix"]


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


def cell_counter(tree: ast.Module, node: ast.AST) -> bool:
    """``d[e] += k`` changed to another non-zero step (``+= k + 1``, ``-= k``), for a dict made in the
    function whose cells are only ever set to one int s and stepped by k: every cell holds s + j*k, j >= 0
    the steps since it was set, and it is read only as ``d[e] == s`` or ``d[e] != s`` (keys by ``in``),
    which is j == 0 whatever the step. (The cell form of ``sign_blind_counter``: a first-sight count read
    as "seen once".) ``d`` is never a parameter, passed on, aliased or reached by a closure."""
    func, stmt, _chain = _statement_of(tree, node)
    aug = node if isinstance(node, ast.AugAssign) else stmt
    if func is None or not isinstance(aug, ast.AugAssign) or node not in (aug, aug.value):
        return False
    step = _int_const(aug.value)
    target = aug.target
    if (
        step is None
        or step in (0, -1)  # the reference's step, or the off-by-one mutant's, would be 0
        or not isinstance(aug.op, ast.Add | ast.Sub)
        or not isinstance(target, ast.Subscript)
        or not isinstance(target.value, ast.Name)
    ):
        return False
    uses = _cell_uses(tree, func, target.value.id)
    if uses is None:
        return False
    set_to: set[int] = set()
    read_as: set[int] = set()
    for above, use in uses:
        if isinstance(above.ctx, ast.Store) and isinstance(use, ast.Assign) and use.targets == [above]:
            value = _int_const(use.value)
            if value is None:
                return False
            set_to.add(value)
        elif isinstance(use, ast.AugAssign) and use.target is above:
            if use is not aug:
                return False  # stepped elsewhere too: the mutant changes one step only, so +1 and -1 could cancel
        elif (
            isinstance(above.ctx, ast.Load)
            and isinstance(use, ast.Compare)
            and len(use.ops) == 1
            and isinstance(use.ops[0], ast.Eq | ast.NotEq)
        ):
            other = use.comparators[0] if use.left is above else use.left
            value = _int_const(other)
            if value is None:
                return False
            read_as.add(value)
        else:
            return False
    return len(set_to) == 1 and read_as <= set_to


def scaled_counter(tree: ast.Module, node: ast.AST) -> bool:
    """``d[k] += c`` changed to ``d[k] += c + 1`` (c >= 1), for ``d = defaultdict(int)`` made in the function
    and read only by ``max(d, key=d.get)`` (``min``, ``sorted``): every count is c (or c + 1) times the
    number of steps, so the counts keep their order and their ties, and the key picked is the same ("the
    most frequent word"). ``d`` is stepped by that one statement only, never a parameter, passed on,
    aliased or reached by a closure or introspection."""
    func, stmt, _chain = _statement_of(tree, node)
    if (
        func is None
        or not isinstance(stmt, ast.AugAssign)
        or stmt.value is not node
        or not isinstance(stmt.op, ast.Add)
        or (_int_const(node) or 0) < 1
        or not isinstance(stmt.target, ast.Subscript)
        or not isinstance(stmt.target.value, ast.Name)
    ):
        return False
    d = stmt.target.value.id
    uses = _cell_uses(
        tree, func, d, _int_counter, lambda n, above, up: _ordered_by_count(tree, n, above, up, d)
    )
    # every cell use is the one step: nothing reads a count, nothing else moves one
    return uses is not None and all(use is stmt for _, use in uses)


def _int_counter(tree: ast.Module, value: ast.AST) -> bool:
    """``defaultdict(int)`` or ``collections.defaultdict(int)``: a new dict whose missing cells are 0."""
    if not (
        isinstance(value, ast.Call)
        and len(value.args) == 1
        and not value.keywords
        and isinstance(value.args[0], ast.Name)
        and value.args[0].id == "int"
        and not rebound(tree, "int")
    ):
        return False
    fn = value.func
    if isinstance(fn, ast.Attribute):
        aliases = [a for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names]
        return (
            fn.attr == "defaultdict"
            and isinstance(fn.value, ast.Name)
            and fn.value.id == "collections"
            and "collections" in modules_of(tree)
            and all(a.name == "collections" for a in aliases if (a.asname or a.name) == "collections")
        )  # (not `import foo as collections`)
    imported = [
        a
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
        if (a.asname or a.name) == "defaultdict"
    ]
    single = (
        len(imported) == 1
        and imported[0].name == "defaultdict"
        and any(
            isinstance(n, ast.ImportFrom) and n.module == "collections" and imported[0] in n.names
            for n in ast.walk(tree)
        )
    )
    return (
        isinstance(fn, ast.Name)
        and fn.id == "defaultdict"
        and single
        and not bound_beside_imports(tree, "defaultdict")
    )


def _ordered_by_count(
    tree: ast.Module, n: ast.Name, above: ast.AST | None, up: dict[int, ast.AST], d: str
) -> bool:
    """``n`` (a load of d) is the iterable or the ``key=d.get`` of ``max(d, key=d.get)``, ``min(...)`` or
    ``sorted(...)``, the builtins, with no other argument."""
    call = above
    if isinstance(above, ast.Attribute):  # d.get
        if above.attr != "get":
            return False
        kw = up.get(id(above))
        call = up.get(id(kw)) if isinstance(kw, ast.keyword) and kw.arg == "key" else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in ("max", "min", "sorted")
        and not rebound(tree, call.func.id)
        and len(call.args) == 1
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id == d
        and len(call.keywords) == 1
        and call.keywords[0].arg == "key"
    ):
        return False
    key = call.keywords[0].value
    return (
        isinstance(key, ast.Attribute)
        and key.attr == "get"
        and isinstance(key.value, ast.Name)
        and key.value.id == d
        and (n is call.args[0] or n is key.value)
    )


def unread_cells(tree: ast.Module, node: ast.AST) -> bool:
    """An int constant stored whole as a cell, ``d[k] = 0``, of a dict made in the function whose cells are
    never read: ``d`` is only ever bound to a new empty dict, written by ``d[e] = ...`` and tested by
    ``e in d`` / ``e not in d``, so only its keys show, and they are the same in both programs ("the first
    repeated character": ``h[ch] = 0`` marks ``ch`` seen). ``d`` is never a parameter, passed on, returned,
    iterated, aliased or reached by a closure."""
    func, stmt, _chain = _statement_of(tree, node)
    if (
        func is None
        or not isinstance(stmt, ast.Assign)
        or stmt.value is not node
        or len(stmt.targets) != 1
        or not isinstance(stmt.targets[0], ast.Subscript)
        or not isinstance(stmt.targets[0].value, ast.Name)
    ):
        return False
    uses = _cell_uses(tree, func, stmt.targets[0].value.id)
    return uses is not None and all(  # every cell only written: d[k], d[k] += 1 would read one
        isinstance(above.ctx, ast.Store) and isinstance(use, ast.Assign) and use.targets == [above]
        for above, use in uses
    )


def _cell_uses(
    tree: ast.Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    d: str,
    made: Callable[[ast.Module, ast.AST], bool] | None = None,
    other_use: Callable[[ast.Name, ast.AST | None, dict[int, ast.AST]], bool] | None = None,
) -> list[tuple[ast.Subscript, ast.AST | None]] | None:
    """Each ``d[...]`` in ``func`` with the node above it, for a dict ``d`` made there: a plain local (no
    parameter, match capture, closure or introspection; an import could bind it to a dict that already
    holds cells) bound only to new dicts (``made``: by default empty ones, ``{}``, ``dict()``), and
    otherwise used only by key tests (``e in d``, ``e not in d``: the keys are the same in both programs)
    or where ``other_use`` (the name, the node above it, the parent map) allows. None where any of that
    fails (``d.get``, ``d.values()``, ``len(d)``, ``return d``, ``f(d)``, ``g = d``, ...)."""
    made = made or _fresh_dict
    if (
        d in _params(func)
        or d in binds_not_by_name(func)
        or introspects(tree)
        or not _plain_locals(func, {d})
    ):
        return None
    up = parents(func)
    out: list[tuple[ast.Subscript, ast.AST | None]] = []
    for n in ast.walk(func):
        if not (isinstance(n, ast.Name) and n.id == d):
            continue
        above = up.get(id(n))
        if not isinstance(n.ctx, ast.Load):
            if not (isinstance(above, ast.Assign) and above.targets == [n] and made(tree, above.value)):
                return None
            continue
        if (
            isinstance(above, ast.Compare)
            and above.comparators == [n]
            and isinstance(above.ops[0], ast.In | ast.NotIn)
        ):
            continue
        if isinstance(above, ast.Subscript) and above.value is n:
            out.append((above, up.get(id(above))))
        elif other_use is None or not other_use(n, above, up):
            return None
    return out


def _fresh_dict(tree: ast.Module, value: ast.AST) -> bool:
    if isinstance(value, ast.Dict):
        return not value.keys
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "dict"
        and not value.args
        and not value.keywords
        and not rebound(tree, "dict")
    )


def top_k_prefix(tree: ast.Module, node: ast.AST) -> bool:
    """``a = heapq.nlargest(k, xs)`` made ``nlargest(k + 1, xs)`` (or ``nsmallest``; also as one element
    of ``a, b = (.., ..)``), where a is only ever read as ``a[c]``, 0 <= c < k: both are
    ``sorted(xs, reverse=True)`` cut after k or k + 1 items (the documented equivalent), so their first k
    items are the same. a is a local bound once, no closure or introspection reaches it; the call has
    no ``key``. For items of a total order (the task's ints or strings; NaN aside)."""
    up = parents(tree)
    call = up.get(id(node))
    k = _int_const(node)
    if not (isinstance(call, ast.Call) and k is not None and call.args[:1] == [node] and len(call.args) == 2):
        return False
    if k < 1:
        return False  # nlargest(0, it) never reads it, nlargest(1, it) reads it all (found by review)
    if call.keywords or not _heapq_top(tree, call.func):
        return False
    holder = up.get(id(call))
    target: ast.AST | None = None
    if isinstance(holder, ast.Assign) and len(holder.targets) == 1:
        target = holder.targets[0]
    elif isinstance(holder, ast.Tuple) and isinstance(stmt := up.get(id(holder)), ast.Assign):
        outer = stmt.targets[0] if len(stmt.targets) == 1 else None
        if isinstance(outer, ast.Tuple | ast.List) and len(outer.elts) == len(holder.elts):
            target = outer.elts[holder.elts.index(call)]
    if not isinstance(target, ast.Name):
        return False
    a = target.id
    func, _, _ = _statement_of(tree, call)
    items = call.args[1]
    if func is None or not (isinstance(items, ast.Name) and _input_name(tree, func, items.id)):
        return False  # the task's own items, of a total order (found by review: sets ordered by subset)
    if (
        func is None
        or not self_contained(tree, func)
        or introspects(tree)
        or not _plain_locals(func, {a})
        or a in binds_not_by_name(func)
    ):
        return False
    for n in ast.walk(func):
        if not (isinstance(n, ast.Name) and n.id == a) or n is target:
            continue
        sub = up.get(id(n))
        if not isinstance(n.ctx, ast.Load) or not (
            isinstance(sub, ast.Subscript)
            and sub.value is n
            and isinstance(sub.ctx, ast.Load)
            and (c := _int_const(sub.slice)) is not None
            and 0 <= c < k
        ):
            return False
    return True


def _heapq_top(tree: ast.Module, f: ast.AST) -> bool:
    """``f`` is heapq's ``nlargest`` or ``nsmallest``: ``heapq.nlargest`` (heapq a module) or the name
    imported from heapq and bound by nothing else."""
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "heapq":
        name = "heapq" if f.attr in ("nlargest", "nsmallest") else ""
    else:
        name = f.id if isinstance(f, ast.Name) and f.id in ("nlargest", "nsmallest") else ""
    if not name:
        return False
    # every import binding the name is heapq's own (found by review: `import x as heapq`,
    # `from builtins import divmod as nlargest`), nothing else binds it, nothing stores into heapq
    found = False
    for n in ast.walk(tree):
        if isinstance(n, ast.Import | ast.ImportFrom):
            for al in n.names:
                if (al.asname or al.name).split(".")[0] != name:
                    continue
                mine = (
                    (isinstance(n, ast.Import) and al.name == "heapq")
                    if name == "heapq"
                    else (isinstance(n, ast.ImportFrom) and n.module == "heapq" and al.name == name)
                )
                if not mine:
                    return False
                found = True
        if (
            isinstance(n, ast.Attribute | ast.Subscript)
            and not isinstance(n.ctx, ast.Load)
            and isinstance(n.value, ast.Name)
            and n.value.id == "heapq"
        ):
            return False  # heapq.nlargest = ... (found by review)
    return found and not bound_beside_imports(tree, name)
