"""The ``top_k_prefix`` equivalence rule: ``heapq.nlargest``'s list one item longer, the extra never read.

``a = heapq.nlargest(k, xs)`` made ``nlargest(k + 1, xs)`` (or ``nsmallest``) where a is only ever read
at an index below k: both are the sorted items cut after k or k + 1, so their first k items are the
same (:func:`top_k_prefix`); the function called is heapq's own (:func:`_heapq_top`).
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import (
    _input_name,
    _int_const,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    bound_beside_imports,
    parents,
)
from alignforge.verify._ast_preconditions import self_contained
from alignforge.verify._liveness import introspects

__all__ = ["top_k_prefix"]


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
