"""Call inputs for test strengthening: the literal ones in a task's tests, and type-aware mutants of them.

An input is ``(args, kwargs)``: a tuple of positional arguments and a dict of keyword arguments,
all Python literals (so a test can state them as source), or objects of a class the task's program
defines, built from literals as its tests build them (:class:`Built`: ``Pair(5, 24)``). Mutation changes one or two arguments of
an observed input by a step that keeps each value's type (a bool stays a bool); the reference's own
constants are among the steps. Whether the result still meets the task's input contract is
:mod:`._contract`'s business.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import itertools
import math
import random
import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alignforge.verify._ast_facts import parents

__all__ = [
    "Built",
    "Constants",
    "Input",
    "NO_CONSTANTS",
    "extract_inputs",
    "extract_doc_inputs",
    "harvest_constants",
    "mutate_inputs",
    "input_key",
    "is_literal",
    "defined_classes",
]

Input = tuple[tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True, eq=True)
class Built:
    """An object of a class the task's program defines, built from literal arguments as the tests
    build it (``Pair(5, 24)``; MBPP 601's chains of pairs). ``repr`` is that call, so a new test states
    it as source; the oracle has the program build it in the sandbox, afresh for every call
    (:mod:`._oracle`). Mutation changes its arguments and keeps their number."""

    cls: str
    args: tuple[Any, ...]

    def __repr__(self) -> str:
        return f"{self.cls}({', '.join(repr(a) for a in self.args)})"


def defined_classes(code: str) -> frozenset[str]:
    """The classes a program defines at its top level: the ones an input may be :class:`Built` of."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return frozenset()
    return frozenset(n.name for n in tree.body if isinstance(n, ast.ClassDef))


_MAX_REPR = 1000  # longer inputs make unreadable tests (and slow ones): not generated


def input_key(inp: Input) -> str:
    """A canonical text for an input (its source form): equal inputs have equal keys. Where ``repr``
    cannot write it (an int past Python's 4300-digit limit for decimal text, from a hex literal in a
    test or a step from one; nesting past the stack), the key is ``~`` and its text with such ints in
    hex (:func:`_text`): too long for any generated input (:data:`_MAX_REPR`), and never raising."""
    args, kwargs = inp
    try:
        return repr((args, sorted(kwargs.items())))
    except (ValueError, RecursionError):
        try:
            return "~" + _text((args, sorted(kwargs.items())))
        except RecursionError:
            return f"~deep {id(inp)}"  # (not literal source either way: never kept)


def _text(v: Any) -> str:
    """``repr(v)`` with each int past the decimal digit limit written as ``0x..`` (the same int in
    Python source); containers written element by element (a set's elements in order of their text)."""
    if isinstance(v, list | tuple) and type(v) in (list, tuple):
        inner = ", ".join(_text(x) for x in v)
        return f"[{inner}]" if type(v) is list else f"({inner}{',' if len(v) == 1 else ''})"
    if type(v) is dict:
        return "{" + ", ".join(f"{_text(k)}: {_text(x)}" for k, x in v.items()) + "}"
    if type(v) in (set, frozenset):
        return f"{type(v).__name__}([{', '.join(sorted(_text(x) for x in v))}])"
    try:
        return repr(v)
    except ValueError:
        return hex(v) if type(v) is int else f"<{type(v).__name__} past the digit limit>"


def is_literal(value: Any) -> bool:
    """True when ``repr(value)`` is Python source that rebuilds an equal value of the same types
    (finite floats only; builtin containers of such values; a :class:`Built` of such values, where
    the program defines its class)."""
    t = type(value)
    if value is None or t in (bool, int, str, bytes):
        return True
    if t is float:
        return math.isfinite(value)
    if t is complex:
        return math.isfinite(value.real) and math.isfinite(value.imag)
    if t in (list, tuple, set):
        return all(is_literal(v) for v in value)
    if t is dict:
        return all(is_literal(k) and is_literal(v) for k, v in value.items())
    if t is Built:
        return all(is_literal(v) for v in value.args)
    return False


def _call_names(task: Mapping[str, Any], entry: str) -> set[str]:
    names = {entry}
    if task.get("style") == "humaneval":
        tree = ast.parse(task["tests"])
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "check" and node.args.args:
                names.add(node.args.args[0].arg)
    elif task.get("style") == "pytest":  # from solution import f as g: g is the function under test too
        module = str(task.get("module") or "solution")
        for node in ast.walk(ast.parse(task["tests"])):
            if isinstance(node, ast.ImportFrom) and node.module == module:
                names.update(a.asname for a in node.names if a.name == entry and a.asname)
    return names


def _calls_entry(node: ast.Call, names: set[str], module: str) -> bool:
    """``f(...)`` for a name of the function under test, or ``solution.f(...)`` (pytest style)."""
    fn = node.func
    if isinstance(fn, ast.Name):
        return fn.id in names
    return (
        isinstance(fn, ast.Attribute)
        and isinstance(fn.value, ast.Name)
        and fn.value.id == module
        and fn.attr in names
    )


def extract_inputs(task: Mapping[str, Any], entry: str, classes: frozenset[str] = frozenset()) -> list[Input]:
    """The distinct literal inputs the task's tests call the function under test with, in source order.

    HumanEval: calls of ``candidate`` (``check``'s parameter) or the entry point anywhere in the tests;
    MBPP: calls of the entry point in the assert lines; pytest: calls of the entry point (by its name, an
    alias it is imported as, or ``solution.f``) anywhere in the test module. Calls with a non-literal
    argument are skipped, but for positional arguments that call one of ``classes`` (the program's own,
    :func:`defined_classes`) with literal arguments, alone or in lists and tuples: :class:`Built` values.
    """
    if task.get("style") == "stdio":  # one argument per input line (see _stdio_inputs)
        from alignforge.verify._stdio_inputs import parse_stdio_inputs

        return parse_stdio_inputs(task) or []
    tests = task.get("tests")
    sources = [tests] if isinstance(tests, str) else [t for t in tests or [] if isinstance(t, str)]
    names = _call_names(task, entry)
    module = str(task.get("module") or "solution") if task.get("style") == "pytest" else ""
    found: list[tuple[int, int, int, Input]] = []
    for n, src in enumerate(sources):
        for node in ast.walk(ast.parse(src)):
            if not (isinstance(node, ast.Call) and _calls_entry(node, names, module)):
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                continue
            try:
                args = tuple(_value(a, classes) for a in node.args)
                kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if is_literal(args) and is_literal(kwargs):
                found.append((n, node.lineno, node.col_offset, (args, kwargs)))
    out: dict[str, Input] = {}
    for *_, inp in sorted(found, key=lambda f: f[:3]):
        out.setdefault(input_key(inp), inp)
    return list(out.values())


def _value(node: ast.AST, classes: frozenset[str]) -> Any:
    """``ast.literal_eval`` of ``node``, with each call of one of ``classes`` by literal positional
    arguments (in lists and tuples too) a :class:`Built`."""
    if classes and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes:
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ValueError("a keyword or starred argument")
        return Built(node.func.id, tuple(_value(a, classes) for a in node.args))
    if (
        classes
        and isinstance(node, ast.List | ast.Tuple)
        and any(isinstance(e, ast.Call) for e in ast.walk(node))
    ):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            raise ValueError("a starred element")
        items = [_value(e, classes) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    return ast.literal_eval(node)


def extract_doc_inputs(doc: str, entry: str) -> list[Input]:
    """The distinct literal inputs of the calls of ``entry`` in a task's text (``>>> f(1, [2])``,
    ``f("ab") returns 'cd'``, ``f(3) ➞ 4``): examples of inputs the task promises to handle."""
    out: dict[str, Input] = {}
    for m in re.finditer(rf"(?<![\w.]){re.escape(entry)}\(", doc or ""):
        for close in (i for i, c in enumerate(doc[m.end() :], m.end()) if c == ")"):
            try:
                node = ast.parse(doc[m.start() : close + 1], mode="eval").body
            except (SyntaxError, ValueError, RecursionError):
                if close - m.start() > _MAX_REPR:
                    break
                continue
            if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
                try:
                    inp = (
                        tuple(ast.literal_eval(a) for a in node.args),
                        {str(k.arg): ast.literal_eval(k.value) for k in node.keywords if k.arg},
                    )
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    break
                if is_literal(inp[0]) and is_literal(inp[1]):
                    out.setdefault(input_key(inp), inp)
            break
    return list(out.values())


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


# --- one mutation step per type ----------------------------------------------------------------


def _some(values: tuple[Any, ...], rng: random.Random) -> list[Any]:
    return list(values) if len(values) <= _CONSTANT_STEPS else rng.sample(values, _CONSTANT_STEPS)


def _int_steps(v: int, rng: random.Random) -> list[int]:
    """Neighbours, the boundaries 0 / 1 / -1 / 2, the sign flip, and larger and smaller magnitudes."""
    return [
        v + 1,
        v - 1,
        0,
        1,
        -1,
        2,
        -v,
        -v - 1,
        2 * v,
        v // 2,
        v + rng.randint(-10, 10),
        v * 10,
        v * 100 + 1,
    ]


def _float_steps(v: float, rng: random.Random) -> list[float]:
    out = [
        v + 1.0,
        v - 1.0,
        0.0,
        -v,
        2 * v,
        v / 2,
        v + 0.5,
        -1.0,
        1.0,
        0.5,
        -v - 0.5,
        v * 10,
        float(round(v)),
        round(v * rng.uniform(0.5, 1.5), 3),
    ]
    return [x for x in out if math.isfinite(x)]


def _str_steps(v: str, rng: random.Random, alphabet: str, consts: Constants) -> list[str]:
    chars = alphabet or v or string.ascii_lowercase
    out = ["", v.swapcase(), v.upper(), v.lower(), v.title(), v[::-1], v + v, rng.choice(chars) + v]
    out += [x for c in _some(consts.strs, rng) for x in (c, v + c)]  # the reference's, alone and appended
    out += [v + c for c in rng.sample(chars, min(12, len(chars)))]  # appended characters, a dozen at most
    if v:
        i = rng.randrange(len(v))
        out += [v[:i] + v[i + 1 :], v[:i] + rng.choice(chars) + v[i + 1 :], v[:i] + rng.choice(chars) + v[i:]]
        out += [v[:1], v[-1:], v[: len(v) // 2], "".join(rng.sample(v, len(v)))]
        out += [v[:i] + v[i].swapcase() + v[i + 1 :], v[i] * len(v), v[:i] + v[i] + v[i:], v * 4]
        out += ["".join(sorted(v)), " " + v, v + " "]
        # cut to a length the reference compares with (`len(p) < 6`), its head and tail kept: the
        # characters a rule on kinds looks for often sit at the ends ('Password@10' -> 'Pas@10')
        out += [v[: (k + 1) // 2] + v[len(v) - k // 2 :] for k in sorted(set(consts.ints)) if 0 < k < len(v)][
            :8
        ]
    return out


def _list_steps(v: list[Any], rng: random.Random, alphabet: str, consts: Constants) -> list[list[Any]]:
    out: list[list[Any]] = [[], v[::-1], v + v]
    if v:
        i = rng.randrange(len(v))
        out += [[v[i]], v[:i] + v[i + 1 :], v[:i] + [v[i]] + v[i:], v[1:] + v[:1], rng.sample(v, len(v))]
        out += [[v[i]] * len(v), [v[0], v[0]], v[:-1], v * 4]  # repeated elements, a larger size
        out.append(v[:i] + [rng.choice(_steps(v[i], rng, alphabet, consts) or [v[i]])] + v[i + 1 :])
        out.append(v + [rng.choice(_steps(v[-1], rng, alphabet, consts) or [v[-1]])])
        out.append([rng.choice(_steps(v[0], rng, alphabet, consts) or [v[0]])] + v)
        if all(type(x) in (int, float) for x in v):  # sign flips: all, one
            out += [[-x for x in v], v[:i] + [-v[i]] + v[i + 1 :]]
        with contextlib.suppress(TypeError):
            out += [sorted(v), sorted(v, reverse=True)]
    return out


def _tuple_steps(
    v: tuple[Any, ...], rng: random.Random, alphabet: str, consts: Constants
) -> list[tuple[Any, ...]]:
    """One element changed, the order reversed, and (for a tuple used as a sequence: the contract refuses
    these where every observed tuple has one length) the first element alone or the last one dropped."""
    if not v:
        return []
    i = rng.randrange(len(v))
    out = [v[:i] + (s,) + v[i + 1 :] for s in _steps(v[i], rng, alphabet, consts)] + [v[::-1]]
    return out + [v[:1], v[:-1]] if len(v) > 1 else out


def _dict_steps(
    v: dict[Any, Any], rng: random.Random, alphabet: str, consts: Constants
) -> list[dict[Any, Any]]:
    out: list[dict[Any, Any]] = [{}]
    if v:
        keys = list(v)
        k = rng.choice(keys)
        out.append({kk: vv for kk, vv in v.items() if kk != k})
        out += [{**v, k: s} for s in _steps(v[k], rng, alphabet, consts)[:4]]
        new_keys = [s for s in _steps(k, rng, alphabet, consts) if s not in v]
        if new_keys:
            out.append({**v, rng.choice(new_keys): copy.deepcopy(v[k])})
    return out


def _steps(v: Any, rng: random.Random, alphabet: str = "", consts: Constants = NO_CONSTANTS) -> list[Any]:
    """Every one-step, type-keeping mutation of ``v`` (some steps pick their position at random), the
    reference's constants of ``v``'s type included."""
    t = type(v)
    if t is bool:
        return [not v]
    if t is int:
        return _int_steps(v, rng) + _some(consts.ints, rng)
    if t is float:
        return _float_steps(v, rng) + _some(consts.floats, rng)
    if t is str:
        return _str_steps(v, rng, alphabet, consts)
    if t is list:
        return _list_steps(v, rng, alphabet, consts)
    if t is tuple:
        return _tuple_steps(v, rng, alphabet, consts)
    if t is dict:
        return _dict_steps(v, rng, alphabet, consts)
    if t is set:
        return [set(x) for x in _list_steps(sorted(v, key=repr), rng, alphabet, consts)]
    if t is Built:  # its arguments changed, their number kept (the class's constructor takes so many)
        return [Built(v.cls, a) for a in _tuple_steps(v.args, rng, alphabet, consts) if len(a) == len(v.args)]
    return []


def _alphabets(seeds: list[Input]) -> dict[int, str]:
    """Per argument position, the characters its observed strings use (for inserted characters)."""
    out: dict[int, set[str]] = {}

    def walk(v: Any, acc: set[str]) -> None:
        if isinstance(v, str):
            acc.update(v)
        elif isinstance(v, list | tuple | set):
            for x in v:
                walk(x, acc)
        elif isinstance(v, Built):
            for x in v.args:
                walk(x, acc)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k, acc)
                walk(x, acc)

    for args, _ in seeds:
        for i, a in enumerate(args):
            walk(a, out.setdefault(i, set()))
    return {i: "".join(sorted(s)) for i, s in out.items()}


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


def mutate_inputs(
    seeds: list[Input], rng: random.Random, *, limit: int, constants: Constants = NO_CONSTANTS
) -> list[Input]:
    """Distinct new inputs (none equal to a seed), shuffled by ``rng``: every one-step mutation of each
    argument of each seed, then ``3 * limit`` tries at random chains of two or three steps (some
    starting from a seed with one argument taken from another seed of the same arity). ``constants``
    (the reference's, :func:`harvest_constants`) join the steps of values of their type, one argument
    at a time and two at once, and put int arguments on the sums the reference compares with an int."""
    alphabets = _alphabets(seeds)
    seen = {input_key(s) for s in seeds}
    out: dict[str, Input] = {}

    def add(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        inp = (args, kwargs)
        key = input_key(inp)
        if key not in seen and key not in out and len(key) <= _MAX_REPR and is_literal(args):
            out[key] = copy.deepcopy(inp)

    for args, kwargs in seeds:
        for i, a in enumerate(args):
            for s in _steps(a, rng, alphabets.get(i, ""), constants):
                add(args[:i] + (s,) + args[i + 1 :], kwargs)
        for pair in _constant_pairs(args, constants, rng):
            add(pair, kwargs)
        for solved in _solved(args, constants, rng):
            add(solved, kwargs)
    chained: dict[str, Input] = {}
    for _ in range(limit * 3):
        args, kwargs = rng.choice(seeds)
        if not args:
            break
        if len(seeds) > 1 and rng.random() < 0.3:  # cross: one argument from another seed of the same arity
            other, _ = rng.choice(seeds)
            if len(other) == len(args):
                i = rng.randrange(len(args))
                args = args[:i] + (other[i],) + args[i + 1 :]
        for _ in range(rng.randint(2, 3)):
            i = rng.randrange(len(args))
            steps = _steps(args[i], rng, alphabets.get(i, ""), constants)
            if steps:
                args = args[:i] + (rng.choice(steps),) + args[i + 1 :]
        key = input_key((args, kwargs))
        if key not in seen and key not in out:
            chained.setdefault(key, (args, kwargs))
    for args, kwargs in chained.values():
        add(args, kwargs)
    items = list(out.values())
    rng.shuffle(items)
    return items
