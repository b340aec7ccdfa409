"""Equivalence rules about a dict's cells: read only where a changed step or value cannot show.

A dict made in the function whose cells are read only as "seen once" (:func:`cell_counter`: ``d[e] +=
k`` with another non-zero step), only by the order of their counts (:func:`scaled_counter`: ``max(d,
key=d.get)``), or never (:func:`unread_cells`: only its keys show). The dict is a plain local, never a
parameter, passed on, aliased or reached by a closure (:func:`_cell_uses`); anything they cannot see
through makes them answer no.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from alignforge.verify._ast_facts import (
    _int_const,
    _params,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    bound_beside_imports,
    modules_of,
    parents,
    rebound,
)
from alignforge.verify._liveness import introspects

__all__ = ["cell_counter", "scaled_counter", "unread_cells"]


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
