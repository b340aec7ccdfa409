"""Call inputs for test strengthening: the literal ones in a task's tests, and type-aware mutants of them.

An input is ``(args, kwargs)``: a tuple of positional arguments and a dict of keyword arguments,
all Python literals (so a test can state them as source). Mutation changes one or two arguments of
an observed input by a step that keeps each value's type (a bool stays a bool, a tuple keeps its
length); whether the result still meets the task's input contract is :mod:`._contract`'s business.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import math
import random
import re
import string
from collections.abc import Mapping
from typing import Any

__all__ = ["Input", "extract_inputs", "extract_doc_inputs", "mutate_inputs", "input_key", "is_literal"]

Input = tuple[tuple[Any, ...], dict[str, Any]]
_MAX_REPR = 1000  # longer inputs make unreadable tests (and slow ones): not generated


def input_key(inp: Input) -> str:
    """A canonical text for an input (its source form): equal inputs have equal keys."""
    args, kwargs = inp
    return repr((args, sorted(kwargs.items())))


def is_literal(value: Any) -> bool:
    """True when ``repr(value)`` is Python source that rebuilds an equal value of the same types
    (finite floats only; builtin containers of such values)."""
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


def extract_inputs(task: Mapping[str, Any], entry: str) -> list[Input]:
    """The distinct literal inputs the task's tests call the function under test with, in source order.

    HumanEval: calls of ``candidate`` (``check``'s parameter) or the entry point anywhere in the tests;
    MBPP: calls of the entry point in the assert lines; pytest: calls of the entry point (by its name, an
    alias it is imported as, or ``solution.f``) anywhere in the test module. Calls with a non-literal
    argument are skipped.
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
                args = tuple(ast.literal_eval(a) for a in node.args)
                kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if is_literal(args) and is_literal(kwargs):
                found.append((n, node.lineno, node.col_offset, (args, kwargs)))
    out: dict[str, Input] = {}
    for *_, inp in sorted(found, key=lambda f: f[:3]):
        out.setdefault(input_key(inp), inp)
    return list(out.values())


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


def _str_steps(v: str, rng: random.Random, alphabet: str) -> list[str]:
    chars = alphabet or v or string.ascii_lowercase
    out = ["", v.swapcase(), v.upper(), v.lower(), v.title(), v[::-1], v + v, rng.choice(chars) + v]
    out += [v + c for c in rng.sample(chars, min(12, len(chars)))]  # appended characters, a dozen at most
    if v:
        i = rng.randrange(len(v))
        out += [v[:i] + v[i + 1 :], v[:i] + rng.choice(chars) + v[i + 1 :], v[:i] + rng.choice(chars) + v[i:]]
        out += [v[:1], v[-1:], v[: len(v) // 2], "".join(rng.sample(v, len(v)))]
        out += [v[:i] + v[i].swapcase() + v[i + 1 :], v[i] * len(v), v[:i] + v[i] + v[i:], v * 4]
        out += ["".join(sorted(v)), " " + v, v + " "]
    return out


def _list_steps(v: list[Any], rng: random.Random, alphabet: str) -> list[list[Any]]:
    out: list[list[Any]] = [[], v[::-1], v + v]
    if v:
        i = rng.randrange(len(v))
        out += [[v[i]], v[:i] + v[i + 1 :], v[:i] + [v[i]] + v[i:], v[1:] + v[:1], rng.sample(v, len(v))]
        out += [[v[i]] * len(v), [v[0], v[0]], v[:-1], v * 4]  # repeated elements, a larger size
        out.append(v[:i] + [rng.choice(_steps(v[i], rng, alphabet) or [v[i]])] + v[i + 1 :])
        out.append(v + [rng.choice(_steps(v[-1], rng, alphabet) or [v[-1]])])
        out.append([rng.choice(_steps(v[0], rng, alphabet) or [v[0]])] + v)
        if all(type(x) in (int, float) for x in v):  # sign flips: all, one
            out += [[-x for x in v], v[:i] + [-v[i]] + v[i + 1 :]]
        with contextlib.suppress(TypeError):
            out += [sorted(v), sorted(v, reverse=True)]
    return out


def _tuple_steps(v: tuple[Any, ...], rng: random.Random, alphabet: str) -> list[tuple[Any, ...]]:
    if not v:
        return []
    i = rng.randrange(len(v))
    return [v[:i] + (s,) + v[i + 1 :] for s in _steps(v[i], rng, alphabet)] + [v[::-1]]


def _dict_steps(v: dict[Any, Any], rng: random.Random, alphabet: str) -> list[dict[Any, Any]]:
    out: list[dict[Any, Any]] = [{}]
    if v:
        keys = list(v)
        k = rng.choice(keys)
        out.append({kk: vv for kk, vv in v.items() if kk != k})
        out += [{**v, k: s} for s in _steps(v[k], rng, alphabet)[:4]]
        new_keys = [s for s in _steps(k, rng, alphabet) if s not in v]
        if new_keys:
            out.append({**v, rng.choice(new_keys): copy.deepcopy(v[k])})
    return out


def _steps(v: Any, rng: random.Random, alphabet: str = "") -> list[Any]:
    """Every one-step, type-keeping mutation of ``v`` (some steps pick their position at random)."""
    t = type(v)
    if t is bool:
        return [not v]
    if t is int:
        return _int_steps(v, rng)
    if t is float:
        return _float_steps(v, rng)
    if t is str:
        return _str_steps(v, rng, alphabet)
    if t is list:
        return _list_steps(v, rng, alphabet)
    if t is tuple:
        return _tuple_steps(v, rng, alphabet)
    if t is dict:
        return _dict_steps(v, rng, alphabet)
    if t is set:
        return [set(x) for x in _list_steps(sorted(v, key=repr), rng, alphabet)]
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
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k, acc)
                walk(x, acc)

    for args, _ in seeds:
        for i, a in enumerate(args):
            walk(a, out.setdefault(i, set()))
    return {i: "".join(sorted(s)) for i, s in out.items()}


def mutate_inputs(seeds: list[Input], rng: random.Random, *, limit: int) -> list[Input]:
    """Distinct new inputs (none equal to a seed), shuffled by ``rng``: every one-step mutation of each
    argument of each seed, then ``3 * limit`` tries at random chains of two or three steps (some
    starting from a seed with one argument taken from another seed of the same arity)."""
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
            for s in _steps(a, rng, alphabets.get(i, "")):
                add(args[:i] + (s,) + args[i + 1 :], kwargs)
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
            steps = _steps(args[i], rng, alphabets.get(i, ""))
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
