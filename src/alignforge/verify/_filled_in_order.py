"""The ``filled_in_order`` equivalence rule: a 1-D table whose cells are each written before they are read.

``dp[0]`` and ``dp[1]`` written, then ``dp[i]`` from ``dp[i - 1]``, ``dp[i // 2]`` or ``dp[j]`` for j
below i (or downward from the end, from the cells above): every read finds a cell written before, so
the table's initial value is never seen (:func:`filled_in_order`). On the table machinery of
:mod:`alignforge.verify._table_cells`.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import _binds_in, _int_const, _plain_locals, builtin_call, parents
from alignforge.verify._ast_ints import _back_step, _floors, _forward_step, _signed_int
from alignforge.verify._liveness import NESTED_SCOPES, introspects, reads
from alignforge.verify._table_cells import (
    _SIZE_NODES,
    _cell_reads,
    _cells,
    _leaves_only_by_its_end,
    _table_at,
)

__all__ = ["filled_in_order"]


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
