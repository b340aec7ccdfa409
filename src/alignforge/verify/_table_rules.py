"""Equivalence rules about tables: a fresh table whose initial cells are never read.

A mutant that changes only a table's initial value (``T = [0] * n`` made ``[1] * n``) behaves as the
reference does when the code after it writes each cell before any read of it, and only the program's
own text can show it: the very next loop nest writes every cell (:func:`overwritten_table`, here); a
2-D table's first rows and columns are written whole, then the rest row by row
(:mod:`alignforge.verify._filled_by_rows`); or it is filled as a triangle, each row from the one above,
and only its first column is read after (:mod:`alignforge.verify._filled_as_triangle`). The 1-D table
filled in index order is :mod:`alignforge.verify._filled_in_order`'s. All stand on the machinery of
:mod:`alignforge.verify._table_cells`. Anything they cannot see through (a call, a closure,
``locals()``, a ``try`` around a half-filled table) makes them answer no.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import _binds_in, _int_const, _plain_locals
from alignforge.verify._ast_ints import _back_step, _range_size
from alignforge.verify._liveness import introspects
from alignforge.verify._table_cells import _SIZE_NODES, _cells, _stores_on_every_path, _table_at

__all__ = ["overwritten_table"]


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
