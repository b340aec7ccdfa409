"""Equivalence rules about stores: a value never read, a table whose initial cells are never read.

A mutant that changes only a value that is stored and then never seen behaves as the reference does.
These rules say so when the program's own text shows it, and only then: the stored value has no side
effect (:func:`pure`) and carries the changed constant only as an element or with a sign, so nothing
runs, or raises, differently while it is built; and every path after the store
either never reads the name (:func:`dead_store`, by :mod:`alignforge.verify._liveness`) or writes each
cell of a fresh table before any read of it (:func:`overwritten_table`, :func:`filled_in_order`). Anything
they cannot see through (a call, a closure, ``locals()``, a ``try`` around a half-filled table) makes them
answer no.
"""

from __future__ import annotations

import ast

from alignforge.verify._liveness import introspects, live_after, nested_scopes, reads

__all__ = [
    "dead_store",
    "overwritten_table",
    "filled_in_order",
    "cell_counter",
    "parents",
    "pure",
    "rebound",
    "binds_not_by_name",
]


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


# What a stored value (or a table's size) may hold: nothing with a side effect (no call but these
# builtins, no attribute but a module's), and no division, modulo, power or shift. The changed constant
# itself never reaches these: the rules allow it only as an element or with a sign, because for
# neighbouring ints int(s, b), range steps, min/max of what may be empty and float() can raise for one
# and not the other (found by review).
_PURE_CALLS = frozenset({"range", "len", "float", "int", "abs", "min", "max", "list", "tuple", "bool"})
_PURE_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)
_PURE_NODES = (
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.UnaryOp,
    ast.UAdd,
    ast.USub,
    ast.Not,
    ast.Invert,
    ast.Compare,
    ast.cmpop,
    ast.BoolOp,
    ast.boolop,
    ast.IfExp,
    ast.ListComp,
    ast.SetComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Store,
    *_PURE_BINOPS,
)


def rebound(tree: ast.Module, name: str) -> bool:
    """Whether the program binds ``name`` anywhere, by any statement or as a parameter (so a builtin of
    that name may not be the builtin)."""
    return name in _binds_in(tree) or any(isinstance(n, ast.arg) and n.arg == name for n in ast.walk(tree))


def _modules(tree: ast.Module) -> set[str]:
    """Names bound only by ``import x`` / ``import x as y`` (``x.attr`` then reads a module attribute)."""
    imported = {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
    }
    return {
        m
        for m in imported
        if not any(
            isinstance(n, ast.Name) and n.id == m and not isinstance(n.ctx, ast.Load) for n in ast.walk(tree)
        )
    }


def pure(tree: ast.Module, expr: ast.AST) -> bool:
    """The expression has no side effect, and changing an int constant in it changes only its value."""
    modules = _modules(tree)
    for node in ast.walk(expr):
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _PURE_BINOPS):
                return False
        elif isinstance(node, ast.Call):
            if not (
                isinstance(node.func, ast.Name)
                and node.func.id in _PURE_CALLS
                and not node.keywords
                and not rebound(tree, node.func.id)
            ):
                return False
        elif isinstance(node, ast.Attribute):
            if not (
                isinstance(node.value, ast.Name)
                and node.value.id in modules
                and isinstance(node.ctx, ast.Load)
            ):
                return False
        elif isinstance(node, ast.comprehension):
            if node.is_async:
                return False
        elif not isinstance(node, _PURE_NODES):
            return False
    return True


def _statement_of(
    tree: ast.Module, node: ast.AST
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.stmt | None, list[ast.AST]]:
    """The function and the statement that hold ``node``, and the chain of ancestors from the node up."""
    up = parents(tree)
    chain: list[ast.AST] = []
    cur: ast.AST | None = node
    stmt: ast.stmt | None = None
    while cur is not None:
        chain.append(cur)
        if stmt is None and isinstance(cur, ast.stmt):
            stmt = cur
        if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and cur is not node:
            if isinstance(cur, ast.Lambda):
                return None, None, chain
            return cur, stmt, chain
        cur = up.get(id(cur))
    return None, stmt, chain


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


def _binds_in(node: ast.AST, exempt: set[int] | None = None) -> set[str]:
    """Every name ``node`` can rebind, by any statement: assignment and loop targets, ``del``, ``import ..
    as``, ``except .. as``, ``def``/``class``, ``with .. as``, ``:=`` and ``match`` captures (less the
    target nodes in ``exempt``)."""
    exempt = exempt or set()
    names = {
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in exempt
    }
    return names | binds_not_by_name(node)


def binds_not_by_name(node: ast.AST) -> set[str]:
    """The names ``node`` binds other than through a ``Name`` target: ``import .. as``, ``except .. as``,
    ``def``/``class``, and ``match`` captures (``case n``, ``case [*n]``, ``case {**n}``)."""
    out: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.alias):
            out.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out |= {n.name} if n is not node else set()
        elif isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name:
            out.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            out.add(n.rest)
    return out


def _table_dims(tree: ast.Module, value: ast.AST, site: ast.AST) -> list[ast.AST] | None:
    """The sizes of a table built as ``[site] * E``, ``[site for _ in range(E)]`` or a comprehension of
    those over ``range(R)`` (every row its own list), outermost first; None for anything else."""
    if value is site:
        return []
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
        for one, size in ((value.left, value.right), (value.right, value.left)):
            if isinstance(one, ast.List) and len(one.elts) == 1 and one.elts[0] is site and pure(tree, size):
                return [size]  # [c] * E: the one element is an int constant, so sharing it is harmless
        return None
    if isinstance(value, ast.ListComp) and len(value.generators) == 1:
        gen = value.generators[0]
        rows = _range_size(tree, gen.iter)
        if rows is None or gen.ifs or gen.is_async or not isinstance(gen.target, ast.Name):
            return None
        if gen.target.id in reads(value.elt):  # rows that depend on the row (a triangle)
            return None
        inner = _table_dims(tree, value.elt, site)
        return None if inner is None else [rows, *inner]
    return None


def _range_size(tree: ast.Module, call: ast.AST) -> ast.AST | None:
    """E for ``range(E)`` or ``range(0, E)`` with E side-effect free; None otherwise."""
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "range"
        and not call.keywords
        and not rebound(tree, "range")
    ):
        return None
    args = call.args
    if (
        len(args) == 2
        and isinstance(args[0], ast.Constant)
        and type(args[0].value) is int
        and args[0].value == 0
    ):
        args = args[1:]
    return args[0] if len(args) == 1 and pure(tree, args[0]) else None


def _table_at(
    tree: ast.Module, node: ast.AST
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.Assign, str, list[ast.AST], list[ast.stmt]] | None:
    """For a constant that is the initial value of a fresh table ``T = [c] * E`` (or a comprehension of
    rows): the function, the statement, T, the sizes (outermost first) and the block of statements the
    table is made in. None when T is not a plain local (global, closure, introspection) or a ``try`` or
    ``with`` holds the statement (a handler could read a half-filled table)."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return None
    if not isinstance(stmt.targets[0], ast.Name) or not isinstance(node, ast.Constant):
        return None
    table = stmt.targets[0].id
    dims = _table_dims(tree, stmt.value, node)
    if not dims or live_after(func, stmt, table) is None:
        return None
    block = next((b for b in _blocks(parents(tree).get(id(stmt))) if stmt in b), None)
    if block is None or any(isinstance(a, ast.Try | ast.With | ast.AsyncWith) for a in chain):
        return None
    return func, stmt, table, dims, block


def overwritten_table(tree: ast.Module, node: ast.AST) -> bool:
    """A table's initial value, when the very next statement writes every cell before anything reads one:

        T = [c] * E                          T = [[c for _ in range(C)] for _ in range(R)]
        for i in range(E):                   for r in range(R):
            T[i] = <no T in the loop>            for k in range(C):
                                                     T[r][k] = <no T in the loops>

    The store is the first statement of the innermost loop, so it runs for every index; nothing else in
    the loops mentions T (so no cell is read before it is written) or any size (so the sizes are those
    the table was built with), and no ``break``, ``return`` or ``yield`` leaves the loops early. Outside
    any ``try`` or ``with`` (a handler could read a half-written table); T is a local no nested scope
    or introspection reaches (:func:`live_after`'s conditions)."""
    site = _table_at(tree, node)
    if site is None:
        return False
    func, stmt, table, dims, block = site
    follow = block.index(stmt) + 1
    if follow >= len(block):
        return False
    outer = loop = block[follow]
    index: list[str] = []
    for size in dims:
        if not (
            isinstance(loop, ast.For)
            and isinstance(loop.target, ast.Name)
            and not loop.orelse
            and ast.dump(_range_size(tree, loop.iter) or ast.Pass()) == ast.dump(size)
        ):
            return False
        index.append(loop.target.id)
        loop = loop.body[0]
    sizes = set().union(*({n.id for n in ast.walk(s) if isinstance(n, ast.Name)} for s in dims))
    if len(set(index)) != len(index) or table in index or sizes & {table, *index}:
        return False
    # The inner sizes are evaluated again for every row: names and int arithmetic only, none rebound in
    # the loops (a call such as len(xs) could change as the loops run).
    if any(not isinstance(n, _SIZE_NODES) for s in dims[1:] for n in ast.walk(s)):
        return False
    # Sizes and indices only the function's own statements can rebind (a callee could change a global
    # size, or a closure the index while the stored value is evaluated, before the index is).
    if introspects(tree) or not _plain_locals(func, sizes | set(index)):
        return False
    store = loop
    if not (
        isinstance(store, ast.Assign) and len(store.targets) == 1 and _cells(store.targets[0], table, index)
    ):
        return False
    loop_targets = set()
    cur: ast.AST = outer
    for _ in dims:  # the designated loops' own targets, and no other
        assert isinstance(cur, ast.For)
        loop_targets.add(id(cur.target))
        cur = cur.body[0]
    if _binds_in(outer, loop_targets) & (sizes | set(index) | {table}):
        return False  # a size or an index rebound inside the loops: the store would miss cells
    for n in ast.walk(outer):
        if isinstance(n, ast.Break | ast.Return | ast.Yield | ast.YieldFrom | ast.Await):
            return False
        if isinstance(n, ast.Name) and n.id == table and n is not _base(store.targets[0]):
            return False
    return True


_SIZE_NODES = (ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)


def _blocks(parent: ast.AST | None) -> list[list[ast.stmt]]:
    if parent is None:
        return []
    return [
        getattr(parent, f)
        for f in ("body", "orelse", "finalbody")
        if isinstance(getattr(parent, f, None), list)
    ]


def _base(target: ast.AST) -> ast.AST:
    while isinstance(target, ast.Subscript):
        target = target.value
    return target


def _cells(target: ast.AST, table: str, index: list[str]) -> bool:
    """``target`` is ``table[i0][i1]...`` with exactly the loop variables, in order."""
    for name in reversed(index):
        if not (
            isinstance(target, ast.Subscript)
            and isinstance(target.slice, ast.Name)
            and target.slice.id == name
        ):
            return False
        target = target.value
    return isinstance(target, ast.Name) and target.id == table


def _plain_locals(func: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> bool:
    """Every name is a local of ``func`` (a parameter, or bound in its own code) that no ``global`` or
    ``nonlocal`` declares and no nested scope mentions: only ``func``'s own statements can rebind it."""
    params = _params(func)
    inner = {id(m) for n in nested_scopes(func) for m in ast.walk(n)}
    bound = {
        n.id
        for n in ast.walk(func)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in inner
    } | binds_not_by_name(func)
    for n in ast.walk(func):
        if isinstance(n, ast.Global | ast.Nonlocal) and names & set(n.names):
            return False
        if id(n) in inner and isinstance(n, ast.Name) and n.id in names:
            return False
    return names <= params | bound


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = func.args
    return {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}


def _int_const(node: ast.AST) -> int | None:
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def _back_step(index: ast.AST, var: str) -> int | None:
    """d for ``var - d`` (d an int constant), 0 for ``var`` itself; None for any other index."""
    if isinstance(index, ast.Name) and index.id == var:
        return 0
    if (
        isinstance(index, ast.BinOp)
        and isinstance(index.op, ast.Sub)
        and isinstance(index.left, ast.Name)
        and index.left.id == var
    ):
        return _int_const(index.right)
    return None


def _cell_reads(node: ast.AST, table: str, store_at: str | None = None) -> list[ast.Subscript] | None:
    """The ``table[...]`` loads in ``node``; None when ``table`` appears any other way (passed on, sliced,
    stored into: then this module cannot follow its cells). With ``store_at``, the stores
    ``table[store_at] = v`` are allowed too (and are not reads)."""
    found: list[ast.Subscript] = []
    up = parents(node)
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id == table:
            sub = up.get(id(n))
            if not (isinstance(sub, ast.Subscript) and sub.value is n):
                return None
            if isinstance(sub.ctx, ast.Load):
                found.append(sub)
                continue
            store = up.get(id(sub))
            if not (
                store_at is not None
                and isinstance(store, ast.Assign)
                and store.targets == [sub]
                and _back_step(sub.slice, store_at) == 0
            ):
                return None
    return found


def filled_in_order(tree: ast.Module, node: ast.AST) -> bool:
    """A 1-D table's initial value, when the code after it fills the table in order before reading it:

        T = [c] * E                     # or [c for _ in range(E)]; E names and int arithmetic only
        ...                             # statements that do not mention T or rebind E's names
        T[k] = <T[k'] for k' written>   # writes at int constants K, in any order among those statements
        for i in range(L, E):           # L an int constant; E as written above
            T[i] = <T[i - d] only, d >= 1>
            ...                         # T only as T[i] or T[i - d], stored only as T[i]
        <after the loop: any use of T when K holds 0 .. L-1, else only T[E - 1]>

    Each read ``T[i - d]`` finds a cell written before: an earlier pass of the loop, or one of K when
    ``i - d < L`` (required: L-d .. L-1 all in K, so the index is never negative). After the loop every
    cell from L on is written, and below L those of K. When K misses some cells below L, the only read
    allowed after the loop is ``T[X]`` with E written as ``X + 1``: the constant writes succeed only when
    X >= max(K) (else IndexError, in the mutant too), and every cell from max(K) to L-1 must be in K.
    No ``break``/``return``/``yield`` in the loop, no ``try``/``with`` around, T a local no closure or
    introspection reaches."""
    site = _table_at(tree, node)
    if site is None or len(site[3]) != 1:
        return False
    func, stmt, table, (size,), block = site
    if any(not isinstance(n, _SIZE_NODES) for n in ast.walk(size)):
        return False
    size_names = {n.id for n in ast.walk(size) if isinstance(n, ast.Name)}
    if table in size_names or introspects(tree) or not _plain_locals(func, size_names):
        return False  # (a global size could change under a call; `not T` means another list at the loop)
    written: set[int] = set()
    rest = iter(block[block.index(stmt) + 1 :])
    loop: ast.For | None = None
    for s in rest:
        if isinstance(s, ast.For):
            loop = s
            break
        if _binds_in(s) & (size_names | {table}):
            return False
        if any(isinstance(n, ast.Break | ast.Continue) for n in ast.walk(s)):
            return False  # an enclosing loop left (or restarted) before the table is filled
        if table not in {n.id for n in ast.walk(s) if isinstance(n, ast.Name)}:
            continue
        if not (
            isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Subscript)
        ):
            return False
        target = s.targets[0]
        k = _int_const(target.slice)
        reads_ = _cell_reads(s.value, table)
        if not (isinstance(target.value, ast.Name) and target.value.id == table) or k is None or k < 0:
            return False
        if reads_ is None or any(_int_const(r.slice) not in written for r in reads_):
            return False
        if table in reads(target.slice):
            return False
        written.add(k)
    if loop is None or loop.orelse or not isinstance(loop.target, ast.Name):
        return False
    var = loop.target.id
    call = loop.iter
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "range"
        and not rebound(tree, "range")
        and not call.keywords
        and len(call.args) == 2
        and ast.dump(call.args[1]) == ast.dump(size)
    ):
        return False
    start = _int_const(call.args[0])
    if start is None or start < 0 or var == table or var in size_names or not loop.body:
        return False
    if not _plain_locals(func, {var}) or _binds_in(loop, {id(loop.target)}) & (size_names | {var, table}):
        return False  # the index (or a size, or the table) rebound in the loop, or by a closure
    first = loop.body[0]
    if not (
        isinstance(first, ast.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0], ast.Subscript)
        and isinstance(first.targets[0].value, ast.Name)
        and first.targets[0].value.id == table
        and _back_step(first.targets[0].slice, var) == 0
    ):
        return False
    steps: set[int] = set()
    for k, part in enumerate(loop.body):
        # the first statement's value may not read T[i] (not yet written); later statements may store it
        found = _cell_reads(part.value, table) if k == 0 else _cell_reads(part, table, store_at=var)  # type: ignore[attr-defined]
        if found is None:
            return False
        for r in found:
            d = _back_step(r.slice, var)
            if d is None or (k == 0 and d == 0) or d < 0:
                return False
            steps.add(d)
    if any(
        isinstance(n, ast.Break | ast.Return | ast.Yield | ast.YieldFrom | ast.Await) for n in ast.walk(loop)
    ):
        return False
    if any(not set(range(start - d, start)) <= written for d in steps if d > 0):
        return False
    after = block[block.index(loop) + 1 :]
    if set(range(start)) <= written:
        return True  # every cell below L written: the loop writes the rest (E == its end)
    if not written or not set(range(max(written), start)) <= written or block is not func.body:
        return False  # (in a nested block, code after the block could read an unwritten cell)
    last = _minus_one(size)
    if any(_binds_in(s) & size_names for s in after):
        return False  # X must still be E - 1 where it is read
    for s in after:
        found = _cell_reads(s, table)
        if found is None or any(last is None or ast.dump(r.slice) != ast.dump(last) for r in found):
            return False
    return True


def _minus_one(size: ast.AST) -> ast.AST | None:
    """X when ``size`` is written ``X + 1``."""
    if isinstance(size, ast.BinOp) and isinstance(size.op, ast.Add) and _int_const(size.right) == 1:
        return size.left
    return None


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
    tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, d: str
) -> list[tuple[ast.Subscript, ast.AST | None]] | None:
    """Each ``d[...]`` in ``func`` with the node above it, for a dict ``d`` made there: a plain local (no
    parameter, match capture, closure or introspection; an import could bind it to a dict that already
    holds cells) bound only to new, empty dicts, and otherwise used only by key tests (``e in d``,
    ``e not in d``: the keys are the same in both programs). None where any of that fails (``d.get``,
    ``d.values()``, ``len(d)``, ``return d``, ``f(d)``, ``g = d``, ...)."""
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
            if not (
                isinstance(above, ast.Assign) and above.targets == [n] and _fresh_dict(tree, above.value)
            ):
                return None
            continue
        if (
            isinstance(above, ast.Compare)
            and above.comparators == [n]
            and isinstance(above.ops[0], ast.In | ast.NotIn)
        ):
            continue
        if not (isinstance(above, ast.Subscript) and above.value is n):
            return None
        out.append((above, up.get(id(above))))
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
