"""Code task families for RLVR: a prompt naming the function, a reference solution, 3-5 assert tests.

Expected values come from running our own reference (trusted code, in-process); the generator
then runs every reference against its tests in the sandbox before a task is written.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CODE_FAMILIES", "CodeTask", "make_code_task"]


@dataclass(frozen=True)
class CodeTask:
    family: str
    prompt: str
    entry_point: str
    reference: str
    tests: list[str]


@dataclass(frozen=True)
class _Family:
    entry: str
    prompt: str  # format fields: entry and the params
    reference: str  # format fields: the params
    params: Callable[[random.Random], dict[str, Any]]
    inputs: Callable[[random.Random, dict[str, Any]], list[tuple[Any, ...]]]


def _ints(rng: random.Random, n: int, lo: int = -20, hi: int = 50) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(n)]


_WORDS = ["alpha", "beta", "level", "racecar", "stone", "noon", "python", "kayak", "data", "Madam"]

CODE_FAMILIES: dict[str, _Family] = {
    "sum_multiples": _Family(
        "sum_multiples",
        "Write a Python function `{entry}(n)` that returns the sum of all non-negative integers below n "
        "that are multiples of {a} or {b}.",
        "def sum_multiples(n):\n    return sum(i for i in range(max(n, 0)) if i % {a} == 0 or i % {b} == 0)\n",
        lambda r: {"a": r.choice([2, 3, 4]), "b": r.choice([5, 7, 11])},
        lambda r, p: [(0,), (1,), (r.randint(10, 30),), (r.randint(50, 200),)],
    ),
    "count_vowels": _Family(
        "count_vowels",
        "Write a Python function `{entry}(text)` that returns how many characters of text are vowels "
        "(a, e, i, o, u{extra}), ignoring case.",
        "def count_vowels(text):\n    return sum(1 for ch in text.lower() if ch in 'aeiou{y}')\n",
        lambda r: r.choice([{"extra": "", "y": ""}, {"extra": " and y", "y": "y"}]),
        lambda r, p: [
            ("",),
            ("Hello World",),
            ("rhythm and blues",),
            ("".join(r.sample("AEIOUYbcdxyz", 8)),),
        ],
    ),
    "running_max": _Family(
        "running_max",
        "Write a Python function `{entry}(nums)` that returns a list whose i-th item is the largest of "
        "nums[0..i] (an empty list for empty input).",
        "def running_max(nums):\n    out = []\n    for x in nums:\n        out.append(x if not out else max(out[-1], x))\n"
        "    return out\n",
        lambda r: {},
        lambda r, p: [([],), (_ints(r, 5),), (_ints(r, 7),), ([3, 3, 1],)],
    ),
    "second_largest": _Family(
        "second_largest",
        "Write a Python function `{entry}(nums)` that returns the second largest distinct value in nums, "
        "or None if there is none.",
        "def second_largest(nums):\n    vals = sorted(set(nums))\n    return vals[-2] if len(vals) > 1 else None\n",
        lambda r: {},
        lambda r, p: [([5],), ([2, 2],), (_ints(r, 6),), (_ints(r, 8, 0, 9),), ([1, 9, 9, 4],)],
    ),
    "rotate": _Family(
        "rotate_left",
        "Write a Python function `{entry}(items, k)` that returns a new list with items rotated left by k "
        "positions (k may exceed the length; an empty list stays empty).",
        "def rotate_left(items, k):\n    if not items:\n        return []\n    k %= len(items)\n"
        "    return items[k:] + items[:k]\n",
        lambda r: {},
        lambda r, p: [
            ([], 3),
            (_ints(r, 5), r.randint(0, 4)),
            (_ints(r, 4), r.randint(5, 12)),
            ([1, 2, 3], 0),
        ],
    ),
    "caesar": _Family(
        "caesar_shift",
        "Write a Python function `{entry}(text)` that shifts every ASCII letter of text forward by {k} "
        "places in the alphabet, wrapping around and keeping case; other characters stay unchanged.",
        "def caesar_shift(text):\n    out = []\n    for ch in text:\n        if 'a' <= ch <= 'z':\n"
        "            out.append(chr((ord(ch) - 97 + {k}) % 26 + 97))\n        elif 'A' <= ch <= 'Z':\n"
        "            out.append(chr((ord(ch) - 65 + {k}) % 26 + 65))\n        else:\n            out.append(ch)\n"
        "    return ''.join(out)\n",
        lambda r: {"k": r.randint(1, 25)},
        lambda r, p: [("",), ("abc xyz",), ("Hello, World!",), (r.choice(_WORDS),)],
    ),
    "palindrome": _Family(
        "is_palindrome",
        "Write a Python function `{entry}(text)` that returns True if text reads the same forwards and "
        "backwards when only letters and digits are kept and case is ignored, else False.",
        "def is_palindrome(text):\n    s = [c.lower() for c in text if c.isalnum()]\n    return s == s[::-1]\n",
        lambda r: {},
        lambda r, p: [
            ("",),
            ("A man, a plan, a canal: Panama",),
            (r.choice(_WORDS),),
            ("ab",),
            ("No lemon, no melon",),
        ],
    ),
    "digital_root": _Family(
        "digital_root",
        "Write a Python function `{entry}(n)` that, for a non-negative integer n, repeatedly sums its decimal "
        "digits until one digit remains, and returns that digit.",
        "def digital_root(n):\n    while n >= 10:\n        n = sum(int(d) for d in str(n))\n    return n\n",
        lambda r: {},
        lambda r, p: [(0,), (9,), (r.randint(10, 999),), (r.randint(10**5, 10**9),)],
    ),
    "fizzbuzz": _Family(
        "fizz_word",
        "Write a Python function `{entry}(n)` that returns '{w1}{w2}' if n is divisible by both {a} and {b}, "
        "'{w1}' if only by {a}, '{w2}' if only by {b}, and otherwise str(n).",
        "def fizz_word(n):\n    if n % {a} == 0 and n % {b} == 0:\n        return '{w1}{w2}'\n    if n % {a} == 0:\n"
        "        return '{w1}'\n    if n % {b} == 0:\n        return '{w2}'\n    return str(n)\n",
        lambda r: {
            "a": r.choice([2, 3]),
            "b": r.choice([5, 7]),
            "w1": r.choice(["Fizz", "Ping"]),
            "w2": r.choice(["Buzz", "Pong"]),
        },
        lambda r, p: [(p["a"] * p["b"],), (p["a"],), (p["b"],), (1,), (r.randint(11, 99),)],
    ),
    "gcd_list": _Family(
        "gcd_list",
        "Write a Python function `{entry}(nums)` that returns the greatest common divisor of a non-empty list "
        "of positive integers.",
        "def gcd_list(nums):\n    from math import gcd\n    g = 0\n    for x in nums:\n        g = gcd(g, x)\n"
        "    return g\n",
        lambda r: {},
        lambda r, p: [([7],), ([12, 18],), ([r.randint(1, 9) * 6 for _ in range(4)],), ([17, 34, 51],)],
    ),
}


def make_code_task(family: str, rng: random.Random) -> CodeTask:
    """One task of ``family``: parameters drawn from ``rng``, expected values from the reference."""
    fam = CODE_FAMILIES[family]
    params = fam.params(rng)
    reference = fam.reference.format(**params)
    ns: dict[str, Any] = {}
    exec(compile(reference, f"<reference {family}>", "exec"), ns)  # our own trusted reference code
    fn = ns[fam.entry]
    tests = []
    for args in fam.inputs(rng, params):
        expected = fn(*[list(a) if isinstance(a, list) else a for a in args])
        call = ", ".join(repr(a) for a in args)
        tests.append(f"assert {fam.entry}({call}) == {expected!r}")
    prompt = fam.prompt.format(entry=fam.entry, **params)
    return CodeTask(family, prompt, fam.entry, reference, list(dict.fromkeys(tests)))
