"""What the equivalence rules know of ints in a program's text: signed constants, index steps, ranges.

An int constant with its sign (:func:`_signed_int`), an index a constant step back or forward of a
loop variable (:func:`_back_step`, :func:`_forward_step`), the size of ``range(E)``
(:func:`_range_size`), what a test says of a name's least value (:func:`_floors`), and whether a float
can arise from ints (:func:`_float_free`: the int-operand rules hold only where none can). On the
facts of :mod:`alignforge.verify._ast_facts`; nothing here is a rule.
"""

from __future__ import annotations

import ast

from alignforge.verify._ast_facts import _int_const, builtin_call, pure, rebound

__all__: list[str] = []


def _signed_int(node: ast.AST) -> int | None:
    """An int constant, ``-1`` (a unary minus on one) included."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_const(node.operand)
        return None if inner is None else -inner
    return _int_const(node)


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


def _forward_step(index: ast.AST, var: str) -> int | None:
    """d for ``var + d`` or ``d + var`` (d an int constant), 0 for ``var`` itself; None otherwise."""
    if isinstance(index, ast.Name) and index.id == var:
        return 0
    if isinstance(index, ast.BinOp) and isinstance(index.op, ast.Add):
        for a, b in ((index.left, index.right), (index.right, index.left)):
            if isinstance(a, ast.Name) and a.id == var:
                return _int_const(b)
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
