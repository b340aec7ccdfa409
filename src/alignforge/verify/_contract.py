"""A conservative input contract inferred from the inputs a task's own tests use.

A generated input that breaks a task's preconditions tests behaviour the task never promised (the
pitfall evalplus's issues report), so every mutated input is checked against what all observed
inputs share, and dropped with a named rule when it differs:

- ``type``: the same types at every position (element types of containers included; bool is no int);
- ``range``: non-negative (positive) numbers where every observed one is; at most about twice the
  largest observed magnitude, unless the int is one of the reference's constants of scale (or next to
  one: ``val = [1000, 900, ...]`` makes 1000 a number ``int_to_roman`` handles, though its tests stop at
  50; :attr:`Constants.scale`);
- ``empty`` / ``length``: non-empty where none observed is empty; at most twice the longest observed
  length; a tuple keeps its length where every observed one has the same (a record such as a pair),
  and is a sequence of any length where they differ;
- ``sorted``: sorted (ascending or descending) where every observed sequence of three or more is;
- ``alphabet``: strings keep to the observed characters when those are few (``'01'``), else to the
  observed character classes (lowercase, digits, ...);
- ``relation``: equal lengths, or an int at most (below) a length or another int, between arguments
  where every observed input (three or more) has it.

Four of these rules are only kept where the task's text asks for them (:func:`loosened`): what all
observed inputs share is often a coincidence of three examples (no negative number, no upper-case
letter), and the mutants that survive are the ones such inputs would tell apart. So negative numbers
are allowed unless the text says positive, non-negative, natural, n-th, count, index, digit, ...
(and 0 unless it says positive, natural, greater than 0 or at least 1);
the other letter case unless it says lower/upper case; empty values unless it says non-empty; unsorted
lists unless it says sorted or ascending. Inputs the reference raises on are dropped later (the oracle).
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alignforge.verify._inputs_mutation import Built, Input

__all__ = ["Contract", "infer_contract", "loosened"]

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, " ", string.punctuation)
_SMALL_ALPHABET = 4
# Words in a task's text that keep a rule the observed inputs suggest (see the module docstring).
# Competitive programming's constraint lines: "1 <= n <= 10^5", "1 ≤ a_i", "0 <= x" (a lower bound of
# 0 keeps negatives out, of 1 or more also 0); "-10^9 <= a_i" is no bound (its 9 follows a ^ and a -).
_LOWER_BOUND = r"(?<![\^\-\d.])(?:{low})\s*(?:<=|≤|<|&lt;=)\s*[a-z_]"
_KEEP = {
    "sign": re.compile(
        r"positive|non-?negative|natural|unsigned|whole number|n-?th|\bnth\b|\bcount|number of|index|"
        r"digit|factorial|prime|fibonacci|\bbits?\b|binary|octal|hexa|base|"
        r"greater than (?:or equal to )?(?:0|zero)|>=? ?0\b|≥ ?0|at least (?:0|1|one|zero)|"
        + _LOWER_BOUND.format(low="0|[1-9][0-9]*"),
        re.I,
    ),
    # where negatives stay out (n-th, count, digit, ...), 0 is still allowed unless the text says positive
    "zero": re.compile(
        r"positive|natural|greater than (?:0|zero)|> ?0\b|at least (?:1|one)\b|"
        + _LOWER_BOUND.format(low="[1-9][0-9]*")
        + r"|(?<![\^\-\d.])0\s*<\s*[a-z_]",
        re.I,
    ),
    "case": re.compile(r"lower[- ]?case|upper[- ]?case|capital|small letters|\blower\b|\bupper\b", re.I),
    "empty": re.compile(r"non-?empty|not empty|at least (?:one|two|1|2)|length (?:at least|of at)", re.I),
    "sorted": re.compile(r"sorted|ascending|descending|increasing|decreasing|\border", re.I),
}


def loosened(doc: str) -> frozenset[str]:
    """The rules (``sign``, ``zero``, ``case``, ``empty``, ``sorted``) a task's text does not ask for."""
    return frozenset(rule for rule, words in _KEEP.items() if not words.search(doc or ""))


@dataclass
class _Shape:
    """What the observed values at one path (argument, element, key, ...) have in common."""

    types: set[str] = field(default_factory=set)
    nums: list[float] = field(default_factory=list)
    lens: list[int] = field(default_factory=list)
    sortable: list[Any] = field(default_factory=list)
    chars: set[str] = field(default_factory=set)
    kids: dict[str, _Shape] = field(default_factory=dict)

    def kid(self, name: str) -> _Shape:
        return self.kids.setdefault(name, _Shape())


def _type_name(v: Any) -> str:
    """A value's type as the ``type`` rule compares it: an object the program builds by its class."""
    return f"{v.cls}()" if type(v) is Built else type(v).__name__


def _observe(shape: _Shape, v: Any) -> None:
    t = type(v)
    shape.types.add(_type_name(v))
    if t is Built:  # its arguments by position, as a tuple's elements
        for i, x in enumerate(v.args):
            _observe(shape.kid(f"({i})"), x)
    elif t in (int, float):
        shape.nums.append(v)
    elif t is str:
        shape.lens.append(len(v))
        shape.chars.update(v)
    elif t in (list, tuple, set, dict):
        shape.lens.append(len(v))
        if t is list:
            shape.sortable.append(v)
        if t is dict:
            for k, x in v.items():
                _observe(shape.kid("key"), k)
                _observe(shape.kid("value"), x)
        else:
            for i, x in enumerate(v):
                _observe(shape.kid(f"[{i}]" if t is tuple else "[]"), x)


def _direction(v: list[Any]) -> set[str]:
    try:
        pairs = list(itertools.pairwise(v))
        return {
            d
            for d, ok in (("asc", all(a <= b for a, b in pairs)), ("desc", all(a >= b for a, b in pairs)))
            if ok
        }
    except TypeError:
        return set()


def _class_of(c: str) -> int:
    return next((i for i, cls in enumerate(_CLASSES) if c in cls), len(_CLASSES))


def _check(
    shape: _Shape, v: Any, where: str, loose: frozenset[str], marks: frozenset[int] = frozenset()
) -> str | None:
    t = _type_name(v)
    if t not in shape.types and not (t == "int" and "float" in shape.types):
        return f"type: {where} is {t}, observed {'/'.join(sorted(shape.types))}"
    if isinstance(v, int | float) and not isinstance(v, bool) and shape.nums:
        lo, hi = min(shape.nums), max(shape.nums)
        top = max(abs(lo), abs(hi))
        marked = type(v) is int and v in marks  # the reference's own scale: no magnitude rule
        if "sign" in loose:
            if v < 0 and lo >= 0 and abs(v) > top + 2 and not marked:
                return f"range: {where} = {v!r}, a negative beyond the largest observed magnitude ({top!r})"
        elif (lo > 0 and v <= 0 and not (v == 0 and "zero" in loose)) or (lo >= 0 and v < 0):
            return f"range: {where} = {v!r}, every observed one is {'positive' if lo > 0 else 'non-negative'}"
        if abs(v) > 2 * top + 2 and not marked:
            return f"range: {where} = {v!r}, beyond twice the largest observed ({top!r})"
    if isinstance(v, str | list | tuple | set | dict) and shape.lens:
        if len(v) == 0 and min(shape.lens) > 0 and "empty" not in loose:
            return f"empty: {where} is empty, no observed one is"
        if len(v) > max(4 * max(shape.lens), 8):
            return (
                f"length: {where} has {len(v)} items, over 4 times the longest observed ({max(shape.lens)})"
            )
        if isinstance(v, tuple) and len(set(shape.lens)) == 1 and len(v) not in shape.lens:
            return f"length: {where} is a tuple of {len(v)}, observed lengths {sorted(set(shape.lens))}"
    if isinstance(v, str) and shape.chars:
        seen = set(shape.chars)
        if "case" in loose and len(seen) > _SMALL_ALPHABET:  # the other case of the observed letters
            seen |= {c.swapcase() for c in shape.chars}
        alien = set(v) - seen
        if len(shape.chars) > _SMALL_ALPHABET:
            classes = {_class_of(c) for c in seen}
            alien = {c for c in alien if _class_of(c) not in classes}
        if alien:
            return f"alphabet: {where} uses {''.join(sorted(alien))!r}, not among the observed characters"
    if (
        isinstance(v, list)
        and "sorted" not in loose
        and shape.sortable
        and any(len(s) >= 3 for s in shape.sortable)
    ):
        common = set.intersection(*(_direction(s) for s in shape.sortable))
        if common and not (common & _direction(v)):
            return f"sorted: {where} is not sorted ({'/'.join(sorted(common))}) like every observed one"
    kids: list[tuple[str, Any]] = []
    if isinstance(v, dict):
        kids = [(n, x) for k, x in v.items() for n, x in (("key", k), ("value", x))]
    elif isinstance(v, list | set):
        kids = [("[]", x) for x in v]
    elif isinstance(v, tuple):
        kids = [(f"[{i}]", x) for i, x in enumerate(v)]
    elif isinstance(v, Built):
        kids = [(f"({i})", x) for i, x in enumerate(v.args)]
    for name, x in kids:
        sub = shape.kids.get(name)
        if sub is None:
            return f"type: {where}{name} was never observed"
        why = _check(sub, x, f"{where}{name}", loose, marks)
        if why:
            return why
    return None


def _features(args: tuple[Any, ...]) -> dict[str, int]:
    """The numbers relations are inferred between: int arguments, and lengths of sized ones."""
    out: dict[str, int] = {}
    for i, a in enumerate(args):
        if type(a) is int:
            out[f"arg{i}"] = a
        elif isinstance(a, str | list | tuple | dict | set):
            out[f"len(arg{i})"] = len(a)
    return out


_RELATIONS = {"==": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


@dataclass
class Contract:
    """The inferred contract; :meth:`violation` names the first rule an input breaks (None: it meets all)."""

    arities: set[tuple[int, tuple[str, ...]]]
    shapes: list[_Shape]
    kw_shapes: dict[str, _Shape]
    relations: list[tuple[str, str, str]]
    loose: frozenset[str] = frozenset()
    marks: frozenset[int] = frozenset()  # ints the magnitude rule lets through (:func:`infer_contract`)

    def repair(self, inp: Input) -> Input:
        """The input with each int argument that equals another argument or a length in every
        observed input (``n == len(arr)``) set to that value again, after a mutation changed one side."""
        args, kwargs = inp
        new = list(args)
        for a, op, b in self.relations:
            if op != "==" or not a.startswith("arg") or a.startswith("len"):
                continue
            i = int(a[3:])
            feats = _features(tuple(new))
            if i < len(new) and type(new[i]) is int and b in feats:
                new[i] = feats[b]
        return tuple(new), kwargs

    def violation(self, inp: Input) -> str | None:
        args, kwargs = inp
        if (len(args), tuple(sorted(kwargs))) not in self.arities:
            return f"type: {len(args)} arguments {sorted(kwargs)}, never observed"
        for i, a in enumerate(args):
            why = _check(self.shapes[i], a, f"arg{i}", self.loose, self.marks)
            if why:
                return why
        for k, v in kwargs.items():
            why = _check(self.kw_shapes[k], v, k, self.loose, self.marks)
            if why:
                return why
        feats = _features(args)
        for a, op, b in self.relations:
            if a in feats and b in feats and not _RELATIONS[op](feats[a], feats[b]):
                return f"relation: {a} {op} {b} holds for every observed input, not here"
        return None


def infer_contract(seeds: list[Input], doc: str | None = None, marks: Iterable[int] = ()) -> Contract:
    """The contract every one of ``seeds`` (a task's observed inputs) meets; with the task's text
    (``doc``), the rules it does not ask for are relaxed (:func:`loosened`); without it, none is. The ints
    ``marks`` (the reference's constants and their neighbours) are exempt from the magnitude rule only:
    sign, type and relations still hold for them."""
    width = max((len(a) for a, _ in seeds), default=0)
    shapes = [_Shape() for _ in range(width)]
    kw_shapes: dict[str, _Shape] = {}
    for args, kwargs in seeds:
        for i, a in enumerate(args):
            _observe(shapes[i], a)
        for k, v in kwargs.items():
            _observe(kw_shapes.setdefault(k, _Shape()), v)
    relations: list[tuple[str, str, str]] = []
    if len(seeds) >= 3:
        feats = [_features(a) for a, _ in seeds]
        names = sorted(set.intersection(*(set(f) for f in feats)))
        for a, b in itertools.permutations(names, 2):
            if a.startswith("len") and not b.startswith("len"):
                continue  # an int bounds a length, never the other way (that would be the same relation)
            if a.startswith("len") and b.startswith("len"):
                ops = ["=="] if a < b else []
            else:
                ops = ["==", "<", "<="]
            for op in ops:
                if all(_RELATIONS[op](f[a], f[b]) for f in feats):
                    relations.append((a, op, b))
                    break
    return Contract(
        arities={(len(a), tuple(sorted(k))) for a, k in seeds},
        shapes=shapes,
        kw_shapes=kw_shapes,
        relations=relations,
        loose=loosened(doc) if doc is not None else frozenset(),
        marks=frozenset(m for m in marks if type(m) is int),
    )
