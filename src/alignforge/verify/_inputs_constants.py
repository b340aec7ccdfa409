"""The reference's own constants, for mutation steps (:class:`Constants`, :func:`harvest_constants`), and
the inputs that set arguments on them: two at once (:func:`_constant_pairs`) or on a sum the reference
compares with an int (:func:`_solved`). :mod:`._inputs_mutation` draws on them and re-exports the public names.
"""

from __future__ import annotations

import ast
import itertools
import math
import random
import sys
from dataclasses import dataclass
from typing import Any

from alignforge.verify._ast_facts import parents

__all__ = ["Constants", "NO_CONSTANTS", "harvest_constants"]


# --- the reference's own constants ------------------------------------------------------------


@dataclass(frozen=True)
class Constants:
    """Values the reference's source spells out, for mutation steps (search-based test generators such as
    EvoSuite and Pynguin seed their inputs with the program's constants the same way): a branch on
    ``month == 'March' and days > 19`` is reached by ``'March'`` and 20, which no step from the tests'
    own inputs (``'January'``, 4) makes."""

    ints: tuple[int, ...] = ()  # each int literal c, with c - 1 and c + 1 (the two sides of a bound)
    floats: tuple[float, ...] = ()
    strs: tuple[str, ...] = ()
    # The ints (with c - 1 and c + 1) of a lookup table (``val = [1000, 900, ...]``) or compared with
    # something (``n > 1000``), up to 10**6: values the reference handles as inputs, which the contract
    # lets past its magnitude rule. Not a start value stored in a name (``maxi = -100000``: a stand-in for
    # minus infinity, even where ``maxi == -100000`` is tested later) nor a modulus.
    scale: tuple[int, ...] = ()
    # "No answer" values: 2**31 or more in magnitude (``10 ** 20``, ``-sys.maxsize - 1``,
    # ``float('inf')``), stored whole in a name or returned. A reference that returns one has no answer
    # for the input (``find_Min_Diff`` of one element): the task's text leaves it open, so no test may
    # require it.
    sentinels: tuple[int | float, ...] = ()
    # Sums of int arguments the reference compares with an int (``a + b + c == 180``), as
    # ((argument index, sign), ...) and the int: :func:`_solved` makes inputs on the bound.
    sums: tuple[tuple[tuple[tuple[int, int], ...], int], ...] = ()

    def is_sentinel(self, value: Any) -> bool:
        return any(type(value) is type(s) and value == s for s in self.sentinels)  # a bool is none


NO_CONSTANTS = Constants()
_MAX_CONSTANTS = 24  # per type, the first in source order
_MAX_CONSTANT_STR = 24
_SENTINEL = 2**31
_MAX_SCALE = 10**6  # a constant of scale at most this large (a modulus such as 10**9 + 7 is none)
_CONSTANT_STEPS = 8  # a step draws at most this many of a type's constants, so they do not crowd out the rest


def harvest_constants(code: str) -> Constants:
    """The int, float and string literals of ``code`` (docstrings, bools and ``None`` aside; a negative
    number's sign included), in source order, at most :data:`_MAX_CONSTANTS` of each type."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return NO_CONSTANTS
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docstrings),
        key=lambda n: (n.lineno, n.col_offset),
    )
    up = parents(tree)
    ints: dict[int, None] = {}
    scale: dict[int, None] = {}
    floats: dict[float, None] = {}
    strs: dict[str, None] = {}
    for node in found:
        v: Any = node.value
        above = up.get(id(node))
        negated = isinstance(above, ast.UnaryOp) and isinstance(above.op, ast.USub)
        sign = -1 if negated else 1
        if type(v) is int and len(ints) < 3 * _MAX_CONSTANTS:
            ints.update(dict.fromkeys((sign * v - 1, sign * v, sign * v + 1)))
            if abs(v) <= _MAX_SCALE and _of_scale(up.get(id(above)) if negated else above):
                scale.update(dict.fromkeys((sign * v - 1, sign * v, sign * v + 1)))
        elif type(v) is float and math.isfinite(v) and len(floats) < _MAX_CONSTANTS:
            floats[sign * v] = None
        elif type(v) is str and 0 < len(v) <= _MAX_CONSTANT_STR and len(strs) < _MAX_CONSTANTS:
            strs[v] = None
    starts = {  # stored whole in a name (``maxi = -100000``): a start value, even where also compared
        c
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign | ast.AnnAssign)
        and n.value is not None
        and type(c := _constant_value(n.value, {})) is int
    }
    scale = {k: None for k in scale if not starts & {k - 1, k, k + 1}}
    names = _imported_names(tree)
    stored = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign | ast.AnnAssign | ast.Return) and n.value is not None
    ]
    stored += [e for v in stored if isinstance(v, ast.Tuple) for e in v.elts]  # best = (inf, None)
    sentinels = {
        v
        for n in stored
        if (v := _constant_value(n, names)) is not None and (abs(v) >= _SENTINEL or math.isinf(v))
    }
    return Constants(
        tuple(ints), tuple(floats), tuple(strs), tuple(scale), tuple(sorted(sentinels)), _compared_sums(tree)
    )


def _compared_sums(tree: ast.Module) -> tuple[tuple[tuple[tuple[int, int], ...], int], ...]:
    """The sums of two or more distinct positional parameters of a function (``a + b - c``) that one of
    its comparisons sets against an int constant (``a + b + c == 180``): a branch only an input exactly
    on that bound reaches, which no random step makes."""
    found: dict[tuple[tuple[tuple[int, int], ...], int], None] = {}
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if func not in tree.body:
            continue  # a method's or a nested function's parameters are not the entry's arguments
        params = {a.arg: k for k, a in enumerate([*func.args.posonlyargs, *func.args.args])}
        for n in ast.walk(func):
            if not (isinstance(n, ast.Compare) and len(n.ops) == 1):
                continue
            for side, other in ((n.left, n.comparators[0]), (n.comparators[0], n.left)):
                terms = _param_sum(side, params)
                bound = _constant_value(other, {})
                if (
                    terms
                    and len(terms) >= 2
                    and len({k for k, _ in terms}) == len(terms)
                    and type(bound) is int
                    and abs(bound) <= _SENTINEL**2
                ):
                    found[(tuple(terms), bound)] = None
    return tuple(found)[:_MAX_CONSTANTS]


def _param_sum(
    e: ast.AST, params: dict[str, int], sign: int = 1, depth: int = 0
) -> list[tuple[int, int]] | None:
    if depth > _MAX_TERMS:
        return None
    if isinstance(e, ast.Name) and e.id in params:
        return [(params[e.id], sign)]
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add | ast.Sub):
        left = _param_sum(e.left, params, sign, depth + 1)
        right = _param_sum(e.right, params, -sign if isinstance(e.op, ast.Sub) else sign, depth + 1)
        return None if left is None or right is None else left + right
    return None


def _of_scale(parent: ast.AST | None) -> bool:
    """A constant whose ``parent`` is a comparison, or a list or set of three or more distinct int
    constants (a lookup table: ``[1000, 900, 500, ...]``; a tuple such as ``(-100000, 0, 0)`` holds start
    values)."""
    if isinstance(parent, ast.Compare):
        return True
    if not isinstance(parent, ast.List | ast.Set) or len(parent.elts) < 3:
        return False
    values = [_constant_value(e, {}) for e in parent.elts]
    return all(type(v) is int for v in values) and len(set(values)) == len(values)


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """``name -> module.attr`` for ``from sys import maxsize`` / ``from math import inf as INF``."""
    return {
        a.asname or a.name: f"{n.module}.{a.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module in ("sys", "math")
        for a in n.names
    }


_INFINITE = {"inf": math.inf, "infinity": math.inf}
_KNOWN = {"sys.maxsize": sys.maxsize, "math.inf": math.inf}


def _constant_value(node: ast.AST, names: dict[str, str], depth: int = 0) -> int | float | None:
    """The number a constant expression of the reference evaluates to: numbers, signs, ``+ - * // **``
    (small exponents), ``sys.maxsize``, ``math.inf`` (also imported by name: ``from sys import maxsize``)
    and ``float('inf')``; None otherwise."""
    if depth > 20:
        return None
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, int | float) and type(node.value) is not bool else None
    if isinstance(node, ast.Name):
        return _KNOWN.get(names.get(node.id, ""))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return _KNOWN.get(f"{node.value.id}.{node.attr}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
        arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            text = arg.value.strip().lower()
            sign = -1 if text.startswith("-") else 1
            found = _INFINITE.get(text.lstrip("+-"))
            return None if found is None else sign * found
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _constant_value(node.operand, names, depth + 1)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp):
        a = _constant_value(node.left, names, depth + 1)
        b = _constant_value(node.right, names, depth + 1)
        if a is None or b is None:
            return None
        try:
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.FloorDiv):
                return a // b
            if isinstance(node.op, ast.Pow) and type(b) is int and 0 <= b <= 128 and abs(a) <= 2**64:
                return a**b
        except (ArithmeticError, ValueError):
            return None
    return None


def _some(values: tuple[Any, ...], rng: random.Random) -> list[Any]:
    return list(values) if len(values) <= _CONSTANT_STEPS else rng.sample(values, _CONSTANT_STEPS)


_PAIRS = 48  # per seed, at most this many inputs with two arguments set to constants
_MAX_TERMS = 16  # a sum of arguments the reference compares is followed this deep, no deeper


def _constant_pairs(args: tuple[Any, ...], consts: Constants, rng: random.Random) -> list[tuple[Any, ...]]:
    """``args`` with two of them set to constants of their types at once: a branch on two comparisons
    (``month == 'March' and days > 19``) needs both, and two random steps seldom make both."""
    pools = {int: consts.ints, float: consts.floats, str: consts.strs}
    slots = [(i, pools[type(a)]) for i, a in enumerate(args) if type(a) in pools and pools[type(a)]]
    pairs = list(itertools.combinations(slots, 2))
    total = sum(len(xs) * len(ys) for (_, xs), (_, ys) in pairs)
    # the k-th combination in order, without listing them all (tens of thousands for four int arguments)
    picks = range(total) if total <= _PAIRS else rng.sample(range(total), _PAIRS)
    out = []
    for k in picks:
        for (i, xs), (j, ys) in pairs:
            if k < len(xs) * len(ys):
                new = list(args)
                new[i], new[j] = xs[k // len(ys)], ys[k % len(ys)]
                out.append(tuple(new))
                break
            k -= len(xs) * len(ys)
    return out


def _solved(args: tuple[Any, ...], consts: Constants, rng: random.Random) -> list[tuple[Any, ...]]:
    """``args`` put on each bound of :attr:`Constants.sums`: one term solved for (``c = 180 - a - b``), as
    they are and with another term first set to one of the reference's ints (``a = 1``: a branch on
    ``a != 0 and a + b + c == 180`` needs both)."""
    out: list[tuple[Any, ...]] = []
    for terms, bound in consts.sums:
        if any(k >= len(args) or type(args[k]) is not int for k, _ in terms):
            continue
        for k, sign in terms:
            others = [q for q, _ in terms if q != k]
            starts = (
                [args]
                + [  # at most _PAIRS starts a term: n terms give n * _PAIRS, not n**3
                    args[:q] + (c,) + args[q + 1 :]
                    for q, c in rng.sample(
                        [(q, c) for q in others for c in _some(consts.ints, rng)],
                        min(_PAIRS, len(others) * min(len(consts.ints), _CONSTANT_STEPS)),
                    )
                ]
            )
            for start in starts:
                rest = sum(sg * start[q] for q, sg in terms if q != k)
                out.append(start[:k] + (sign * (bound - rest),) + start[k + 1 :])
    return out if len(out) <= _PAIRS else rng.sample(out, _PAIRS)
