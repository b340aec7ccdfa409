"""Equivalence rules about tables: a fresh table whose initial cells are never read.

A mutant that changes only a table's initial value (``T = [0] * n`` made ``[1] * n``) behaves as the
reference does when the code after it writes each cell before any read of it, and only the program's
own text can show it: the very next loop nest writes every cell (:func:`overwritten_table`); a 2-D
table's first rows and columns are written whole, then the rest row by row (:func:`filled_by_rows`); or
it is filled as a triangle, each row from the one above, and only its first column is read after
(:func:`filled_as_triangle`). The 1-D table filled in index order is
:mod:`alignforge.verify._filled_in_order`'s, on the machinery here (:func:`_table_at`,
:func:`_cell_reads`, :func:`_cells`). Anything they cannot see through (a call, a closure,
``locals()``, a ``try`` around a half-filled table) makes them answer no.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import NamedTuple

from alignforge.verify._ast_facts import (
    _back_step,
    _binds_in,
    _floors,
    _forward_step,
    _int_const,
    _plain_locals,
    _range_size,
    _statement_of,
    builtin_call,
    parents,
    pure,
    self_contained,
)
from alignforge.verify._liveness import NESTED_SCOPES, introspects, live_after, reads

__all__ = ["overwritten_table", "filled_by_rows", "filled_as_triangle"]


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
    ``read_ok`` with what the tests passed so far say of the names
    (:func:`~alignforge.verify._ast_facts._floors`). The ids of the T names in it; None for anything
    else."""
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
