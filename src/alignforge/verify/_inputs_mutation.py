"""Call inputs for test strengthening: the literal ones in a task's tests, and type-aware mutants of them.

An input is ``(args, kwargs)``: a tuple of positional arguments and a dict of keyword arguments,
all Python literals (so a test can state them as source), or objects of a class the task's program
defines, built from literals as its tests build them (:class:`Built`: ``Pair(5, 24)``). Mutation changes one or two arguments of
an observed input by a step that keeps each value's type (a bool stays a bool); the reference's own
constants are among the steps. Whether the result still meets the task's input contract is
:mod:`._contract`'s business.

The reference's constants and the inputs set on them live in :mod:`._inputs_constants`, the steps of
ints, floats and strings in :mod:`._inputs_scalar_steps`.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alignforge.verify._inputs_constants import NO_CONSTANTS, Constants, _constant_pairs, _solved, _some
from alignforge.verify._inputs_scalar_steps import _float_steps, _int_steps, _str_steps

__all__ = [
    "Built",
    "Input",
    "extract_inputs",
    "extract_doc_inputs",
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


# --- one mutation step per type ----------------------------------------------------------------


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
