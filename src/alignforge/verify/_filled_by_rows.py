"""The ``filled_by_rows`` equivalence rule: a 2-D table's edges written whole, then the rest row by row.

Edit distance, LCS with its edges set by loops: single cells and whole rows and columns written before
a loop nest over the rest (:func:`_edges_first`, :class:`_Edges`), the nest reading only cells already
written (:func:`_rows_nest`), so the table's initial value is never seen (:func:`filled_by_rows`).
:mod:`alignforge.verify._filled_as_triangle` stands on the same edges. On the table machinery of
:mod:`alignforge.verify._table_cells`.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from alignforge.verify._ast_facts import _binds_in, _int_const, _plain_locals, builtin_call
from alignforge.verify._ast_ints import _back_step
from alignforge.verify._liveness import NESTED_SCOPES, introspects, reads
from alignforge.verify._table_cells import (
    _SIZE_NODES,
    _cells,
    _leaves_only_by_its_end,
    _stores_on_every_path,
    _table_at,
    _whole_reads,
)

__all__ = ["filled_by_rows"]


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
