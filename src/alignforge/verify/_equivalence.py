"""The mutants no test kills, classified: equivalent to the reference, or weakly tested.

A mutant that survives the strengthened tests is either equivalent to the reference (no input tells
them apart, so no test can kill it; evalplus leaves such mutants out of its rate too) or a sign that
the tests are still weak. A survivor is called **equivalent** only when both of these hold:

1. *differential*: on a large set of inputs (type-aware mutants of the observed and kept inputs, under
   no contract but the arity: negative, empty, other-case and larger values included), the mutant
   answers every input the reference answers, the same way (floats by ``isclose``);
2. *a syntactic rule* says why it cannot differ (:data:`RULES`):

   - ``parity``: a ``+``/``-`` swap whose result is only read modulo 2 (``(a - b) % 2``), or is stored to
     a running sum only ever read that way (``s = s + x`` ... ``s % 2``);
   - ``zero_test``: ``x == x + y`` against ``x == x - y`` (both say y == 0);
   - ``sign_blind_counter``: a counter stepped by one ``+= k`` / ``-= k`` statement from 0, only ever read
     where its sign cannot show (``== 0``, ``if``, ``% 2``, ``abs``);
   - ``empty_extra_passes``: an outer loop's end moved where its whole body is an inner loop that is empty
     on the passes one program makes and the other does not (``range(n - 2)`` around
     ``range(i + 1, n - 1)``), its index unread after it;
   - ``dead_store``: a change inside a side-effect-free value stored to a local that no path reads
     afterwards (by the liveness analysis of :mod:`alignforge.verify._liveness`: ``total = 0`` right
     before ``total = ...``);
   - a table's initial value where the code after it writes every cell before any is read:
     ``overwritten_table`` (``T = [0] * n`` then ``for i in range(n): T[i] = <no T>``, or a loop nest
     whose every branch stores the cell from earlier ones); ``filled_in_order`` (``dp[0]``, ``dp[1]``,
     then ``dp[i]`` from ``dp[i - 1]``, ``dp[i // 2]``, ``dp[j]`` for j below i, or downward from the
     end); ``filled_by_rows`` (a 2-D table's first rows and columns written whole, then the rest row by
     row: edit distance); ``filled_as_triangle`` (row i from row i - 1, at columns 0 to i, only column 0
     read after: Bell's triangle);
   - ``grown_table``: a fresh table one cell (or row) longer at its end (``[c] * (n + 1)`` made
     ``n + 2``), only ever indexed by indices never negative: where the reference answers, it never
     reached past its end, and the mutant never touches the extra cell;
   - ``cell_counter``: a dict's count cells, set to s at first sight and stepped by one statement, read
     only as ``== s`` ("seen once");
   - ``unread_cells``: the value stored in a dict's cell when no cell of it is ever read, only its keys by
     ``in`` (``h[ch] = 0`` marks ``ch`` seen);
   - ``scaled_counter``: ``d[k] += c`` made ``+= c + 1`` (c >= 1) for a ``defaultdict(int)`` read only by
     ``max(d, key=d.get)`` (``min``, ``sorted``): the counts keep their order and ties;
   - ``first_pass_idle``: ``range(a, E)`` made ``range(a + 1, E)`` where the body is one ``if`` whose test
     (of the index and constants) is false at a (``range(1, n)`` around ``if i % 2 == 0``);
   - ``first_pass_settles``: a best-so-far's start 0 made 1 before an arg-max of ``xs.count(x)`` over xs
     whose answer starts as ``xs[0]``: after the first pass both programs hold ``(count, xs[0])``;
   - ``top_k_prefix``: ``heapq.nlargest(k, xs)`` made ``k + 1`` where only items below k are read;
   - ``inert_body``: an ``if`` whose body only evaluates and drops values its test already read
     (``(a[j], a[j + 1] == a[j + 1], a[j])``), its test flipped or removed;
   - ``inert_passes``: ``range(a, E)`` made ``range(a + 1, E)`` for a loop whose whole body is such an
     inert ``if`` on the task's own lists: a pass changes nothing or raises, so where the reference
     answers, the mutant's passes (its own less the first) change nothing either;
   - ``boundary_point`` (not syntactic alone: :func:`boundary_inputs`): a constant compared with the one
     int parameter of a self-contained function, where it still holds the input; the two programs can
     differ only where ``n < c`` and ``n < c + 1`` answer otherwise (n = c), and are run there;
   - ``dead_conjunct``: a change in A of ``A and g == k`` where g is only ever set to k under an
     always-false test (``x - x < 0``), A of int cells, ``+``/``-`` and one comparison;
   - ``noop_guard``: ``if len(ys) > 0: xs.extend(ys)`` run without its test, ys and xs lists the function
     made: when the test fails, extending by the empty list does nothing; likewise ``if v: a += v``
     for int-valued locals (v is then 0).

   The store and table rules are in :mod:`alignforge.verify._store_rules`. No rule proves anything of a
   reflective program (:func:`~alignforge.verify._store_rules.reflective`). ``grown_table``,
   ``filled_as_triangle``, ``first_pass_settles``, ``dead_conjunct``, ``top_k_prefix`` and ``noop_guard``
   on ints also need a
   self-contained program (:func:`~alignforge.verify._store_rules.self_contained`: nothing but the
   function's own statements runs while it does, and only the task calls it); eleven reviews broke them
   with programs that did otherwise.

An input the reference answers with one of its sentinels (``10 ** 20``, ``-sys.maxsize - 1``, ``inf``:
its value for "no answer") is outside the contract, like one the contract refuses.

Every other survivor is reported as what it is, never hidden: ``outside_contract`` (an input the task's
contract refuses tells it apart; the input and the rule it breaks are named), ``missed`` (an input within
the contract tells it apart: more candidates would find it) or ``undistinguished`` (no input of the
differential set tells it apart, but no rule proves it equivalent).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alignforge.verify._boundary import ORDERS, answers, boundary_inputs, run_with_points
from alignforge.verify._contract import Contract
from alignforge.verify._inputs_mutation import NO_CONSTANTS, Constants, Input, input_key
from alignforge.verify._liveness import introspects, live_after
from alignforge.verify._mutants import mutation_site
from alignforge.verify._plus_tests import passes
from alignforge.verify._stdio_inputs import StdioContract
from alignforge.verify._store_rules import (
    _CATCHERS,
    _binds_in,
    _int_const,
    _params,
    _plain_locals,
    _statement_of,
    binds_not_by_name,
    bound_beside_imports,
    builtin_call,
    cell_counter,
    dead_store,
    filled_as_triangle,
    filled_by_rows,
    filled_in_order,
    fixed_input,
    grown_table,
    overwritten_table,
    parents,
    rebound,
    reflective,
    required_params,
    scaled_counter,
    self_contained,
    stores_of,
    unread_cells,
)

__all__ = ["SurvivorNote", "RULES", "boundary_inputs", "equivalence_rule", "classify_survivors", "KINDS"]

KINDS = ("equivalent", "outside_contract", "missed", "undistinguished", "unclassified")


@dataclass(frozen=True)
class SurvivorNote:
    """Why a mutant survives: ``kind`` (one of :data:`KINDS`), a line of detail, and for an equivalent
    one the rule (of :data:`RULES`) that proves it."""

    kind: str
    detail: str
    rule: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, **({"rule": self.rule} if self.rule else {})}


def _parity(tree: ast.Module, node: ast.AST) -> bool:
    """``a + b`` <-> ``a - b`` where the value is only read as ``(...) % 2``: a+b and a-b differ by 2b. Or
    stored to a running sum only ever read that way (``s = s + x`` ... ``s % 2``): by induction over its
    stores, s has the same parity in both programs.

    For int operands (floats and strings differ): the rule only ever backs the differential run, which
    calls both programs on the task's own input types, and only in a program where no float can arise
    from ints (:func:`_float_free`)."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)) or not _float_free(tree):
        return False
    parent_of = parents(tree)
    top = _sum_top(parent_of, node)
    if any(
        (isinstance(n, ast.Constant) and isinstance(n.value, str | bytes))
        or (
            isinstance(n, ast.Call) and not any(builtin_call(tree, n, f, (1,)) for f in ("int", "len", "abs"))
        )
        for n in ast.walk(top)
    ):
        return False  # a string's % is formatting: ('%d' + str(n)) % 2 (found by review)
    above = parent_of.get(id(top))
    if _mod_two(above, top):
        return True
    if not (
        isinstance(above, ast.Assign)
        and above.value is top
        and len(above.targets) == 1
        and isinstance(above.targets[0], ast.Name)
    ):
        return False
    return _parity_only(tree, parent_of, above.targets[0].id)


_FLOAT_NAMES = frozenset(
    {"float", "complex", "math", "cmath", "decimal", "fractions", "statistics", "numpy", "np"}
)


def _float_free(tree: ast.Module) -> bool:
    """No float can arise in the program from int inputs: no true division, no float or complex
    constant, no ``float()``, ``math``, ``decimal`` and the like, no power (or ``pow``) but by a
    non-negative int constant. (Found by review: ``a + b / 2`` read ``% 2``, ``m == m + k`` past
    2**53.) The int-operand rules hold only in such a program, on the task's int inputs."""
    for n in ast.walk(tree):
        if isinstance(n, ast.BinOp | ast.AugAssign) and isinstance(n.op, ast.Div):
            return False
        if isinstance(n, ast.Attribute) and n.attr.startswith("__"):
            return False  # (0).__truediv__(1) (found by review)
        if isinstance(n, ast.Constant) and isinstance(n.value, float | complex):
            return False
        if isinstance(n, ast.Name) and n.id in _FLOAT_NAMES:
            return False
        if isinstance(n, ast.alias) and set(n.name.split(".")) & _FLOAT_NAMES:
            return False
        if isinstance(n, ast.BinOp | ast.AugAssign) and isinstance(n.op, ast.Pow):
            exponent: ast.AST | None = n.right if isinstance(n, ast.BinOp) else n.value
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "pow":
            exponent = n.args[1] if len(n.args) == 2 and not n.keywords and not rebound(tree, "pow") else None
        else:
            continue
        power = None if exponent is None else _int_const(exponent)
        if power is None or power < 0:
            return False
    return True


def _sum_top(parent_of: dict[int, ast.AST], node: ast.AST) -> ast.AST:
    """The whole sum ``node`` is a term of: up through ``+`` and ``-`` (a + b - c: the same terms, signs
    aside)."""
    cur = node
    while isinstance(up := parent_of.get(id(cur)), ast.BinOp) and isinstance(up.op, ast.Add | ast.Sub):
        cur = up
    return cur


def _mod_two(above: ast.AST | None, value: ast.AST) -> bool:
    return (
        isinstance(above, ast.BinOp)
        and isinstance(above.op, ast.Mod)
        and above.left is value
        and isinstance(above.right, ast.Constant)
        and type(above.right.value) is int
        and above.right.value == 2
    )


def _parity_only(tree: ast.Module, parent_of: dict[int, ast.AST], var: str) -> bool:
    """Every read of ``var`` (anywhere in the program) is a term of a sum that is read ``% 2`` or stored
    back to ``var`` (``var = var + x``, ``var += x``), and every store to it is a plain ``var = ...`` or
    ``var += / -= ...``: only its parity ever shows. No parameter, ``global``, ``nonlocal``, match capture,
    other binding or introspection."""
    if introspects(tree) or var in binds_not_by_name(tree):
        return False
    for n in ast.walk(tree):
        if isinstance(n, ast.arg) and n.arg == var:
            return False
        if isinstance(n, ast.Attribute) and n.attr == var:
            return False  # a class body's name read as an attribute (found by review)
        if isinstance(n, ast.Global | ast.Nonlocal) and var in n.names:
            return False
        if not (isinstance(n, ast.Name) and n.id == var):
            continue
        up = parent_of.get(id(n))
        if isinstance(n.ctx, ast.Load):
            top = _sum_top(parent_of, n)
            above = parent_of.get(id(top))
            if _mod_two(above, top) or _stored_to(above, top, var):
                continue
            return False
        if isinstance(up, ast.Assign) and up.targets == [n]:
            continue  # its value's reads of var are checked as reads
        if not (isinstance(up, ast.AugAssign) and up.target is n and isinstance(up.op, ast.Add | ast.Sub)):
            return False  # a tuple target, a loop variable, del, `var *= 3`, ...
    return True


def _stored_to(above: ast.AST | None, value: ast.AST, var: str) -> bool:
    """``var = value`` or ``var += value`` / ``var -= value``."""
    if isinstance(above, ast.Assign):
        return above.value is value and [ast.dump(t) for t in above.targets] == [
            ast.dump(ast.Name(id=var, ctx=ast.Store()))
        ]
    return (
        isinstance(above, ast.AugAssign)
        and above.value is value
        and isinstance(above.op, ast.Add | ast.Sub)
        and isinstance(above.target, ast.Name)
        and above.target.id == var
    )


def _sign_blind_read(parent_of: dict[int, ast.AST], name: ast.Name, *, abs_is_builtin: bool) -> bool:
    """The value is read only in a way that cannot tell ``x`` from ``-x`` (for an int): ``x == 0``,
    ``x != 0``, ``not x``, ``if x``, ``x % 2``, ``abs(x)``."""
    up = parent_of.get(id(name))
    if isinstance(up, ast.Compare) and len(up.ops) == 1 and isinstance(up.ops[0], ast.Eq | ast.NotEq):
        other = up.comparators[0] if up.left is name else up.left
        return isinstance(other, ast.Constant) and type(other.value) is int and other.value == 0
    if isinstance(up, ast.UnaryOp) and isinstance(up.op, ast.Not):
        return True
    if isinstance(up, ast.BinOp) and isinstance(up.op, ast.Mod) and up.left is name:
        return isinstance(up.right, ast.Constant) and up.right.value == 2
    if isinstance(up, ast.Call) and isinstance(up.func, ast.Name) and up.func.id == "abs":
        return up.args == [name] and not up.keywords and abs_is_builtin
    return isinstance(up, ast.If | ast.While | ast.IfExp) and up.test is name


def _sign_blind_counter(tree: ast.Module, node: ast.AST) -> bool:
    """``v += k`` <-> ``v -= k`` where ``v`` starts at 0 and only ever moves by that one statement: it ends as
    ``c*k`` or ``-c*k``; read only where the sign cannot show (``v == 0``, ``if v``, ``v % 2``, ``abs(v)``),
    the two are the same."""
    if not (
        isinstance(node, ast.AugAssign)
        and isinstance(node.op, ast.Add | ast.Sub)
        and isinstance(node.target, ast.Name)
        and isinstance(node.value, ast.Constant)
        and type(node.value.value) is int
    ):
        return False
    var = node.target.id
    if introspects(tree) or var in binds_not_by_name(tree):
        return False  # read through locals(), or bound by a match capture to any value (a review found both)
    abs_is_builtin = not rebound(tree, "abs")
    parent_of = parents(tree)
    for other in ast.walk(tree):
        if isinstance(other, ast.arg) and other.arg == var:
            return False
        if isinstance(other, ast.Global | ast.Nonlocal) and var in other.names:
            return False
        if not (isinstance(other, ast.Name) and other.id == var):
            continue
        up = parent_of.get(id(other))
        if isinstance(other.ctx, ast.Load):
            if not _sign_blind_read(parent_of, other, abs_is_builtin=abs_is_builtin):
                return False
        elif isinstance(up, ast.AugAssign) and up.target is other:
            if up is not node:
                # Another step, even the same one: the mutant flips only this one, so the counter
                # would move both ways and could come back to 0 (a review found it).
                return False
        elif not (
            isinstance(up, ast.Assign)
            and up.targets == [other]
            and isinstance(up.value, ast.Constant)
            and type(up.value.value) is int
            and up.value.value == 0
        ):
            return False  # any other store (a tuple target, a loop variable, del, ...)
    return True


def _zero_test(tree: ast.Module, node: ast.AST) -> bool:
    """``x == x + y`` <-> ``x == x - y`` (or ``!=``): both say y == 0. ``x`` is names and constants only,
    the same value both times it is evaluated. For int operands, as :func:`_parity` (with floats,
    rounding can make ``x + y == x`` and ``x - y == x`` differ)."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)) or not _float_free(tree):
        return False
    up = parents(tree).get(id(node))
    if not (isinstance(up, ast.Compare) and len(up.ops) == 1 and isinstance(up.ops[0], ast.Eq | ast.NotEq)):
        return False
    other = up.comparators[0] if up.left is node else up.left
    if any(isinstance(n, ast.NamedExpr) for n in ast.walk(up)):
        return False  # `a + (a := b) == a`: x is not the same value twice (found by review)
    return (
        ast.dump(other) == ast.dump(node.left)
        and all(isinstance(n, ast.Name | ast.Load | ast.Constant) for n in ast.walk(other))
        # y runs between x's two reads: a call in it could rebind x (found by review: `x + g(n) == x`)
        and all(isinstance(n, ast.Name | ast.Load | ast.Constant) for n in ast.walk(node.right))
        and not any(isinstance(n, ast.Constant) and isinstance(n.value, str | bytes) for n in ast.walk(up))
    )


def _empty_extra_passes(tree: ast.Module, node: ast.AST) -> bool:
    """The end of an outer loop moved (``range(a, E - 2)`` -> ``range(a, E + 2)``, or ``E - 3``), where the
    outer loop's whole body is an inner ``for j in range(i + d, E + k3)``: on every pass one program makes
    and the other does not, i >= E + min(k, k'), the inner range is empty (i + d >= E + k3), so the pass
    does nothing. The outer index is not read after the loop (liveness); E and i are locals only the
    function's own statements rebind, and neither is rebound in the loop."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.For) or node not in chain or stmt.iter not in chain:
        return False
    outer = stmt
    end = outer.iter.args[-1] if isinstance(outer.iter, ast.Call) and outer.iter.args else None
    if end is None or not (end is node or (isinstance(end, ast.BinOp) and end.right is node)):
        return False
    bound = _name_plus(end)
    if bound is None or not _plain_range(tree, outer.iter, (1, 2)):
        return False
    e, k_ref = bound
    if isinstance(node, ast.BinOp):
        k_mut = -k_ref
    else:  # the constant c made c + 1: E - c moves down one, E + c up one
        k_mut = k_ref - 1 if isinstance(end, ast.BinOp) and isinstance(end.op, ast.Sub) else k_ref + 1
    if not (isinstance(outer.target, ast.Name) and not outer.orelse and len(outer.body) == 1):
        return False
    i = outer.target.id
    inner = outer.body[0]
    if not (isinstance(inner, ast.For) and not inner.orelse and _plain_range(tree, inner.iter, (2,))):
        return False
    assert isinstance(inner.iter, ast.Call)
    start, stop = inner.iter.args
    d = 0 if isinstance(start, ast.Name) and start.id == i else None
    if isinstance(start, ast.BinOp) and isinstance(start.op, ast.Add) and isinstance(start.left, ast.Name):
        d = _int_const(start.right) if start.left.id == i else None
    stop_bound = _name_plus(stop)
    if d is None or d < 0 or stop_bound is None or stop_bound[0] != e:
        return False
    if min(k_ref, k_mut) < stop_bound[1] - d:
        return False
    if i == e or introspects(tree) or not _plain_locals(func, {i, e}):
        return False
    if _binds_in(outer, {id(outer.target)}) & {i, e}:
        return False
    return live_after(func, outer, i) is False


def _first_pass_idle(tree: ast.Module, node: ast.AST) -> bool:
    """``for i in range(a, E)`` made ``range(a + 1, E)``, where the loop's whole body is one ``if`` (no
    ``else``) whose test, made of i and int constants only, is false at i = a: the pass dropped did
    nothing. ``i`` is a local not read after the loop (liveness), not rebound in it."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.For) or stmt.iter not in chain:
        return False
    call = stmt.iter
    if not (builtin_call(tree, call, "range", (2,)) and isinstance(call, ast.Call) and call.args[0] is node):
        return False  # (E, evaluated once in both programs, may be anything)
    if not (isinstance(stmt.target, ast.Name) and len(stmt.body) == 1 and isinstance(stmt.body[0], ast.If)):
        return False
    i = stmt.target.id
    guard = stmt.body[0]
    if stmt.orelse or guard.orelse or _int_value(guard.test, i, node.value) is not False:  # type: ignore[attr-defined]
        return False  # (the loop's `else` may read i, and liveness looks after the whole statement)
    if introspects(tree) or not _plain_locals(func, {i}) or i in _binds_in(stmt, {id(stmt.target)}):
        return False
    return live_after(func, stmt, i) is False


def _first_pass_settles(tree: ast.Module, node: ast.AST) -> bool:
    """A best-so-far's start ``best = c`` made ``c + 1``, both at most 1, before an arg-max over a
    sequence's own counts, whose first element is the answer's start:

        best = c                    # in the function's own body
        res = xs[0]                 # xs unmentioned from here to the loop: it is not empty, and x's
        for x in xs:                # first value is xs[0]
            k = xs.count(x)         # (or the call in the test): at least 1, x being in xs
            if k > best:
                best = k
                res = x

    On the first pass k >= 1 >= best in both programs: either both take the branch, or one keeps
    ``best == 1 == k`` and ``res == xs[0] == x``, what the branch would store. After that pass the two
    programs are in the same state. The loop has no ``break``, ``continue``, ``return`` or ``else``,
    nothing else in it mentions best or res, nor binds xs or x, and nothing between the start and the
    loop mentions best; all four are locals no closure or introspection reaches. For a list, tuple or
    string xs (the task's input types: ``count`` and indexing are theirs)."""
    func, stmt, _ = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.Assign) or stmt not in func.body or len(stmt.targets) != 1:
        return False
    if not self_contained(tree, func):
        return False
    value = stmt.value
    negated = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
    c = _int_const(node)
    if (value.operand if isinstance(value, ast.UnaryOp) and negated else value) is not node or c is None:
        return False
    if not isinstance(stmt.targets[0], ast.Name) or (not negated and c + 1 > 1):
        return False  # the starts c and c + 1 (or -c and -(c + 1)) at most 1
    best = stmt.targets[0].id
    rest = func.body[func.body.index(stmt) + 1 :]
    loop = next((s for s in rest if best in _names_in(s)), None)
    if not (
        isinstance(loop, ast.For) and isinstance(loop.target, ast.Name) and isinstance(loop.iter, ast.Name)
    ):
        return False
    x, xs = loop.target.id, loop.iter.id
    before = rest[: rest.index(loop)]
    start = next(
        (
            k
            for k, s in enumerate(before)
            if isinstance(s, ast.Assign)
            and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name)
            and ast.dump(s.value)
            == ast.dump(ast.Subscript(ast.Name(xs, ast.Load()), ast.Constant(0), ast.Load()))
        ),
        None,
    )
    if start is None:
        return False
    res = before[start].targets[0].id  # type: ignore[attr-defined]
    if any({xs, res} & _names_in(s) for s in before[start + 1 :]):
        return False
    if (
        loop.orelse
        or len({best, res, x, xs}) != 4
        or introspects(tree)
        or not _plain_locals(func, {best, res, x, xs})
    ):
        return False
    if any(
        isinstance(n, ast.Break | ast.Continue | ast.Return | ast.Yield | ast.YieldFrom)
        for n in ast.walk(loop)
    ):
        return False
    # xs read only as xs[0] at the start, by the loop and by xs.count(x) in it: no alias, no method, no
    # store can change it in place (found by review: nums.pop(0) in the loop, other = nums; other.clear())
    xs_loads = [n for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == xs]
    up = parents(func)
    allowed = {id(loop.iter), id(before[start].value.value)}  # type: ignore[attr-defined]
    for n in xs_loads:
        call = up.get(id(up.get(id(n))))
        if id(n) in allowed:
            continue
        if not (isinstance(call, ast.Call) and ast.dump(call) == _count_dump(xs, x)):
            return False
    # No call from the start to the loop's end but xs.count(x): a callee could change xs in place
    # through another name (found by review: a global list xs was passed as, changed by a helper).
    span = [*before[start:], loop]
    if any(
        isinstance(n, ast.Call) and ast.dump(n) != _count_dump(xs, x) for st in span for n in ast.walk(st)
    ):
        return False
    guard = next((s for s in loop.body if isinstance(s, ast.If)), None)
    if guard is None or guard.orelse or _binds_in(loop, {id(loop.target)}) & {xs, x}:
        return False
    count = _count_dump(xs, x)
    k = guard.test.left if isinstance(guard.test, ast.Compare) else None
    at = loop.body.index(guard)
    if isinstance(k, ast.Name):  # k = xs.count(x) right before the test
        prior = loop.body[at - 1] if at else None
        if not (
            isinstance(prior, ast.Assign)
            and len(prior.targets) == 1
            and isinstance(prior.targets[0], ast.Name)
            and prior.targets[0].id == k.id
            and ast.dump(prior.value) == count
            and k.id not in {best, res, x, xs}
        ):
            return False
    elif k is None or ast.dump(k) != count:
        return False
    test = guard.test
    assert isinstance(test, ast.Compare)
    if not (
        len(test.ops) == 1
        and isinstance(test.ops[0], ast.Gt)
        and isinstance(test.comparators[0], ast.Name)
        and test.comparators[0].id == best
    ):
        return False
    stores = {
        (s.targets[0].id, ast.dump(s.value))
        for s in guard.body
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
    }
    if len(guard.body) != 2 or stores != {(best, ast.dump(k)), (res, ast.dump(ast.Name(x, ast.Load())))}:
        return False
    return not any({best, res} & _names_in(s) for s in loop.body if s is not guard)


def _dead_conjunct(tree: ast.Module, node: ast.AST) -> bool:
    """A change in A of a test ``A and g == k`` where g is never k: g is bound only by ``g = c`` (int
    constants), one of them (c != k) in the function's own body before the test's statement, and those
    with c == k only under a test that is always false, ``E - E < 0`` (or ``> 0``: 0, or NaN for an
    infinite float, compares false). So the test is false in both programs and its body never runs;
    A, made of plain cells, names, int constants, ``+``/``-`` and one order comparison, is evaluated in
    both and, for int or float operands (the task's input types), raises in neither. (MBPP 899, whose
    ``arr[i] - arr[i] < 0`` is a typo for ``arr[i] - arr[i - 1] < 0``.) Like :func:`_parity`, it only
    ever backs the differential run, which calls both programs on the task's own input types: a list
    of strings there (``+`` joins, ``-`` raises) shows the difference before the rule is asked."""
    up = parents(tree)
    test = next((a for a in _ancestors(up, node) if isinstance(a, ast.BoolOp)), None)
    if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and len(test.values) == 2):
        return False
    left, right = test.values
    if any(
        n is node for sub in ast.walk(left) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)
    ):
        return False  # an index changed reads another cell, or none (found by review: IndexError)
    if not any(n is node for n in ast.walk(left)) or not (
        isinstance(left, ast.Compare)
        and len(left.ops) == 1
        and isinstance(left.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE)
        and all(
            isinstance(n, ast.Name | ast.Load | ast.BinOp | ast.Add | ast.Sub | ast.Compare | ast.cmpop)
            or _plain_cell(n)
            or _int_const(n) is not None
            or isinstance(up.get(id(n)), ast.Subscript)  # inside a plain cell's index
            for n in ast.walk(left)
        )
    ):
        return False
    if not (
        isinstance(right, ast.Compare)
        and isinstance(right.left, ast.Name)
        and len(right.ops) == 1
        and isinstance(right.ops[0], ast.Eq)
        and (k := _int_const(right.comparators[0])) is not None
    ):
        return False
    g = right.left.id
    func, stmt, _ = _statement_of(tree, test)
    if func is None or stmt is None or introspects(tree) or not _plain_locals(func, {g}):
        return False
    if not self_contained(tree, func):
        return False
    # The values A computes with are the task's numbers: cells of parameters, parameters and range
    # indices, never rebound (found by review: a local holding an object whose __sub__ says anything);
    # an index is int arithmetic of those (found by review: arr[k] for k = slice(None) is a list).
    indices = {id(n) for sub in ast.walk(left) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)}
    for n in ast.walk(left):
        if id(n) in indices and not (
            isinstance(n, ast.Load | ast.Add | ast.Sub)
            or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add | ast.Sub))
            or _int_const(n) is not None
            or (isinstance(n, ast.Name) and (_input_name(tree, func, n.id) or _range_var(tree, func, n.id)))
        ):
            return False
        if isinstance(n, ast.Name) and id(n) not in indices:
            cell = up.get(id(n))
            base = isinstance(cell, ast.Subscript) and cell.value is n
            # a bare parameter may be a list (xs + ys < xs: found by review): cells of parameters only
            if not (
                (base and _input_name(tree, func, n.id, cells=True))
                or (not base and _range_var(tree, func, n.id))
            ):
                return False
    stores = stores_of(func, g)
    if g in binds_not_by_name(func):
        return False
    for n in stores:
        bind = up.get(id(n))
        if not (
            isinstance(bind, ast.Assign) and bind.targets == [n] and (c := _int_const(bind.value)) is not None
        ):
            return False
        if c == k and not _never_runs(up, bind):
            return False
    for n in stores:
        bind = up.get(id(n))
        if isinstance(bind, ast.stmt) and _never_runs(up, bind):
            side = up[id(bind)].test.left.left  # type: ignore[attr-defined]
            held = side.value if isinstance(side, ast.Subscript) else side
            cells = isinstance(side, ast.Subscript)
            if not (isinstance(held, ast.Name) and _input_name(tree, func, held.id, cells=cells)):
                return False  # E - E of the task's numbers only (found by review: a class's __sub__)
    top = next((a for a in [stmt, *_ancestors(up, stmt)] if a in func.body), None)
    return top is not None and any(
        isinstance(s, ast.Assign) and s.targets[0] in stores and _int_const(s.value) != k
        for s in func.body[: func.body.index(top)]
    )


def _input_name(
    tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, *, cells: bool = False
) -> bool:
    """``name`` is a required parameter the function never rebinds: it holds the task's input. With
    ``cells`` (a list whose cells are read), it is only ever read as a cell's base (``arr[i]``) or in
    ``len(arr)``: never stored into, given a method, passed on or aliased (``list.append(arr, 'ab')``,
    ``b = arr; b.append(..)``: found by review), so its cells stay the task's numbers."""
    up = parents(func)
    for n in ast.walk(func):
        if cells and isinstance(n, ast.Name) and n.id == name:
            above = up.get(id(n))
            cell = isinstance(above, ast.Subscript) and above.value is n and isinstance(above.ctx, ast.Load)
            if not (cell or (above is not None and builtin_call(tree, above, "len", (1,)))):
                return False
    return fixed_input(func, name)


def _range_var(tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Every binding of the local ``name`` is a ``for`` over the builtin ``range``: it holds ints."""
    up = parents(func)
    binds = stores_of(func, name)
    return (
        bool(binds)
        and _plain_locals(func, {name})
        and name not in binds_not_by_name(func)
        and all(
            isinstance(loop := up.get(id(n)), ast.For)
            and loop.target is n
            and builtin_call(tree, loop.iter, "range", (1, 2, 3))
            for n in binds
        )
    )


def _never_runs(up: dict[int, ast.AST], stmt: ast.stmt) -> bool:
    """``stmt`` is in the body of an ``if E - E < 0`` (or ``> 0``), E a plain cell or a name."""
    guard = up.get(id(stmt))
    if not (isinstance(guard, ast.If) and stmt in guard.body):
        return False
    t = guard.test
    return (
        isinstance(t, ast.Compare)
        and len(t.ops) == 1
        and isinstance(t.ops[0], ast.Lt | ast.Gt)
        and _int_const(t.comparators[0]) == 0
        and isinstance(t.left, ast.BinOp)
        and isinstance(t.left.op, ast.Sub)
        and ast.dump(t.left.left) == ast.dump(t.left.right)
        and (isinstance(t.left.left, ast.Name) or _plain_cell(t.left.left))
    )


def _ancestors(up: dict[int, ast.AST], node: ast.AST) -> list[ast.AST]:
    out = []
    while (node := up.get(id(node))) is not None:  # type: ignore[assignment]
        out.append(node)
    return out


def _top_k_prefix(tree: ast.Module, node: ast.AST) -> bool:
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


def _count_dump(xs: str, x: str) -> str:
    """The dump of ``xs.count(x)``."""
    return ast.dump(
        ast.Call(ast.Attribute(ast.Name(xs, ast.Load()), "count", ast.Load()), [ast.Name(x, ast.Load())], [])
    )


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _int_value(expr: ast.AST, name: str, value: int) -> int | bool | None:
    """The value of ``expr`` with ``name`` = value, for an expression of that name, int constants,
    ``+ - * // %`` and comparisons; None for anything else (or a division by 0)."""
    if isinstance(expr, ast.Name):
        return value if expr.id == name else None
    if (c := _int_const(expr)) is not None:
        return c
    if isinstance(expr, ast.BinOp):
        left, right = _int_value(expr.left, name, value), _int_value(expr.right, name, value)
        if type(left) is not int or type(right) is not int:
            return None
        ops = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__}
        if type(expr.op) in ops:
            return ops[type(expr.op)](left, right)  # type: ignore[no-any-return]
        if isinstance(expr.op, ast.FloorDiv | ast.Mod) and right != 0:
            return left // right if isinstance(expr.op, ast.FloorDiv) else left % right
        return None
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1:
        left, right = _int_value(expr.left, name, value), _int_value(expr.comparators[0], name, value)
        if type(left) is not int or type(right) is not int:
            return None
        return ORDERS[type(expr.ops[0])](left, right) if type(expr.ops[0]) in ORDERS else None
    return None


def _inert_body(tree: ast.Module, node: ast.AST) -> bool:
    """An ``if`` (no ``else``) whose body only evaluates cells its test read and drops them (``(a[j],
    a[j + 1] == a[j + 1], a[j])``, a typo for a swap): with its test flipped, or removed, nothing changes.

    The test is one comparison (no chain, so no short cut) of subscripts, names and constants, so every
    subscript in it is evaluated; the body holds only tuples, constants, ``==``/``!=`` and those same
    subscripts, so it cannot raise once the test has run (``==`` of builtin values never raises). With
    the test removed it must not have raised where the body does not: it reads exactly the body's
    subscripts and no bare name, and compares with ``==``/``!=``, or orders two cells of the same
    sequence (the task's lists are of one comparable type, as :func:`_parity` takes ints). Subscript
    indices are names, constants and ``+``/``-`` of them. (Found by review: bare names and ``+`` in the
    body, chains and comprehensions in the test, ``x < s`` across types.)"""
    up = parents(tree)
    guard = node if isinstance(node, ast.If) else up.get(id(node))
    if not (isinstance(guard, ast.If) and (guard is node or guard.test is node)):
        return False
    reads = _inert_if(guard)
    if reads is None:
        return False
    test_reads, body_reads = reads
    if guard is not node:
        return True  # flipped: the test runs as before, the body cannot raise after it
    test = guard.test
    assert isinstance(test, ast.Compare)
    sides = (test.left, test.comparators[0])
    if body_reads != test_reads or not all(isinstance(x, ast.Subscript | ast.Constant) for x in sides):
        return False
    if isinstance(test.ops[0], ast.Eq | ast.NotEq):
        return True
    left, right = sides
    return (
        isinstance(test.ops[0], ast.Lt | ast.LtE | ast.Gt | ast.GtE)
        and isinstance(left, ast.Subscript)
        and isinstance(right, ast.Subscript)
        and ast.dump(left.value) == ast.dump(right.value)
    )


def _inert_if(guard: ast.If) -> tuple[set[str], set[str]] | None:
    """The cells an ``if`` (no ``else``) reads in its test and in its body (their dumps), when the test is
    one comparison of names, constants and plain cells (:func:`_plain_cell`) and the body only evaluates
    cells its test read, in tuples and ``==``/``!=``, and drops them: once its test has run, the ``if``
    can neither raise nor change anything. None for anything else."""
    test = guard.test
    if guard.orelse or not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    sides = (test.left, test.comparators[0])
    if not all(isinstance(x, ast.Name | ast.Constant) or _plain_cell(x) for x in sides):
        return None
    test_reads = {ast.dump(x) for x in sides if isinstance(x, ast.Subscript)}
    body_reads: set[str] = set()
    for stmt in guard.body:
        if not isinstance(stmt, ast.Expr):
            return None
        todo = [stmt.value]
        while todo:
            n = todo.pop()
            if isinstance(n, ast.Tuple):
                todo.extend(n.elts)
            elif isinstance(n, ast.Compare) and all(isinstance(op, ast.Eq | ast.NotEq) for op in n.ops):
                todo.extend([n.left, *n.comparators])
            elif _plain_cell(n):
                body_reads.add(ast.dump(n))
            elif not isinstance(n, ast.Constant):
                return None
    return (test_reads, body_reads) if body_reads <= test_reads else None


def _inert_passes(tree: ast.Module, node: ast.AST) -> bool:
    """``for j in range(a, E)`` made ``range(a + 1, E)`` (the mutant makes the same passes less the first)
    where the loop's whole body is an inert ``if`` (:func:`_inert_if`: ``if a[j] > a[j + 1]: (a[j],
    a[j + 1] == a[j + 1], a[j])``, a typo for a swap). A pass changes nothing, or raises in its test: where
    the reference answers, none of its passes raised, so none of the mutant's does, and both end in the
    same state. Test values are read without side effects: every name the passes read but ``j`` is a
    required parameter the function never rebinds and only reads (:func:`_only_read`: the task's lists;
    a ``defaultdict`` made in the function would grow a key). The function is self-contained, with no
    ``try`` or ``with`` to catch what a pass raises. ``j`` is a local not read after the loop (liveness),
    which has no ``else``."""
    func, stmt, chain = _statement_of(tree, node)
    if func is None or not isinstance(stmt, ast.For) or stmt.iter not in chain:
        return False
    call = stmt.iter
    if not (builtin_call(tree, call, "range", (2,)) and isinstance(call, ast.Call) and call.args[0] is node):
        return False
    if not (isinstance(stmt.target, ast.Name) and not stmt.orelse and len(stmt.body) == 1):
        return False
    guard = stmt.body[0]
    if not isinstance(guard, ast.If) or _inert_if(guard) is None:
        return False
    j = stmt.target.id
    # Every name the passes read is the index or an input: a local could hold an object whose comparison
    # has an effect (a Decimal sets its context's flags: found by review).
    names = {n.id for n in ast.walk(guard) if isinstance(n, ast.Name)} - {j}
    if not all(fixed_input(func, name) and _only_read(tree, func, guard, name) for name in names):
        return False
    # No one catches what a pass raises, in the function or around a call of it (found by review: a
    # `try`, `contextlib.suppress`, a helper calling it with a defaultdict).
    if not self_contained(tree, func) or any(isinstance(n, _CATCHERS) for n in ast.walk(func)):
        return False
    if introspects(tree) or not _plain_locals(func, {j}) or j in _binds_in(stmt, {id(stmt.target)}):
        return False
    return live_after(func, stmt, j) is False


def _only_read(
    tree: ast.Module, func: ast.FunctionDef | ast.AsyncFunctionDef, guard: ast.If, name: str
) -> bool:
    """Every mention of ``name`` in ``func`` reads it: ``len(a)``, or a cell (``a[i]``, ``a[i][k]``) in the
    inert ``guard``, or an operand of a comparison or arithmetic, or returned. Nothing aliases it or a cell
    of it, passes it on, or replaces what it holds (found by review: ``a[:] = map(cmp_to_key(
    d.setdefault), a)`` made every comparison of its cells write to d)."""
    up = parents(tree)
    in_guard = {id(m) for m in ast.walk(guard)}
    for n in ast.walk(func):
        if not (isinstance(n, ast.Name) and n.id == name):
            continue
        parent = up.get(id(n))
        if isinstance(parent, ast.Call) and builtin_call(tree, parent, "len", (1,)) and parent.args[0] is n:
            continue
        top: ast.AST = n
        while isinstance(up.get(id(top)), ast.Subscript) and up[id(top)].value is top:  # type: ignore[attr-defined]
            top = up[id(top)]
        if top is n or not isinstance(top.ctx, ast.Load):  # type: ignore[attr-defined]
            return False
        # a cell only compared, computed with or returned: never bound to a name, iterated, passed on
        # or called a method of, where what it holds could change (found by review: `x = a[i]` then
        # `x[:] = map(cmp_to_key(d.setdefault), x)`, a list of lists)
        if not (
            id(top) in in_guard
            or isinstance(up.get(id(top)), ast.Compare | ast.BinOp | ast.UnaryOp | ast.Return)
        ):
            return False
    return True


def _plain_cell(n: ast.AST) -> bool:
    """``a[i]``, ``a[i + 1]``: a name subscripted by names, int constants and ``+``/``-`` of them."""
    if not (isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and isinstance(n.ctx, ast.Load)):
        return False
    return all(
        isinstance(m, ast.Name | ast.Load | ast.BinOp | ast.Add | ast.Sub) or _int_const(m) is not None
        for m in ast.walk(n.slice)
    )


def _noop_guard(tree: ast.Module, node: ast.AST) -> bool:
    """``if len(ys) > 0: xs.extend(ys)`` (or ``if ys:``, ``xs += ys``) run without its test: when the test
    fails ys is the empty list and extending by it changes nothing. ``ys`` is only ever bound to a new
    list (a display or a list comprehension), ``xs`` to a new list too; both are locals no closure,
    ``global`` or introspection reaches; ``len`` is the builtin."""
    if isinstance(node, ast.If) and not node.orelse and _zero_steps(tree, node):
        return True
    if not (isinstance(node, ast.If) and not node.orelse and len(node.body) == 1):
        return False
    func, _stmt, _chain = _statement_of(tree, node.body[0])
    body = node.body[0]
    if func is None or introspects(tree):
        return False
    if isinstance(body, ast.Expr) and isinstance(call := body.value, ast.Call):
        if not (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "extend"
            and isinstance(call.func.value, ast.Name)
            and len(call.args) == 1
            and not call.keywords
        ):
            return False
        xs, ys = call.func.value, call.args[0]
    elif (
        isinstance(body, ast.AugAssign) and isinstance(body.op, ast.Add) and isinstance(body.target, ast.Name)
    ):
        xs, ys = body.target, body.value
    else:
        return False
    if not isinstance(ys, ast.Name) or ys.id == xs.id or not _empty_when_false(tree, node.test, ys.id):
        return False
    if not (
        all(_only_new_lists(func, name) for name in (xs.id, ys.id)) and _plain_locals(func, {xs.id, ys.id})
    ):
        return False
    # xs bound before the guard on every path (found by review: bound only in a loop that may not run,
    # the mutant's xs.extend raises where the reference's test just fails): a list made by a statement
    # of the function's own body that comes before the one holding the guard
    top = next(k for k, st in enumerate(func.body) if any(n is node for n in ast.walk(st)))
    return any(
        isinstance(st, ast.Assign)
        and [ast.dump(t) for t in st.targets] == [ast.dump(ast.Name(id=xs.id, ctx=ast.Store()))]
        and isinstance(st.value, ast.List | ast.ListComp)
        for st in func.body[:top]
    )


def _zero_steps(tree: ast.Module, guard: ast.If) -> bool:
    """``if v: a += v; b -= v`` (or ``if v != 0:``) run without its test: when the test fails v is 0, and
    stepping an int by 0 changes nothing. In a program where no float arises from the task's int inputs
    (:func:`_float_free`), v and every a are int-valued locals (:func:`_int_valued`), each a bound by a
    statement of the function's own body before the one holding the guard (so ``a += 0`` cannot raise
    where the test just failed)."""
    func, _, _ = _statement_of(tree, guard)
    if func is None or not self_contained(tree, func):
        return False
    test = guard.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotEq):
        sides = [test.left, test.comparators[0]]
        test = (
            next((x for x in sides if _int_const(x) is None), test) if 0 in map(_int_const, sides) else test
        )
    if func is None or not isinstance(test, ast.Name) or not _float_free(tree) or introspects(tree):
        return False
    if any(
        isinstance(op, ast.Is | ast.IsNot)
        for n in ast.walk(tree)
        if isinstance(n, ast.Compare)
        for op in n.ops
    ):
        return False  # `a += 0` makes a new int object past the small ones: `a is b` tells (found by review)
    if any(isinstance(n, ast.Name) and n.id == "id" for n in ast.walk(tree)):
        return False  # ... and so does id(a) == id(b) (found by review)
    v = test.id
    steps = [
        st.target.id
        for st in guard.body
        if isinstance(st, ast.AugAssign)
        and isinstance(st.op, ast.Add | ast.Sub)
        and isinstance(st.target, ast.Name)
        and isinstance(st.value, ast.Name)
        and st.value.id == v
        and st.target.id != v
    ]
    if len(steps) != len(guard.body) or not _plain_locals(func, {v, *steps}):
        return False
    if not all(_int_valued(func, name, set()) for name in {v, *steps}):
        return False
    top = next(k for k, st in enumerate(func.body) if any(n is guard for n in ast.walk(st)))
    bound = {
        t.id
        for st in func.body[:top]
        if isinstance(st, ast.Assign)
        for t in st.targets
        if isinstance(t, ast.Name)
    }
    return set(steps) <= bound


_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.RShift, ast.LShift)


def _int_valued(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, seen: set[str]) -> bool:
    """Every binding of ``name`` in ``func`` stores an int, given int parameters: ``name = E`` or
    ``name op= E`` with E made of int constants, parameters, ``+ - * // % >> <<`` (never a bool out of
    them: ``True + 0`` is 1), unary minus and names that are themselves int-valued."""
    if name in seen:
        return True  # (a cycle: each of its bindings is checked where it is first met)
    seen.add(name)
    params = _params(func)
    binds = stores_of(func, name)
    if name in binds_not_by_name(func):
        return False  # (found by review: a parameter rebound by `import .. as`, `except .. as`, `case`)
    if name in params:
        required = name in required_params(func)
        return required and (not binds or all(_int_bind(func, n, params, seen) for n in binds))
    return bool(binds) and all(_int_bind(func, n, params, seen) for n in binds)


def _int_bind(
    func: ast.FunctionDef | ast.AsyncFunctionDef, target: ast.Name, params: set[str], seen: set[str]
) -> bool:
    stmt = next(
        (
            s
            for s in ast.walk(func)
            if isinstance(s, ast.Assign | ast.AugAssign)
            and (target in getattr(s, "targets", []) or getattr(s, "target", None) is target)
        ),
        None,
    )
    if stmt is None or (isinstance(stmt, ast.AugAssign) and not isinstance(stmt.op, _INT_OPS)):
        return False
    value = stmt.value
    if (
        isinstance(stmt, ast.Assign)
        and value is not None
        and not isinstance(value, ast.BinOp | ast.UnaryOp | ast.Constant)
    ):
        return False  # a bare name or constant could be a bool
    for n in ast.walk(value):
        if isinstance(n, ast.Name):
            if not _int_valued(func, n.id, seen):  # (a parameter rebound to a list is none: found by review)
                return False
        elif isinstance(n, ast.Constant):
            if type(n.value) is not int:
                return False
        elif isinstance(n, ast.BinOp):
            if not isinstance(n.op, _INT_OPS):
                return False
        elif isinstance(n, ast.UnaryOp):
            if not isinstance(n.op, ast.USub):
                return False
        elif not isinstance(n, ast.Load | ast.operator | ast.unaryop):
            return False
    return True


def _empty_when_false(tree: ast.Module, test: ast.AST, name: str) -> bool:
    """``test`` fails only when the list ``name`` is empty: ``name``, ``len(name)``, ``len(name) > 0``,
    ``len(name) != 0``, ``len(name) >= 1``, ``0 < len(name)``."""
    if isinstance(test, ast.Name):
        return test.id == name

    def is_len(n: ast.AST) -> bool:
        return (
            builtin_call(tree, n, "len", (1,))
            and isinstance(n, ast.Call)
            and isinstance(n.args[0], ast.Name)
            and n.args[0].id == name
        )

    if is_len(test):
        return True
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if is_len(left):
        k = _int_const(right)
        return (isinstance(op, ast.Gt | ast.NotEq) and k == 0) or (isinstance(op, ast.GtE) and k == 1)
    if is_len(right):
        k = _int_const(left)
        return (isinstance(op, ast.Lt | ast.NotEq) and k == 0) or (isinstance(op, ast.LtE) and k == 1)
    return False


def _only_new_lists(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Every binding of ``name`` in ``func`` is ``name = [...]`` or ``name = [.. for ..]`` (or ``name +=``):
    it is always a list the function made. Not a parameter."""
    if name in _params(func) or name in binds_not_by_name(func):
        return False
    parent_of = parents(func)
    for n in ast.walk(func):
        if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
            up = parent_of.get(id(n))
            if (
                isinstance(up, ast.Assign)
                and len(up.targets) == 1
                and isinstance(up.value, ast.List | ast.ListComp)
            ):
                continue
            if isinstance(up, ast.AugAssign) and isinstance(up.op, ast.Add):
                continue
            return False
    return True


def _name_plus(node: ast.AST) -> tuple[str, int] | None:
    """(E, k) for ``E``, ``E + k`` or ``E - k`` (E a name, k an int constant; ``E - k`` gives -k)."""
    if isinstance(node, ast.Name):
        return node.id, 0
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add | ast.Sub)
        and isinstance(node.left, ast.Name)
        and (k := _int_const(node.right)) is not None
    ):
        return node.left.id, k if isinstance(node.op, ast.Add) else -k
    return None


def _plain_range(tree: ast.Module, call: ast.AST, arities: tuple[int, ...]) -> bool:
    return (
        builtin_call(tree, call, "range", arities)
        and isinstance(call, ast.Call)
        and all(
            isinstance(n, ast.Name | ast.Load | ast.Constant | ast.BinOp | ast.operator)
            for a in call.args
            for n in ast.walk(a)
        )
    )


# rule name -> (the mutation operators it applies to, the check on the reference's tree and the site)
RULES: dict[str, tuple[tuple[str, ...], Callable[[ast.Module, ast.AST], bool]]] = {
    "parity": (("swap_add_sub",), _parity),
    "zero_test": (("swap_add_sub",), _zero_test),
    "empty_extra_passes": (("swap_add_sub", "off_by_one"), _empty_extra_passes),
    "noop_guard": (("first_branch",), _noop_guard),
    "first_pass_idle": (("off_by_one",), _first_pass_idle),
    "first_pass_settles": (("off_by_one",), _first_pass_settles),
    "top_k_prefix": (("off_by_one",), _top_k_prefix),
    "inert_body": (("flip_compare", "first_branch"), _inert_body),
    "inert_passes": (("off_by_one",), _inert_passes),
    "dead_conjunct": (("flip_compare", "swap_add_sub"), _dead_conjunct),
    "sign_blind_counter": (("swap_add_sub",), _sign_blind_counter),
    "dead_store": (("off_by_one",), dead_store),
    "overwritten_table": (("off_by_one",), overwritten_table),
    "filled_in_order": (("off_by_one",), filled_in_order),
    "filled_by_rows": (("off_by_one",), filled_by_rows),
    "filled_as_triangle": (("off_by_one",), filled_as_triangle),
    "grown_table": (("off_by_one",), grown_table),
    "cell_counter": (("off_by_one", "swap_add_sub"), cell_counter),
    "unread_cells": (("off_by_one",), unread_cells),
    "scaled_counter": (("off_by_one",), scaled_counter),
}


def equivalence_rule(reference: str, entry: str | None, operator: str) -> str | None:
    """The name of the rule that proves the mutant ``operator`` makes of ``reference`` equivalent, or None."""
    found = mutation_site(reference, entry, operator)
    if found is None:
        return None
    tree, node = found
    if reflective(tree):
        return None
    return next((rule for rule, (ops, check) in RULES.items() if operator in ops and check(tree, node)), None)


def classify_survivors(
    reference: str,
    entry: str,
    survivors: dict[str, str],
    inputs: list[Input],
    contract: Contract | StdioContract,
    oracle: Any,
    *,
    timeout_s: float,
    found: dict[str, list[Input]] | None = None,
    sentinels: Constants = NO_CONSTANTS,
    source: tuple[str, str | None] | None = None,
) -> dict[str, SurvivorNote]:
    """A :class:`SurvivorNote` per surviving mutant (``name -> program``), from the reference's and each
    mutant's answers on ``inputs`` (the differential set) and :func:`equivalence_rule`. With ``found``,
    the inputs within the contract that tell a ``missed`` mutant apart are put there, by mutant name.
    ``source``: the program and entry point the mutants were made from, for the syntactic rules, when
    the oracle runs another form of it (a stdio program with its calling function appended). An input
    the reference answers with one of its ``sentinels`` (:class:`Constants`: ``10 ** 20``, ``inf``) is
    one it has no answer for, outside the contract as much as one the contract refuses."""
    ref = answers(oracle, reference, entry, inputs, timeout_s)
    answered = [(i, r["ok"]) for i, r in zip(inputs, ref, strict=True) if r is not None and "ok" in r]
    notes: dict[str, SurvivorNote] = {}
    for name, program in survivors.items():
        edge = None if source else boundary_inputs(reference, entry, name, inputs)
        if edge:
            checked, got, edge_proof = run_with_points(
                oracle, reference, program, entry, edge, answered, timeout_s
            )
        else:
            checked, edge_proof = answered, False
            got = answers(oracle, program, entry, [i for i, _ in checked], timeout_s)
        # An input the mutant was never run on (its run stopped after repeated timeouts) tells nothing.
        compared = sum(r is not None for r in got)
        differ = [
            (inp, want, r)
            for (inp, want), r in zip(checked, got, strict=True)
            if r is not None and not ("ok" in r and passes(r["ok"], want))
        ]
        unrun = f" ({len(got) - compared} not run after repeated timeouts)" if compared < len(got) else ""
        rule = None
        if differ and all(r.get("timeout") for _, _, r in differ):
            # Only the clock tells them apart (a loaded machine, a mutant a little slower): a rule's
            # proof outweighs it; without one the timeouts stand as a difference.
            rule = equivalence_rule(*(source or (reference, entry)), name)
            if rule:
                notes[name] = SurvivorNote(
                    "equivalent",
                    f"rule {rule}; same answers on {compared - len(differ)} inputs, "
                    f"{len(differ)} more timed out{unrun}",
                    rule,
                )
                continue
        if differ:
            outside = [(i, r, contract.violation(i) or _no_answer(want, sentinels)) for i, want, r in differ]
            inside = [(i, r) for i, r, why in outside if why is None]
            if inside:
                if found is not None:
                    found[name] = [i for i, _ in inside]
                inp, r = inside[0]
                notes[name] = SurvivorNote("missed", f"{_tells(inp, r)} (within the contract)")
            else:
                inp, r, why = outside[0]
                notes[name] = SurvivorNote(
                    "outside_contract", f"{_tells(inp, r)}; the contract refuses it ({why})"
                )
            continue
        rule = equivalence_rule(*(source or (reference, entry)), name)
        if rule is None and edge_proof:
            rule = "boundary_point"  # every input it could differ on, run: the same answers
        if rule:
            notes[name] = SurvivorNote(
                "equivalent", f"rule {rule}; same answers on {compared} inputs{unrun}", rule
            )
        else:
            notes[name] = SurvivorNote(
                "undistinguished",
                f"same answers on {compared} inputs{unrun}; no rule proves it equivalent",
            )
    return notes


def _no_answer(want: Any, sentinels: Constants) -> str | None:
    if sentinels.is_sentinel(want):
        return f"sentinel: the reference answers {want!r}, its value for no answer"
    return None


def _tells(inp: Input, r: dict[str, Any]) -> str:
    how = "times out on" if r.get("timeout") else "raises on" if "raised" in r else "answers otherwise on"
    return f"{input_key(inp)[:120]} tells it apart (the mutant {how} it)"
