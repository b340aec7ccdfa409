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
from collections.abc import Callable, Sequence
from typing import NamedTuple

from alignforge.verify._liveness import NESTED_SCOPES, introspects, live_after, nested_scopes, reads

__all__ = [
    "builtin_call",
    "dead_store",
    "overwritten_table",
    "filled_in_order",
    "filled_by_rows",
    "filled_as_triangle",
    "grown_table",
    "self_contained",
    "reflective",
    "stores_of",
    "required_params",
    "fixed_input",
    "cell_counter",
    "scaled_counter",
    "parents",
    "pure",
    "rebound",
    "binds_not_by_name",
    "bound_beside_imports",
    "modules_of",
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
    return name in _binds_in(tree) or any(
        (isinstance(n, ast.arg) and n.arg == name) or (isinstance(n, ast.alias) and n.name == "*")
        for n in ast.walk(tree)
    )  # `from m import *` may bind any name (audioop's `max`)


def builtin_call(tree: ast.Module, node: ast.AST, name: str, arities: tuple[int, ...]) -> bool:
    """``node`` calls the builtin ``name`` (the program never rebinds it) with positional arguments only,
    as many as one of ``arities``, none of them starred (``range(*xs)`` may start below 0: found by
    review)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and not rebound(tree, name)
        and not node.keywords
        and len(node.args) in arities
        and not any(isinstance(a, ast.Starred) for a in node.args)
    )


def modules_of(tree: ast.Module) -> set[str]:
    """Names bound only by ``import x`` / ``import x as y`` (``x.attr`` then reads a module attribute)."""
    imported = {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
    }
    return {m for m in imported if not bound_beside_imports(tree, m)}


def bound_beside_imports(tree: ast.Module, name: str) -> bool:
    """Whether anything but an import binds ``name``: an assignment or loop target, ``def``/``class``
    (found by review: a module-level ``class defaultdict``), a parameter, ``except .. as``, a match
    capture, a star import."""
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            return True
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == name:
            return True
        if isinstance(n, ast.arg) and n.arg == name:
            return True
        if isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name == name:
            return True
        if isinstance(n, ast.MatchMapping) and n.rest == name:
            return True
        if isinstance(n, ast.alias) and n.name == "*":
            return True
    return False


def pure(tree: ast.Module, expr: ast.AST) -> bool:
    """The expression has no side effect, and changing an int constant in it changes only its value."""
    modules = modules_of(tree)
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
    if not builtin_call(tree, call, "range", (1, 2)):
        return None
    assert isinstance(call, ast.Call)
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
    the table was built with), and no ``break``, ``return`` or ``yield`` leaves the loops early.

    The store may also be a chain, ``if``/``elif``/``else`` with one store of T[r][k] in each branch
    (:func:`_chain_of_stores`), whose values read cells that come earlier in the loops' order: each index
    the loop variable, the variable less a constant it is known to reach (``elif`` after
    ``if r == 0 or k == 0`` knows r, k >= 1), or the variable floor-divided, one of them smaller
    (``T[r - 1][k] + T[r // 2][k - 1]``). Those cells are already written, whatever the initial value. Outside
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
    allowed = _chain_of_stores(loop, table, index)
    if allowed is None:
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
        if isinstance(n, ast.Name) and n.id == table and id(n) not in allowed:
            return False
    return True


def _chain_of_stores(
    stmt: ast.stmt, table: str, index: list[str], known: dict[str, int] | None = None
) -> set[int] | None:
    """For the innermost statement of a loop nest over every cell of T, in order: ``T[i][j] = v`` with no T
    in v, or an ``if``/``elif``/``else`` chain whose every branch is one such store, v reading only cells
    before T[i][j] in the nest's order (:func:`_earlier_in_nest`, with what the tests passed so far say of
    the loop variables) and no test mentioning T. The ids of the T names in those stores and reads; None
    for anything else. ``known``: loop variable -> the least it can be there (else 0, range's start)."""
    return _stores_on_every_path(
        stmt,
        table,
        lambda target: _cells(target, table, index),
        lambda read, floors: _earlier_in_nest(read, index, floors),
        tests_read=False,
        known=known or {},
    )


def _stores_on_every_path(
    stmt: ast.stmt,
    table: str,
    is_target: Callable[[ast.AST], bool],
    read_ok: Callable[[ast.Subscript, dict[str, int]], bool],
    *,
    tests_read: bool,
    known: dict[str, int],
) -> set[int] | None:
    """``stmt`` is one store ``T[..] = v`` whose target ``is_target``, or an ``if``/``else`` (``elif``)
    chain of them, one statement a branch, so every path through it stores that cell once. Every cell
    read, whole (``T[a][b]``, not the row ``T[a]``), in a value (or, ``tests_read``, a test) must be
    ``read_ok`` with what the tests passed so far say of the names (:func:`_floors`). The ids of the T
    names in it; None for anything else."""
    if isinstance(stmt, ast.Assign):
        if not (len(stmt.targets) == 1 and is_target(stmt.targets[0])):
            return None
        found = _whole_reads(stmt.value, table)
        if found is None or any(not read_ok(r, known) for r in found):
            return None
        return {id(_base(stmt.targets[0]))} | {id(_base(r)) for r in found}
    if not (isinstance(stmt, ast.If) and len(stmt.body) == 1 and len(stmt.orelse) == 1):
        return None
    in_test = _whole_reads(stmt.test, table)
    if in_test is None or (in_test and not tests_read) or any(not read_ok(r, known) for r in in_test):
        return None
    taken = {**known}
    for name, least in _floors(stmt.test, negated=False).items():
        taken[name] = max(taken.get(name, 0), least)
    failed = {**known}
    for name, least in _floors(stmt.test, negated=True).items():
        failed[name] = max(failed.get(name, 0), least)
    body = _stores_on_every_path(stmt.body[0], table, is_target, read_ok, tests_read=tests_read, known=taken)
    rest = _stores_on_every_path(
        stmt.orelse[0], table, is_target, read_ok, tests_read=tests_read, known=failed
    )
    if body is None or rest is None:
        return None
    return body | rest | {id(_base(r)) for r in in_test}


def _whole_reads(node: ast.AST, table: str) -> list[ast.Subscript] | None:
    """The cells of T that ``node`` loads, each as its outermost subscript (``T[a][b]``, where
    :func:`_cell_reads` gives ``T[a]``); None when T appears any other way."""
    found = _cell_reads(node, table)
    if found is None:
        return None
    up = parents(node)
    out = []
    for r in found:
        whole: ast.Subscript = r
        while isinstance(above := up.get(id(whole)), ast.Subscript) and above.value is whole:
            whole = above
        out.append(whole)
    return out


def _floors(test: ast.AST, *, negated: bool) -> dict[str, int]:
    """What ``test`` (or, ``negated``, its failing) says of names that are never negative here: the least
    each can be. Passed, ``x >= g`` and ``x > g`` (``and`` of them); failed, ``x == 0`` (``or`` of them)
    gives x >= 1."""
    joiner = ast.Or if negated else ast.And
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, joiner) else [test]
    out: dict[str, int] = {}
    for t in parts:
        if not (isinstance(t, ast.Compare) and len(t.ops) == 1):
            continue
        left, op, right = t.left, t.ops[0], t.comparators[0]
        if isinstance(right, ast.Name) and not isinstance(left, ast.Name):
            left, right = right, left
            mirror = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq}
            op = mirror[type(op)]() if type(op) in mirror else ast.NotEq()  # g > x is x < g (found by review)
        g = _int_const(right)
        if not isinstance(left, ast.Name) or g is None:
            continue
        if negated and isinstance(op, ast.Eq) and g == 0:
            least = 1
        elif not negated and isinstance(op, ast.GtE):
            least = g
        elif not negated and isinstance(op, ast.Gt):
            least = g + 1
        else:
            continue
        out[left.id] = max(out.get(left.id, 0), least)
    return out


def _earlier_in_nest(read: ast.Subscript, index: list[str], known: dict[str, int]) -> bool:
    """``read`` is ``T[e1][e2]..`` to full depth, each e_k ``x_k``, ``x_k - a`` (a >= 1, and x_k >= a is
    known: never a negative index) or ``x_k // c`` (c >= 2), at least one of them below its x_k. Every
    index is then at most the current one and one is smaller: the cell comes earlier in the nest's order
    (lexicographic), so it is already written."""
    parts: list[ast.AST] = []
    node: ast.AST = read
    while isinstance(node, ast.Subscript):
        parts.append(node.slice)
        node = node.value
    parts.reverse()
    if len(parts) != len(index):
        return False
    smaller = False
    for e, x in zip(parts, index, strict=True):
        d = _back_step(e, x)
        if d is not None:
            if d < 0 or known.get(x, 0) < d:
                return False
            smaller = smaller or d > 0
            continue
        if (
            isinstance(e, ast.BinOp)
            and isinstance(e.op, ast.FloorDiv)
            and isinstance(e.left, ast.Name)
            and e.left.id == x
            and (_int_const(e.right) or 0) >= 2
        ):
            smaller = smaller or known.get(x, 0) >= 1  # x // c < x once x >= 1
            continue
        return False
    return smaller


def filled_by_rows(tree: ast.Module, node: ast.AST) -> bool:
    """A 2-D table's initial value, when its first rows and columns are written whole, then the rest row by
    row, before any cell is read (edit distance, LCS with its edges set by loops):

        T = [[c] * C for _ in range(R)]         # or [[c for _ in range(C)] for _ in range(R)]
        ...                                     # statements that do not mention T or rebind R's, C's names
        T[a][b] = v                             # single cells, int constants a, b
        for x in range(lo, R): T[x][b] = v      # a whole column b (from lo, cells above it single ones)
        for x in range(lo, C): T[a][x] = v      # a whole row a
        for i in range(Li, R):                  # every row above Li and column left of Lj written whole
            for j in range(Lj, C):
                T[i][j] = v                     # or an if/elif/else chain storing T[i][j] in every branch

    In the loops, v (and a chain's tests) read only T[i - a][e] (a >= 1, i - a >= 0 known: a row before i,
    written whole, e any column), T[i][j - b] (b >= 1, j - b >= 0 known: before j in this row, or in a
    column written whole), T[r][e] for a row r < Li, T[e][k] for a column k < Lj. A line loop's value reads
    only cells written before it: single cells, or the line's cell before x when that one is written.
    After the loops every cell is written, whatever reads come after. No ``break``, ``continue``,
    ``return`` or ``yield`` in the loops, no ``try``/``with`` around, T a local no closure or introspection
    reaches; indices and sizes only the function's own statements rebind, and none of them in the loops."""
    found = _edges_first(tree, node)
    return found is not None and len(found.nest.body) == 1 and _rows_nest(tree, found)


class _Edges(NamedTuple):
    """A 2-D table up to its nest (:func:`_edges_first`): where it is made, its sizes, and what is written
    before the nest: single cells (``points``) and whole lines (``lines``: ("row", a) / ("col", b) -> the
    index the line is written from)."""

    func: ast.FunctionDef | ast.AsyncFunctionDef
    table: str
    dims: tuple[str, str]
    size_names: set[str]
    points: set[tuple[int, int]]
    lines: dict[tuple[str, int], int]
    nest: ast.For
    block: list[ast.stmt]


def _edges_first(tree: ast.Module, node: ast.AST) -> _Edges | None:
    """For the initial value of a fresh 2-D table: the single cells and whole lines written before the first
    loop nest that mentions it (a ``for`` whose last statement is a ``for``), and that nest. Statements
    before it that do not mention T must not rebind T or a size name, nor ``break`` or ``continue`` an
    enclosing loop; those that do must be single cells or lines reading only cells written before them.
    None for anything else."""
    site = _table_at(tree, node)
    if site is None or len(site[3]) != 2:
        return None
    func, stmt, table, (rows, cols), block = site
    dims = (ast.dump(rows), ast.dump(cols))
    if any(not isinstance(n, _SIZE_NODES) for s in (rows, cols) for n in ast.walk(s)):
        return None
    size_names = {n.id for s in (rows, cols) for n in ast.walk(s) if isinstance(n, ast.Name)}
    if table in size_names or introspects(tree) or not _plain_locals(func, size_names):
        return None
    points: set[tuple[int, int]] = set()
    lines: dict[tuple[str, int], int] = {}
    for s in block[block.index(stmt) + 1 :]:
        if _binds_in(s) & (size_names | {table}):
            return None
        if any(isinstance(n, ast.Break | ast.Continue) for n in ast.walk(s)):
            return None  # an enclosing loop left (or restarted) before the table is filled
        if table not in {n.id for n in ast.walk(s) if isinstance(n, ast.Name)}:
            continue
        if isinstance(s, ast.For) and len(s.body) in (1, 2) and isinstance(s.body[-1], ast.For):
            return _Edges(func, table, dims, size_names, points, lines, s, block)
        if isinstance(s, ast.Assign):
            target = s.targets[0] if len(s.targets) == 1 else None
            cell = _const_cell(target, table)
            reads_ = _whole_reads(s.value, table)
            if cell is None or reads_ is None or any(_const_cell(r, table) not in points for r in reads_):
                return None
            points.add(cell)
            continue
        line = _line_loop(tree, func, s, table, dims, size_names, points)
        if line is None:
            return None
        key, lo = line
        lines[key] = min(lo, lines.get(key, lo))
    return None


def _int_index(e: ast.AST, names: set[str]) -> bool:
    """``e`` is an int: the loop variables ``names``, int constants, and ``+``, ``-``, ``*``, ``//`` of them
    (never a slice, nor a name that could hold one)."""
    if isinstance(e, ast.Name):
        return e.id in names
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv):
        return _int_index(e.left, names) and _int_index(e.right, names)
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _int_index(e.operand, names)
    return _int_const(e) is not None


def _two_deep(read: ast.Subscript, table: str) -> bool:
    """``read`` is ``T[a][b]``: a cell of the 2-D table, not a row nor a cell's element."""
    return (
        isinstance(read.value, ast.Subscript)
        and isinstance(read.value.value, ast.Name)
        and read.value.value.id == table
    )


def _const_cell(target: ast.AST | None, table: str) -> tuple[int, int] | None:
    """(a, b) for ``T[a][b]``, int constants >= 0."""
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Subscript)):
        return None
    a, b = _int_const(target.value.slice), _int_const(target.slice)
    base = target.value.value
    ok = (
        isinstance(base, ast.Name)
        and base.id == table
        and a is not None
        and b is not None
        and a >= 0
        and b >= 0
    )
    return (a, b) if ok else None  # type: ignore[return-value]


def _range_from(tree: ast.Module, call: ast.AST) -> tuple[int, str] | None:
    """(lo, dump of E) for ``range(lo, E)`` (lo an int constant >= 0) or ``range(E)``."""
    if not builtin_call(tree, call, "range", (1, 2)):
        return None
    assert isinstance(call, ast.Call)
    lo = 0 if len(call.args) == 1 else _int_const(call.args[0])
    return None if lo is None or lo < 0 else (lo, ast.dump(call.args[-1]))


def _line_loop(
    tree: ast.Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    loop: ast.stmt,
    table: str,
    dims: tuple[str, str],
    size_names: set[str],
    points: set[tuple[int, int]],
) -> tuple[tuple[str, int], int] | None:
    """For ``for x in range(lo, R): T[x][b] = v`` (a column) or ``for x in range(lo, C): T[a][x] = v`` (a
    row), the body one store or a chain of them: the line and lo. v reads single cells already written,
    or the line's cell before x when lo >= 1 and the cell before lo is one of them."""
    if not (
        isinstance(loop, ast.For)
        and isinstance(loop.target, ast.Name)
        and not loop.orelse
        and len(loop.body) == 1
    ):
        return None
    x = loop.target.id
    span = _range_from(tree, loop.iter)
    if span is None or x == table or x in size_names or not _plain_locals(func, {x}):
        return None
    if _binds_in(loop, {id(loop.target)}) & (size_names | {x, table}):
        return None
    lo, end = span
    found_key: list[tuple[str, int]] = []

    def is_target(target: ast.AST) -> bool:
        key = _line_of(target, table, x)
        if key is None or (found_key and found_key[0] != key):
            return False
        found_key.append(key)
        return end == dims[0 if key[0] == "col" else 1]

    def read_ok(read: ast.Subscript, _floors_: dict[str, int]) -> bool:
        if _const_cell(read, table) in points:
            return True
        if not found_key or not _two_deep(read, table):
            return False
        assert isinstance(read.value, ast.Subscript)
        kind, at = found_key[0]
        outer, inner = read.value.slice, read.slice
        moving, fixed = (outer, inner) if kind == "col" else (inner, outer)
        before = (lo - 1, at) if kind == "col" else (at, lo - 1)
        return _int_const(fixed) == at and _back_step(moving, x) == 1 and lo >= 1 and before in points

    first = loop.body[0]
    if isinstance(first, ast.Assign) and len(first.targets) == 1:
        is_target(first.targets[0])  # the line, known before any read is judged
    if (
        _stores_on_every_path(first, table, is_target, read_ok, tests_read=True, known={}) is None
        or not found_key
    ):
        return None
    return found_key[0], lo


def _line_of(target: ast.AST, table: str, x: str) -> tuple[str, int] | None:
    """("col", b) for ``T[x][b]``, ("row", a) for ``T[a][x]`` (a, b int constants >= 0)."""
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Subscript)):
        return None
    base = target.value.value
    if not (isinstance(base, ast.Name) and base.id == table):
        return None
    outer, inner = target.value.slice, target.slice
    if isinstance(outer, ast.Name) and outer.id == x and (b := _int_const(inner)) is not None and b >= 0:
        return "col", b
    if isinstance(inner, ast.Name) and inner.id == x and (a := _int_const(outer)) is not None and a >= 0:
        return "row", a
    return None


def _rows_nest(tree: ast.Module, found: _Edges) -> bool:
    """The last part of :func:`filled_by_rows`: the nest over rows Li.. and columns Lj.., with every row above
    Li and every column left of Lj written whole before it."""
    func, table, dims, size_names, points, lines, outer, _ = found
    inner = outer.body[0]
    assert isinstance(inner, ast.For)
    down, across = _range_from(tree, outer.iter), _range_from(tree, inner.iter)
    if down is None or across is None or (down[1], across[1]) != dims:
        return False
    li, lj = down[0], across[0]
    names = _nest_names(found, inner)
    if names is None:
        return False
    i, j = names

    def written(r: int, c: int) -> bool:
        return (r, c) in points or lines.get(("row", r), c + 1) <= c or lines.get(("col", c), r + 1) <= r

    for r in range(li):  # rows above the nest written whole: the row's line, and single cells before it
        lo = lines.get(("row", r))
        if lo is None or not all(written(r, c) for c in range(lo)):
            return False
    for c in range(lj):
        lo = lines.get(("col", c))
        if lo is None or not all(written(r, c) for r in range(lo)):
            return False

    def read_ok(read: ast.Subscript, known: dict[str, int]) -> bool:
        if not _two_deep(read, table):
            return False
        assert isinstance(read.value, ast.Subscript)
        row, col = read.value.slice, read.slice
        if (r := _int_const(row)) is not None:
            return 0 <= r < li
        if (c := _int_const(col)) is not None and 0 <= c < lj:
            return _int_index(row, {i, j})  # T[:][0] would be a whole row (found by review)
        a = _back_step(row, i)
        if a is not None and a >= 1:
            return max(li, known.get(i, 0)) - a >= 0
        b = _back_step(col, j)
        return a == 0 and b is not None and b >= 1 and max(lj, known.get(j, 0)) - b >= 0

    chain = _stores_on_every_path(
        inner.body[0], table, lambda t: _cells(t, table, [i, j]), read_ok, tests_read=True, known={}
    )
    return chain is not None


def self_contained(tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The function runs only as the task calls it, and nothing but its own statements runs while it
    does: the module holds only imports, undecorated top-level functions and names bound to constants
    (no statement runs a call at import, no class exists: no property, no ``__getitem__``, no dunder a
    value could bring); no function of the module is named inside ``func`` (no recursion, no helper,
    no passing itself to something that calls it), none names ``func`` (nobody else calls it); ``func``
    has no nested function or lambda, no ``global``/``nonlocal``, no store into an attribute (a module's
    function replaced: ``heapq.nlargest = ..``). The newer rules' threat model (found by review:
    module-level calls, mutual recursion, ``type('C', (), {..})``, ``assertRaises(IndexError, f)``, a
    property changing a global list, a helper rebinding a global)."""
    defs = set()
    for st in tree.body:
        if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef) and not st.decorator_list:
            defs.add(st.name)
            a = st.args
            heads = [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
            notes = [x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x]
            if any(not isinstance(n, _CONSTANT_NODES) for h in heads for n in ast.walk(h)) or any(
                isinstance(n, ast.Call | ast.NamedExpr | ast.Lambda)
                for h in [*notes, st.returns]
                if h
                for n in ast.walk(h)
            ):
                return False  # a default or annotation runs at import: `a=(c := helper)` (found by review)
        elif isinstance(st, ast.Assign) and all(isinstance(t, ast.Name) for t in st.targets):
            if not all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(st.value)):
                return False
        elif not isinstance(st, ast.Import | ast.ImportFrom):
            return False
    if func not in tree.body or reflective(tree):
        return False
    for n in ast.walk(tree):
        if isinstance(n, ast.ClassDef | ast.Global | ast.Nonlocal | ast.Match):
            return False  # (a match binds names without Name nodes: found by review)
        if isinstance(n, ast.Name) and n.id == func.name:
            return False  # (a def's name is no Name node: only a use of it)
        if isinstance(n, ast.Import | ast.ImportFrom):
            relative = isinstance(n, ast.ImportFrom) and bool(n.level)
            mods = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
            if relative or any(m.split(".")[0] not in _PLAIN_MODULES for m in mods):
                return False
    for n in ast.walk(func):
        if n is not func and isinstance(
            n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
        ):
            return False
        if isinstance(n, ast.Name) and n.id in defs:
            return False
        if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load):
            return False
    return True


def reflective(tree: ast.Module) -> bool:
    """Whether the program may reach an object by a name it builds at run time (its frame, its locals, a
    module's functions): a reflective name (``getattr``, ``attrgetter``, ``type``, ``vars``, ..), a
    name or attribute with underscores (``sys._getframe``, ``x.__setattr__``, ``__builtins__``), a
    string holding ``__`` (``sys.modules['__main__']``, ``'{0.__class__}'.format``), ``.format`` on a
    string built at run time, ``string.Formatter``'s field getters, or a class of its own (its dunders,
    ``__index__``, ``__rmul__``, ``__eq__`` or a metaclass, run where no rule looks). Every equivalence
    rule refuses
    such a program (found by review: ``operator.attrgetter('_get' + 'frame')(sys)()`` read a table's
    initial cells through the frame's locals)."""
    for n in ast.walk(tree):
        if isinstance(n, ast.ClassDef):
            return True  # its dunders (__index__, __rmul__, __eq__, a metaclass) run unseen (found by review)
        if isinstance(n, ast.Name) and (n.id in _REFLECTIVE or n.id.startswith("__")):
            return True
        if isinstance(n, ast.Constant) and isinstance(n.value, str | bytes) and "__" in str(n.value):
            return True
        if isinstance(n, ast.Attribute) and (n.attr.startswith("_") or n.attr in _REFLECTIVE):
            return True
        if (
            isinstance(n, ast.Attribute)
            and n.attr == "format"
            and not (isinstance(n.value, ast.Constant) and isinstance(n.value.value, str))
        ):
            return True
        if isinstance(n, ast.alias) and n.name.split(".")[0] in ("operator", "string", "inspect", "ctypes"):
            return True
    return False


# Names and attributes that reach objects by a string or change them from afar; modules whose functions
# run no code of the program's own (the newer rules' :func:`self_contained`).
_REFLECTIVE = frozenset(
    {
        "getattr",
        "modules",
        "Formatter",
        "get_field",
        "get_value",
        "format_map",
        "vformat",
        "setattr",
        "delattr",
        "hasattr",
        "vars",
        "globals",
        "locals",
        "eval",
        "exec",
        "compile",
        "type",
        "object",
        "super",
        "attrgetter",
        "methodcaller",
        "operator",
        "breakpoint",
        "getsizeof",
        "getallocatedblocks",
        "getrefcount",
    }
)
_PLAIN_MODULES = frozenset(
    {"heapq", "math", "cmath", "collections", "itertools", "re", "bisect", "sys", "functools"}
)
_CONSTANT_NODES = (
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Load,
    ast.UnaryOp,
    ast.unaryop,
    ast.BinOp,
    ast.operator,
)


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


def stores_of(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[ast.Name]:
    """Every ``name`` node of ``func`` that binds it (store or delete; :func:`binds_not_by_name` has the
    other bindings)."""
    return [
        n
        for n in ast.walk(func)
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
    ]


def required_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The positional parameters without a default: the ones the task's inputs fill (a default, ``*args``,
    ``**kw`` or a keyword-only one may hold anything: found by review). None at all where the function
    calls itself (a recursive call may pass other values)."""
    if any(isinstance(n, ast.Name) and n.id == func.name for n in ast.walk(func)):
        return set()
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    return {a.arg for a in positional[: len(positional) - len(args.defaults)]}


def fixed_input(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """``name`` is a required parameter that nothing in ``func`` rebinds: it holds the task's input."""
    return (
        name in required_params(func)
        and _plain_locals(func, {name})
        and name not in binds_not_by_name(func)
        and not stores_of(func, name)
    )


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


_CATCHERS = (ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.Yield, ast.YieldFrom, ast.Await)


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


def _nest_names(found: _Edges, inner: ast.For) -> tuple[str, str] | None:
    """i and j of the nest ``for i ...: ... for j ...: <one statement>``: two plain locals, neither T nor
    a size name, none of them (nor T) rebound in the nest, which runs every pass to its end (no
    ``break``, ``continue``, ``return``, no ``else``) and whose nested scopes do not read T."""
    outer, table, size_names = found.nest, found.table, found.size_names
    if outer.orelse or inner.orelse or len(inner.body) != 1:
        return None
    if not (isinstance(outer.target, ast.Name) and isinstance(inner.target, ast.Name)):
        return None
    i, j = outer.target.id, inner.target.id
    if len({i, j, table}) != 3 or {i, j} & size_names or not _plain_locals(found.func, {i, j}):
        return None
    if _binds_in(outer, {id(outer.target), id(inner.target)}) & (size_names | {i, j, table}):
        return None
    if not _leaves_only_by_its_end(outer) or any(
        isinstance(n, ast.Break | ast.Continue) for n in ast.walk(outer)
    ):
        return None
    if any(isinstance(n, NESTED_SCOPES) and table in reads(n) for n in ast.walk(outer)):
        return None
    return i, j


def filled_as_triangle(tree: ast.Module, node: ast.AST) -> bool:
    """A 2-D table's initial value, when it is filled as a triangle, each row from the one above (Bell's
    triangle), and only its first column is read after:

        T = [[c for _ in range(C)] for _ in range(R)]
        T[0][0] = v                            # single cells before the loop, (0, 0) among them
        for i in range(1, R):                  # every row after the first
            T[i][0] = <reads T[i - 1][0], T[i - 1][i - 1]>
            for j in range(1, i + 1):          # columns 1 to i
                T[i][j] = <reads those, T[i - 1][j - 1], T[i][0], T[i][j - 1]>
        ...                                    # T only as T[X][0], X ints of constants and R's names

    When row i is made, row i - 1 is written at columns 0 to i - 1, so every cell read is written (by
    induction from (0, 0)); after the loop column 0 is written in every row. A cell beyond the table's
    bounds raises in both programs alike: their shapes are the same. The table is made in the function's
    own body (so the statements after the loop are all that follow it), with :func:`_edges_first`'s
    conditions before the loop and :func:`_nest_names`' in it; a store may be an ``if``/``else`` chain."""
    found = _edges_first(tree, node)
    if found is None or len(found.nest.body) != 2 or found.block is not found.func.body:
        return False
    if not self_contained(tree, found.func):
        return False  # (found by review: a frame read, a size whose __index__ changes)
    func, table, dims, size_names, points, _, outer, block = found
    start, inner = outer.body
    assert isinstance(inner, ast.For)
    if (0, 0) not in points or _range_from(tree, outer.iter) != (1, dims[0]):
        return False
    if not (
        builtin_call(tree, inner.iter, "range", (2,))
        and isinstance(inner.iter, ast.Call)
        and _int_const(inner.iter.args[0]) == 1
        and _forward_step(inner.iter.args[1], getattr(outer.target, "id", "")) == 1
    ):
        return False
    names = _nest_names(found, inner)
    if names is None:
        return False
    i, j = names

    def above(read: ast.Subscript) -> bool:  # T[i - 1][0] or T[i - 1][i - 1]
        assert isinstance(read.value, ast.Subscript)
        row, col = read.value.slice, read.slice
        return _back_step(row, i) == 1 and (_int_const(col) == 0 or _back_step(col, i) == 1)

    def start_ok(read: ast.Subscript, _known: dict[str, int]) -> bool:
        return _two_deep(read, table) and above(read)

    def cell_ok(read: ast.Subscript, _known: dict[str, int]) -> bool:
        if not _two_deep(read, table):
            return False
        assert isinstance(read.value, ast.Subscript)
        row, col = read.value.slice, read.slice
        back = _back_step(col, j)
        return (
            above(read)
            or (_back_step(row, i) == 1 and back == 1)
            or (_back_step(row, i) == 0 and (_int_const(col) == 0 or back == 1))
        )

    def first_column(target: ast.AST) -> bool:
        return (
            isinstance(target, ast.Subscript)
            and _int_const(target.slice) == 0
            and isinstance(target.value, ast.Subscript)
            and _back_step(target.value.slice, i) == 0
            and isinstance(target.value.value, ast.Name)
            and target.value.value.id == table
        )

    kept = (
        _stores_on_every_path(start, table, first_column, start_ok, tests_read=True, known={}),
        _stores_on_every_path(
            inner.body[0], table, lambda t: _cells(t, table, [i, j]), cell_ok, tests_read=True, known={}
        ),
    )
    if None in kept:
        return False
    after = block[block.index(outer) + 1 :]
    for s in after:
        if _binds_in(s) & (size_names | {table}):
            return False
        up = parents(s)
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and n.id == table:
                row = up.get(id(n))
                cell = up.get(id(row))
                if not (
                    isinstance(row, ast.Subscript)
                    and isinstance(cell, ast.Subscript)
                    and cell.value is row
                    and isinstance(cell.ctx, ast.Load)
                    and _int_const(cell.slice) == 0
                    and _int_index(row.slice, size_names)
                ):
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
    """A 1-D table's initial value, when the code after it writes every cell before reading it:

        T = [c] * E                     # or [c for _ in range(E)]; E names and int arithmetic only
        ...                             # statements that do not mention T or rebind E's names
        T[k] = <T[k'] for k' written>   # low writes at int constants k (also under `if E > k:`, which
                                        # holds exactly when cell k exists), or high writes T[E - k]
        for i in range(L, E):           # upward from an int constant L (or range(E))
            ...                         # reads of cells below i only: T[i - d], T[j] for an inner
            T[i] = <cells below i>      # `for j in range(c, i)`, T[i // c] and T[int(i / c)]
            ...                         # T[i] too, and stores only to T[i]
        <after the loop: any use of T when every cell below L is written, else only T[E - 1]>

    or downward, ``for i in range(E - s, -1, -1)`` after the high writes T[E - 1] .. T[E - s + 1], reading
    only cells above i (T[i + d], T[j] for an inner ``for j in range(i + c, ...)``, c >= 1).

    Each read finds a cell written before: by an earlier pass of the loop, or before it. The low writes
    must hold every cell an upward read can reach below L; a read ``T[i - d]`` under ``if i >= g`` starts
    from max(L, g), and never reaches a negative index (which would wrap to an unwritten cell). The top
    level of the loop's body stores T[i] unconditionally; what runs before that store reads no T[i]. A
    cell beyond the table raises IndexError in both programs alike. After the loop every cell from L on
    is written (upward), or every cell (downward). When the low writes miss cells below L, the only read
    allowed after the loop is ``T[X]`` with E written as ``X + 1``: the constant writes succeed only when
    X >= max(k) (else IndexError, in the mutant too), and every cell from max(k) to L-1 must be written.
    No ``break`` or ``continue`` of the loop itself, no ``return``/``yield`` in it, no nested scope that
    mentions T, no ``try``/``with`` around, T a local no closure or introspection reaches."""
    site = _table_at(tree, node)
    if site is None or len(site[3]) != 1:
        return False
    func, stmt, table, (size,), block = site
    if any(not isinstance(n, _SIZE_NODES) for n in ast.walk(size)):
        return False
    size_names = {n.id for n in ast.walk(size) if isinstance(n, ast.Name)}
    if table in size_names or introspects(tree) or not _plain_locals(func, size_names):
        return False  # (a global size could change under a call; `not T` means another list at the loop)
    before = _writes_before_loop(tree, block[block.index(stmt) + 1 :], table, size, size_names)
    if before is None:
        return False
    low, high, loop, guarded = before
    shape = _fill_loop(tree, loop, size)
    if shape is None or not isinstance(loop.target, ast.Name) or loop.orelse or not loop.body:
        return False
    upward, start = shape
    var = loop.target.id
    if var == table or var in size_names or not _plain_locals(func, {var}):
        return False
    if _binds_in(loop, {id(loop.target)}) & (size_names | {var, table}):
        return False  # the index (or a size, or the table) rebound in the loop, or by a closure
    if not _leaves_only_by_its_end(loop) or any(
        isinstance(n, NESTED_SCOPES) and table in reads(n) for n in ast.walk(loop)
    ):
        return False
    store_at = next(
        (
            k
            for k, s in enumerate(loop.body)
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and _cells(s.targets[0], table, [var])
        ),
        None,
    )
    if store_at is None:
        return False
    up = parents(loop)
    for k, part in enumerate(loop.body):
        # up to the store's value, no T[i] (not yet written); after it, T[i] may be read and stored again
        found = _cell_reads(part.value if k == store_at else part, table, None if k <= store_at else var)  # type: ignore[attr-defined]
        if found is None:
            return False
        for r in found:
            if not _earlier_cell(tree, func, r, loop, up, upward, start, low, high, k > store_at):
                return False
    if not upward:
        return set(range(1, start)) <= high  # every cell above the first pass written before the loop
    after = block[block.index(loop) + 1 :]
    if set(range(start)) <= low:
        return True  # every cell below L written: the loop writes the rest (E == its end)
    if guarded or not low or not set(range(max(low), start)) <= low or block is not func.body:
        return False  # (in a nested block, code after the block could read an unwritten cell; a write
        # under `if E > k` proves nothing of X >= k, it is skipped when the table is short)
    last = _minus_one(size)
    if any(_binds_in(s) & size_names for s in after):
        return False  # X must still be E - 1 where it is read
    for s in after:
        found = _cell_reads(s, table)
        if found is None or any(last is None or ast.dump(r.slice) != ast.dump(last) for r in found):
            return False
    return True


def _writes_before_loop(
    tree: ast.Module, rest: list[ast.stmt], table: str, size: ast.AST, size_names: set[str]
) -> tuple[set[int], set[int], ast.For, bool] | None:
    """The cells written between a table and the first ``for`` after it: ``low`` k for ``T[k] = v`` (also
    under ``if E > k:``, true exactly when cell k exists; v reads only cells already in ``low``), ``high``
    k for ``T[E - k] = v`` (v reads no cell); that loop; and whether a low write is under an ``if``. None when anything else there mentions T,
    rebinds T or a size, or leaves an enclosing loop."""
    low: set[int] = set()
    high: set[int] = set()
    guarded = False
    for s in rest:
        if isinstance(s, ast.For):
            return low, high, s, guarded
        if _binds_in(s) & (size_names | {table}):
            return None
        if any(isinstance(n, ast.Break | ast.Continue) for n in ast.walk(s)):
            return None  # an enclosing loop left (or restarted) before the table is filled
        if table not in {n.id for n in ast.walk(s) if isinstance(n, ast.Name)}:
            continue
        write = s
        if isinstance(s, ast.If) and not s.orelse and len(s.body) == 1:
            write = s.body[0]
            if table in reads(s.test):
                return None
        if not (
            isinstance(write, ast.Assign)
            and len(write.targets) == 1
            and isinstance(write.targets[0], ast.Subscript)
            and isinstance(write.targets[0].value, ast.Name)
            and write.targets[0].value.id == table
        ):
            return None
        index = write.targets[0].slice
        found = _cell_reads(write.value, table)
        k = _int_const(index)
        if k is not None and k >= 0 and (write is s or _exists_guard(s.test, size, k)):  # type: ignore[attr-defined]
            if found is None or any(_int_const(r.slice) not in low for r in found):
                return None
            low.add(k)
            guarded = guarded or write is not s
            continue
        if (
            write is s
            and isinstance(index, ast.BinOp)
            and isinstance(index.op, ast.Sub)
            and ast.dump(index.left) == ast.dump(size)
            and (back := _int_const(index.right)) is not None
            and back >= 1
            and found == []
        ):
            high.add(back)
            continue
        return None
    return None


def _exists_guard(test: ast.AST, size: ast.AST, k: int) -> bool:
    """``test`` is ``E > k``, ``E >= k + 1``, ``k < E`` or ``k + 1 <= E``: true exactly when cell k exists."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if ast.dump(left) == ast.dump(size):
        bound = _int_const(right)
        return (isinstance(op, ast.Gt) and bound == k) or (isinstance(op, ast.GtE) and bound == k + 1)
    if ast.dump(right) == ast.dump(size):
        bound = _int_const(left)
        return (isinstance(op, ast.Lt) and bound == k) or (isinstance(op, ast.LtE) and bound == k + 1)
    return False


def _signed_int(node: ast.AST) -> int | None:
    """An int constant, ``-1`` (a unary minus on one) included."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_const(node.operand)
        return None if inner is None else -inner
    return _int_const(node)


def _fill_loop(tree: ast.Module, loop: ast.For, size: ast.AST) -> tuple[bool, int] | None:
    """``(True, L)`` for ``for i in range(L, E)`` (or ``range(E)``), L an int constant >= 0; ``(False, s)``
    for ``for i in range(E - s, -1, -1)``, s >= 1; None for any other loop."""
    call = loop.iter
    if not builtin_call(tree, call, "range", (1, 2, 3)):
        return None
    assert isinstance(call, ast.Call)
    args = call.args
    if len(args) == 1 and ast.dump(args[0]) == ast.dump(size):
        return True, 0
    if len(args) == 2 and ast.dump(args[1]) == ast.dump(size):
        start = _int_const(args[0])
        return None if start is None or start < 0 else (True, start)
    if len(args) == 3 and _signed_int(args[1]) == -1 and _signed_int(args[2]) == -1:
        first = args[0]
        if ast.dump(first) == ast.dump(size):
            return None  # the first pass would store past the end
        if (
            isinstance(first, ast.BinOp)
            and isinstance(first.op, ast.Sub)
            and ast.dump(first.left) == ast.dump(size)
            and (s := _int_const(first.right)) is not None
            and s >= 1
        ):
            return False, s
    return None


def _leaves_only_by_its_end(loop: ast.For) -> bool:
    """No ``return``, ``yield`` or ``await`` in the loop, and no ``break`` or ``continue`` of the loop itself
    (those of a loop inside it only end that one): every pass runs to the end of the body."""

    def walk(nodes: Sequence[ast.AST], inner: bool) -> bool:
        for node in nodes:
            if isinstance(node, ast.Return | ast.Yield | ast.YieldFrom | ast.Await):
                return False
            if isinstance(node, ast.Break | ast.Continue) and not inner:
                return False
            if isinstance(node, NESTED_SCOPES):
                continue
            if isinstance(node, ast.For | ast.AsyncFor | ast.While):
                # a break in the inner loop's body ends that loop; one in its `else` ends the outer one
                head: list[ast.AST] = [node.test] if isinstance(node, ast.While) else [node.target, node.iter]
                if not (walk([*head, *node.body], True) and walk(node.orelse, inner)):
                    return False
            elif not walk(list(ast.iter_child_nodes(node)), inner):
                return False
        return True

    return walk(loop.body, False)


def _earlier_cell(
    tree: ast.Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    read: ast.Subscript,
    loop: ast.For,
    up: dict[int, ast.AST],
    upward: bool,
    start: int,
    low: set[int],
    high: set[int],
    after_store: bool,
) -> bool:
    """Whether ``read`` (a ``T[...]`` in the loop) reads a cell written before it, for an upward loop from
    ``start`` (cells below it written before the loop: ``low``) or a downward one from ``E - start``
    (cells above it: ``E - k`` for k in ``high``). ``after_store``: the read comes after this pass's store
    of T[i]."""
    var = loop.target.id  # type: ignore[attr-defined]
    index = read.slice
    if upward:
        d = _back_step(index, var)
        floor = max(start, _guard_floor(read, loop, up, var))
        if d is not None:
            if d < 0 or (d == 0 and not after_store):
                return False
            return d == 0 or (floor - d >= 0 and set(range(floor - d, start)) <= low)
        c = _shrunk(tree, index, var)
        if c is not None:  # i // c, int(i / c): from floor // c up to i - 1 when i >= 1
            return floor >= 1 and set(range(floor // c, start)) <= low
        first = _inner_index(tree, func, read, loop, up, var, upward)
        return first is not None and set(range(first, start)) <= low
    d = _forward_step(index, var)
    if d is not None:
        if d < 0 or (d == 0 and not after_store):
            return False
        return d == 0 or set(range(max(1, start - d), start)) <= high
    return _inner_index(tree, func, read, loop, up, var, upward) is not None and set(range(1, start)) <= high


def _guard_floor(read: ast.AST, loop: ast.For, up: dict[int, ast.AST], var: str) -> int:
    """The least ``var`` can be where ``read`` runs, from the ``if var >= g`` (``var > g``, ``g <= var``,
    ``g < var``, or an ``and`` of them) whose body holds it, inside the loop; 0 when none says."""
    floor = 0
    child: ast.AST = read
    node = up.get(id(read))
    while node is not None and node is not loop:
        if isinstance(node, ast.If) and child in node.body:
            floor = max(floor, _floors(node.test, negated=False).get(var, 0))
        child, node = node, up.get(id(node))
    return floor


def _forward_step(index: ast.AST, var: str) -> int | None:
    """d for ``var + d`` or ``d + var`` (d an int constant), 0 for ``var`` itself; None otherwise."""
    if isinstance(index, ast.Name) and index.id == var:
        return 0
    if isinstance(index, ast.BinOp) and isinstance(index.op, ast.Add):
        for a, b in ((index.left, index.right), (index.right, index.left)):
            if isinstance(a, ast.Name) and a.id == var:
                return _int_const(b)
    return None


def _shrunk(tree: ast.Module, index: ast.AST, var: str) -> int | None:
    """c for ``var // c`` or ``int(var / c)``, c an int constant >= 2 (``int`` the builtin)."""
    if (
        builtin_call(tree, index, "int", (1,))
        and isinstance(index, ast.Call)
        and isinstance(index.args[0], ast.BinOp)
        and isinstance(index.args[0].op, ast.Div)
    ):
        index = index.args[0]
    elif not (isinstance(index, ast.BinOp) and isinstance(index.op, ast.FloorDiv)):
        return None
    c = _int_const(index.right)  # type: ignore[attr-defined]
    left = index.left  # type: ignore[attr-defined]
    return c if c is not None and c >= 2 and isinstance(left, ast.Name) and left.id == var else None


def _inner_index(
    tree: ast.Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    read: ast.Subscript,
    loop: ast.For,
    up: dict[int, ast.AST],
    var: str,
    upward: bool,
) -> int | None:
    """For ``T[j]`` in the body of an inner ``for j in range(c, var)`` (or ``range(var)``: c = 0) of an
    upward loop, c >= 0; of a downward one, ``for j in range(var + c, X)``, c >= 1: the least index it
    reads (c). None for any other read, or when the inner loop rebinds j."""
    if not isinstance(read.slice, ast.Name) or read.slice.id == var:
        return None
    j = read.slice.id
    child: ast.AST = read
    node = up.get(id(read))
    while node is not None and node is not loop:
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id == j:
            if child not in node.body or j in _binds_in(node, {id(node.target)}):
                return None
            if not _plain_locals(func, {j}):
                return None  # a closure (`nonlocal j`) or `global j` could move j under the read
            call = node.iter
            if not builtin_call(tree, call, "range", (1, 2)):
                return None
            assert isinstance(call, ast.Call)
            if upward:
                first = 0 if len(call.args) == 1 else _int_const(call.args[0])
                end = call.args[-1]
                ok = first is not None and first >= 0 and isinstance(end, ast.Name) and end.id == var
                return first if ok else None
            step = _forward_step(call.args[0], var) if len(call.args) == 2 else None
            return step if step is not None and step >= 1 else None
        child, node = node, up.get(id(node))
    return None


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
