"""Procedural math tasks with exact answers (no LLM): arithmetic, percentages and word problems.

Answers are computed with ``fractions.Fraction`` and the parameters are drawn so every answer
is an integer or a short exact decimal.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

__all__ = ["MATH_GENERATORS", "format_number", "INSTRUCTION"]

INSTRUCTION = "Give the final answer on the last line as 'The answer is <number>.'"


def format_number(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    if Fraction(text) != x:
        raise ValueError(f"{x} has no short exact decimal")
    return text


def _arithmetic(rng: random.Random) -> tuple[str, Fraction]:
    a, b, c = rng.randint(12, 99), rng.randint(3, 40), rng.randint(2, 25)
    form = rng.choice(["{a} * {b} - {c}", "({a} + {b}) * {c}", "{a} * {c} + {b} * {c}", "({a} - {c}) * {b}"])
    expr = form.format(a=a, b=b, c=c)
    value = Fraction(eval(expr, {"__builtins__": {}}))  # our own template of integers and + - * ( )
    return f"Compute {expr.replace('*', '×')}.", value


def _percent(rng: random.Random) -> tuple[str, Fraction]:
    pct = rng.choice([5, 10, 12.5, 15, 20, 25, 30, 40, 45, 60, 75, 120])
    base = rng.choice([8, 16, 20, 40, 48, 60, 80, 120, 160, 240, 360, 400])
    value = Fraction(str(pct)) * base / 100
    form = rng.choice(
        [
            "What is {p}% of {b}?",
            "A price of ${b} rises by {p}%. By how many dollars does it rise?",
            "{p}% of the {b} students in a school walk to school. How many students walk?",
        ]
    )
    if "students" in form and value.denominator != 1:
        form = "What is {p}% of {b}?"
    return form.format(p=pct, b=base), value


def _discount(rng: random.Random) -> tuple[str, Fraction]:
    price = rng.choice([20, 40, 50, 60, 80, 120, 150, 200])
    pct = rng.choice([10, 15, 20, 25, 30, 40])
    value = Fraction(price) * (100 - pct) / 100
    return f"A jacket costs ${price}. It is on sale for {pct}% off. What is the sale price in dollars?", value


def _change(rng: random.Random) -> tuple[str, Fraction]:
    name = rng.choice(["Maya", "Omar", "Lena", "Ravi", "Sofia", "Tom"])
    item, unit = rng.choice([("pencils", 3), ("notebooks", 4), ("apples", 2), ("stickers", 1), ("pens", 5)])
    price = unit + rng.choice([0, 0.5])
    qty = rng.randint(2, 9)
    paid = rng.choice([50, 100])
    value = paid - Fraction(str(price)) * qty
    return (
        f"{item.capitalize()} cost ${price:g} each. {name} buys {qty} {item} and pays with a ${paid} bill. "
        f"How much change, in dollars, does {name} get?"
    ), value


def _speed(rng: random.Random) -> tuple[str, Fraction]:
    speed, hours = rng.choice([40, 45, 50, 60, 72, 80]), rng.choice([1.5, 2, 2.5, 3, 4])
    value = Fraction(speed) * Fraction(str(hours))
    return (
        f"A train travels at {speed} km per hour for {hours:g} hours. How many kilometers does it travel?",
        value,
    )


def _sharing(rng: random.Random) -> tuple[str, Fraction]:
    people, each, left = rng.randint(3, 9), rng.randint(4, 15), rng.randint(0, 2)
    total = people * each + left
    return (
        f"{total} cookies are shared equally among {people} children, and {left} are left over. "
        "How many cookies does each child get?"
    ), Fraction(each)


def _rectangle(rng: random.Random) -> tuple[str, Fraction]:
    w, h = rng.randint(3, 25), rng.randint(3, 25)
    if rng.random() < 0.5:
        return f"A rectangle is {w} m wide and {h} m long. What is its area in square meters?", Fraction(
            w * h
        )
    return f"A rectangle is {w} cm wide and {h} cm long. What is its perimeter in cm?", Fraction(2 * (w + h))


MATH_GENERATORS: dict[str, Callable[[random.Random], tuple[str, Fraction]]] = {
    "arithmetic": _arithmetic,
    "percent": _percent,
    "discount": _discount,
    "change": _change,
    "speed": _speed,
    "sharing": _sharing,
    "rectangle": _rectangle,
}
