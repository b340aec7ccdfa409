"""The ``filled_as_triangle`` equivalence rule: a 2-D table filled as a triangle, each row from the one above.

Bell's triangle: row i made from row i - 1, and only the first column read after the loop, so every
cell read is already written and the table's initial value is never seen (:func:`filled_as_triangle`).
On the edges of :mod:`alignforge.verify._filled_by_rows` and the table machinery of
:mod:`alignforge.verify._table_cells`.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import _binds_in, _int_const, builtin_call, parents
from alignforge.verify._ast_ints import _back_step, _forward_step
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._filled_by_rows import _edges_first, _int_index, _nest_names, _range_from, _two_deep
from alignforge.verify._table_cells import _cells, _stores_on_every_path

__all__ = ["filled_as_triangle"]


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
