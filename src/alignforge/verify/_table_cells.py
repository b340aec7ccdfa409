"""The machinery the table rules share: where a fresh table is made, how its cells are written and read.

A fresh table ``T = [c] * E`` (or a comprehension of rows), its sizes and the block it is made in
(:func:`_table_at`); one store on every path through an ``if``/``else`` chain, each read judged with
what the tests passed so far say (:func:`_stores_on_every_path`); the cells a node reads
(:func:`_cell_reads`, :func:`_whole_reads`); a target that is the loop variables' cell (:func:`_cells`);
a loop every pass of which runs to its end (:func:`_leaves_only_by_its_end`). Used by
:mod:`alignforge.verify._table_rules`, :mod:`alignforge.verify._filled_by_rows`,
:mod:`alignforge.verify._filled_as_triangle` and :mod:`alignforge.verify._filled_in_order`; nothing here
is a rule.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

from alignforge.verify._ast_facts import _statement_of, parents, pure
from alignforge.verify._ast_ints import _back_step, _floors, _range_size
from alignforge.verify._liveness import NESTED_SCOPES, live_after, reads

__all__: list[str] = []


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
    (:func:`~alignforge.verify._ast_ints._floors`). The ids of the T names in it; None for anything
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
