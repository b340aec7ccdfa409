"""General-domain task families for RLVR: self-contained short-answer and multiple-choice questions.

Every answer is computed from the task's own text (letters in a word, unit conversions in words,
weekday arithmetic, which value is larger, primes), so no world knowledge can be out of date and
the reference is right by construction. Short answers are graded by normalised match, multiple
choice by the one option named (:mod:`alignforge.verify.general`); option texts never contain a lone
capital letter, which would read as an option letter.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from alignforge.stages.record import short_hash
from alignforge.verify.general import NUMBER_WORDS

__all__ = ["GENERAL_FAMILIES", "GeneralTask", "make_general_task", "number_words"]


@dataclass(frozen=True)
class GeneralTask:
    family: str
    prompt: str
    answer: str  # the text (short answer) or the option letter (multiple choice)
    choices: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())

    def to_row(self, seed: int = 0) -> dict[str, Any]:
        """The RLVR task row (``domain: general``); multiple choice carries ``choices``."""
        verifier: dict[str, Any] = {"type": "general", "match": "choice" if self.choices else "normalized"}
        if self.units:
            verifier["units"] = list(self.units)
        if self.aliases:
            verifier["aliases"] = list(self.aliases)
        row: dict[str, Any] = {
            "task_id": f"general/{self.family}/{short_hash(self.prompt)}",
            "prompt": self.prompt,
            "answer": self.answer,
            "domain": "general",
            "verification_type": "choice" if self.choices else "short_answer",
            "metadata": {"generator": self.family, "seed": seed, "verifier": verifier},
        }
        if self.choices:
            row["choices"] = list(self.choices)
        return row


SHORT = "Give the final answer on the last line as 'The answer is <answer>.'"
CHOICE = "Pick the one correct option and give its letter on the last line as 'The answer is <letter>.'"

_SMALL = NUMBER_WORDS
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """English words for 0 <= n < 1000 ("twenty-one", "one hundred five")."""
    if n < 20:
        return _SMALL[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _SMALL[n % 10] if n % 10 else "")
    rest = n % 100
    return f"{_SMALL[n // 100]} hundred" + (f" {number_words(rest)}" if rest else "")


_WORDS = [
    "strawberry", "banana", "mississippi", "committee", "bookkeeper", "balloon", "parallel", "occurrence",
    "assessment", "necessary", "independence", "programming", "possession", "referee", "tennessee",
    "cinnamon", "giraffe", "accommodate", "embarrass", "millennium", "rhythm", "onomatopoeia",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_FRUIT = [
    "apple", "pear", "mango", "cherry", "grape", "lemon", "melon", "peach", "plum", "kiwi", "banana", "apricot",
    "orange", "papaya", "quince", "lime", "fig", "date", "guava", "olive",
]  # fmt: skip
_Made = tuple[str, str, tuple[str, ...], tuple[str, ...]]  # question, answer, choices, units


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _letter_count(rng: random.Random) -> _Made:
    word = rng.choice(_WORDS)
    letter = rng.choice(sorted(set(word)) + ["z", "q"] * (rng.random() < 0.1))
    return (
        f"How many times does the letter '{letter}' appear in the word '{word}'?",
        str(word.count(letter)),
        (),
        ("times", "time"),
    )


def _reverse_word(rng: random.Random) -> _Made:
    word = rng.choice(_WORDS + _FRUIT)
    return f"Write the word '{word}' backwards, letter by letter.", word[::-1], (), ()


_CONVERSIONS = [
    ("hours", "minutes", 60),
    ("minutes", "seconds", 60),
    ("days", "hours", 24),
    ("weeks", "days", 7),
    ("kilometres", "metres", 1000),
    ("metres", "centimetres", 100),
    ("dozen", "items", 12),
    ("years", "months", 12),
]


def _unit_words(rng: random.Random) -> _Made:
    big, small, factor = rng.choice(_CONVERSIONS)
    whole = rng.randint(2, 19)
    half = factor % 2 == 0 and rng.random() < 0.4
    amount = f"{number_words(whole)} and a half" if half else number_words(whole)
    value = Fraction(whole) + (Fraction(1, 2) if half else 0)
    unit = big if big != "dozen" else "dozen"
    return (
        f"How many {small} are there in {amount} {unit}? Answer with a number.",
        str(int(value * factor)),
        (),
        (small,),
    )


def _weekday(rng: random.Random) -> _Made:
    start, days = rng.randrange(7), rng.randint(3, 400)
    return (
        f"Today is {_DAYS[start]}. What day of the week will it be {days} days from today?",
        _DAYS[(start + days) % 7],
        (),
        (),
    )


def _alphabet(rng: random.Random) -> _Made:
    n = rng.randint(1, 26)
    return f"What is the {_ordinal(n)} letter of the English alphabet?", chr(64 + n), (), ()


def _first_alphabetical(rng: random.Random) -> _Made:
    words = rng.sample(_FRUIT, rng.randint(3, 5))
    return (
        f"Which of these words comes first in alphabetical order: {', '.join(words)}? Answer with the word only.",
        min(words),
        (),
        (),
    )


def _larger(rng: random.Random) -> _Made:
    while True:
        a = Fraction(rng.randint(1, 11), rng.choice([2, 3, 4, 5, 8]))
        b = Fraction(rng.randint(1, 99), 100)
        if a != b:
            break
    sa = f"{a.numerator}/{a.denominator}" if a.denominator != 1 else str(a.numerator)
    sb = f"{float(b):g}"
    first, second = (sa, sb) if rng.random() < 0.5 else (sb, sa)
    return (
        f"Which is larger, {first} or {second}? Answer with the larger value exactly as written.",
        sa if a > b else sb,
        (),
        (),
    )


def _word_arithmetic(rng: random.Random) -> _Made:
    a, b = rng.randint(2, 30), rng.randint(2, 30)
    op, value = rng.choice([("plus", a + b), ("times", a * b), ("minus", a - b)])
    return f"What is {number_words(a)} {op} {number_words(b)}?", str(value), (), ()


def _shuffle(rng: random.Random, right: str, wrong: list[str]) -> tuple[str, tuple[str, ...]]:
    options = [right, *wrong]
    rng.shuffle(options)
    return "ABCDEFGH"[options.index(right)], tuple(options)


def _mc_conversion(rng: random.Random) -> _Made:
    kg = rng.choice(
        [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(5, 2), Fraction(4), Fraction(15, 2)]
    )
    grams = int(kg * 1000)
    wrong = [f"{grams // 10:,} grams", f"{grams * 10:,} grams", f"{grams + 100:,} grams"]
    letter, options = _shuffle(rng, f"{grams:,} grams", wrong)
    return f"How many grams are in {float(kg):g} kilograms?", letter, options, ()


def _mc_largest(rng: random.Random) -> _Made:
    values = rng.sample([Fraction(n, d) for d in (3, 4, 5, 6, 8, 10) for n in range(1, d)], 4)
    values = list(dict.fromkeys(values))
    if len(values) < 4:
        return _mc_largest(rng)
    texts = [f"{v.numerator}/{v.denominator}" for v in values]
    best = texts[values.index(max(values))]
    letter, options = _shuffle(rng, best, [t for t in texts if t != best])
    return "Which of these fractions is the largest?", letter, options, ()


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % p for p in range(2, int(n**0.5) + 1))


_PRIME = "Which of these numbers is prime? (At most one is.)"


def _mc_prime(rng: random.Random) -> _Made:
    composites = [n for n in range(4, 100) if not _is_prime(n)]
    wrong = [str(n) for n in rng.sample(composites, 3)]
    if rng.random() < 0.25:  # "none of the above" is an option, and the right one
        return _PRIME, "D", (*wrong, "none of the above"), ()
    right = str(rng.choice([n for n in range(2, 100) if _is_prime(n)]))
    letter, options = _shuffle(rng, right, wrong)
    return _PRIME, letter, (*options, "none of the above"), ()


def _mc_weekday(rng: random.Random) -> _Made:
    start, days = rng.randrange(7), rng.randint(8, 200)
    right = _DAYS[(start + days) % 7]
    letter, options = _shuffle(rng, right, rng.sample([d for d in _DAYS if d != right], 3))
    return (
        f"Today is {_DAYS[start]}. What day of the week will it be {days} days from today?",
        letter,
        options,
        (),
    )


_EVEN = "Which of these numbers is even? (If every number listed is even, the answer is 'all of the above'.)"


def _mc_even(rng: random.Random) -> _Made:
    if rng.random() < 0.3:  # every number is even: "all of the above" is right
        nums = [str(2 * rng.randint(5, 60)) for _ in range(3)]
        while len(set(nums)) < 3:
            nums = [str(2 * rng.randint(5, 60)) for _ in range(3)]
        return _EVEN, "D", (*nums, "all of the above"), ()
    odd = {str(2 * rng.randint(5, 60) + 1) for _ in range(6)}
    wrong = sorted(odd)[:2]
    right = str(2 * rng.randint(5, 60))
    letter, options = _shuffle(rng, right, wrong)
    return _EVEN, letter, (*options, "all of the above"), ()


GENERAL_FAMILIES: dict[str, Callable[[random.Random], _Made]] = {
    "letter_count": _letter_count,
    "reverse_word": _reverse_word,
    "unit_words": _unit_words,
    "weekday": _weekday,
    "alphabet": _alphabet,
    "first_alphabetical": _first_alphabetical,
    "larger": _larger,
    "word_arithmetic": _word_arithmetic,
    "mc_conversion": _mc_conversion,
    "mc_largest": _mc_largest,
    "mc_prime": _mc_prime,
    "mc_weekday": _mc_weekday,
    "mc_even": _mc_even,
}


def make_general_task(family: str, rng: random.Random) -> GeneralTask:
    """One task of ``family`` with parameters drawn from ``rng``; multiple choice lists its options A), B), ..."""
    question, answer, choices, units = GENERAL_FAMILIES[family](rng)
    if choices:
        listed = "\n".join(f"{'ABCDEFGH'[i]}) {c}" for i, c in enumerate(choices))
        return GeneralTask(family, f"{question}\n{listed}\n{CHOICE}", answer, choices)
    return GeneralTask(family, f"{question} {SHORT}", answer, (), units)
