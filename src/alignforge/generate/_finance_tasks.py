"""Finance task families for RLVR: templates with answers computed exactly, and the grading spec stated.

Each task carries its verifier spec (``metadata.verifier``: answer kind, unit, decimals, ``rel_tol``,
``abs_tol``; see :mod:`alignforge.verify.finance`). Values are computed with ``Fraction`` (or
``Decimal`` at 50 digits where a root or an exponential is involved) and rounded half-up to the
decimals the prompt asks for, so the reference is what a careful person writes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

from alignforge.stages.record import short_hash

__all__ = ["FINANCE_FAMILIES", "FinanceTask", "make_finance_task", "format_value"]


@dataclass(frozen=True)
class FinanceTask:
    family: str
    prompt: str
    answer: str
    verifier: dict[str, Any]

    def to_row(self, seed: int = 0) -> dict[str, Any]:
        """The RLVR task row (``domain: finance``), in the shape ``generate rlvr`` writes for math."""
        return {
            "task_id": f"finance/{self.family}/{short_hash(self.prompt)}",
            "prompt": self.prompt,
            "answer": self.answer,
            "domain": "finance",
            "verification_type": "finance",
            "metadata": {"generator": self.family, "seed": seed, "verifier": dict(self.verifier)},
        }


def _round(x: Fraction | Decimal, decimals: int) -> Decimal:
    d = x if isinstance(x, Decimal) else Decimal(x.numerator) / Decimal(x.denominator)
    return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_value(x: Fraction | Decimal, decimals: int, kind: str) -> str:
    """The reference as people write it: ``$1,234.50``, ``-$12.00``, ``12.34%``, ``1.25``, ``1,200``."""
    d = _round(x, decimals)
    sign = "-" if d < 0 else ""
    body = f"{abs(d):,.{decimals}f}"
    if kind == "amount":
        return f"{sign}${body}"
    if kind == "percent":
        return f"{sign}{body}%"
    return f"{sign}{body}"


_SAY = {
    "amount": "Give the final answer on the last line as 'The answer is $<amount>.'",
    "percent": "Give the final answer on the last line as 'The answer is <rate>%.'",
    "ratio": "Give the final answer on the last line as 'The answer is <ratio>.'",
    "number": "Give the final answer on the last line as 'The answer is <number>.'",
}
_UNIT = {"amount": "USD", "percent": "%", "ratio": "x", "number": "units"}


def _spec(kind: str, decimals: int, *, rel_tol: float = 0.0, **extra: Any) -> dict[str, Any]:
    spec = {
        "type": "finance",
        "answer_kind": kind,
        "unit": extra.pop("unit", _UNIT[kind]),
        "decimals": decimals,
        "rel_tol": rel_tol,
        "abs_tol": float(Fraction(1, 2 * 10**decimals)),  # half a unit of the last decimal asked for
    }
    return {**spec, **extra}


def _pct(r: Fraction) -> str:
    return f"{float(r * 100):g}%"


def _money(x: int | Fraction) -> str:
    return format_value(Fraction(x), 2 if Fraction(x).denominator != 1 else 0, "amount")


_Made = tuple[
    str, Fraction | Decimal, str, int, dict[str, Any]
]  # question, value, kind, decimals, extra spec


def _simple_interest(rng: random.Random) -> _Made:
    p, r, t = (
        rng.randrange(500, 20001, 50),
        Fraction(rng.choice([20, 25, 30, 35, 40, 45, 50, 60, 75]), 1000),
        rng.randint(1, 10),
    )
    return (
        f"A deposit of {_money(p)} earns simple interest at {_pct(r)} per year. How much interest, in dollars, "
        f"does it earn in {t} years? Round to the nearest cent.",
        p * r * t,
        "amount",
        2,
        {},
    )


_PERIODS = {1: "annually", 4: "quarterly", 12: "monthly"}


def _compound_interest(rng: random.Random) -> _Made:
    p, r = rng.randrange(1000, 50001, 100), Fraction(rng.choice([2, 3, 4, 5, 6, 7, 8]), 100)
    n, t = rng.choice(list(_PERIODS)), rng.randint(2, 10)
    value = p * (1 + r / n) ** (n * t)
    return (
        f"{_money(p)} is invested at {_pct(r)} per year, compounded {_PERIODS[n]}. What is the investment worth "
        f"after {t} years? Do not round intermediate steps; round the final value to the nearest cent.",
        value,
        "amount",
        2,
        {},
    )


def _npv(rng: random.Random) -> _Made:
    r = Fraction(rng.choice([5, 6, 8, 10, 12]), 100)
    years = rng.randint(3, 5)
    flows = [rng.randrange(1000, 20001, 500) for _ in range(years)]
    outlay = rng.randrange(2000, 60001, 1000)
    value = sum((Fraction(cf) / (1 + r) ** (t + 1) for t, cf in enumerate(flows)), Fraction(-outlay))
    listed = ", ".join(f"year {t + 1}: {_money(cf)}" for t, cf in enumerate(flows))
    return (
        f"A project costs {_money(outlay)} today and returns cash flows at the end of each year ({listed}). "
        f"At a discount rate of {_pct(r)}, what is its net present value? The NPV may be negative; "
        "round it to the nearest cent.",
        value,
        "amount",
        2,
        {},
    )


def _cagr(rng: random.Random) -> _Made:
    start = rng.randrange(10_000, 200_001, 1000)
    n = rng.randint(2, 8)
    end = int(start * rng.uniform(0.6, 2.5)) // 100 * 100
    with localcontext() as ctx:
        ctx.prec = 50
        value = ((Decimal(end) / Decimal(start)) ** (Decimal(1) / n) - 1) * 100
    return (
        f"A portfolio {'grew' if end >= start else 'shrank'} from {_money(start)} to {_money(end)} over {n} "
        "years. What is its compound annual growth rate (CAGR), as a percentage rounded to 2 decimal places?",
        value,
        "percent",
        2,
        {},
    )


def _percent_change(rng: random.Random) -> _Made:
    old = Fraction(rng.randrange(200, 20001), 100)
    new = old * Fraction(rng.randint(40, 250), 100) + Fraction(rng.randint(-99, 99), 100)
    new = max(new, Fraction(1, 100))
    value = (new - old) / old * 100
    fraction_ok = rng.random() < 0.5
    how = (
        "Give it as a percentage rounded to 2 decimal places (a decimal fraction such as 0.1234 for 12.34% is "
        "also accepted)."
        if fraction_ok
        else "Give it as a percentage rounded to 2 decimal places."
    )
    old_s, new_s = format_value(old, 2, "amount"), format_value(new, 2, "amount")
    return (
        f"A share price moves from {old_s} to {new_s}. What is the percentage change? {how}",
        value,
        "percent",
        2,
        {"accept_fraction": True} if fraction_ok else {},
    )


def _ratio(rng: random.Random) -> _Made:
    a, b = rng.randrange(50_000, 900_001, 1000), rng.randrange(40_000, 700_001, 1000)
    name, left, right = rng.choice(
        [
            ("current ratio", "current assets", "current liabilities"),
            ("debt-to-equity ratio", "total debt", "shareholders' equity"),
            ("quick ratio", "quick assets", "current liabilities"),
        ]
    )
    return (
        f"A company has {left} of {_money(a)} and {right} of {_money(b)}. What is its {name}? "
        "Round to 2 decimal places.",
        Fraction(a, b),
        "ratio",
        2,
        {},
    )


def _unit_price(rng: random.Random) -> _Made:
    count = rng.choice([6, 8, 12, 16, 18, 24, 30, 36])
    price = Fraction(rng.randrange(199, 6000), 100)
    decimals = rng.choice([2, 3])
    nearest = "cent" if decimals == 2 else "tenth of a cent"
    return (
        f"A pack of {count} items costs {format_value(price, 2, 'amount')}. What is the price per item, in "
        f"dollars? Round to the nearest {nearest}.",
        price / count,
        "amount",
        decimals,
        {},
    )


def _loan_payment(rng: random.Random) -> _Made:
    p = rng.randrange(5_000, 400_001, 1000)
    annual = Fraction(rng.choice([30, 35, 40, 45, 50, 55, 60, 65, 70, 80]), 1000)
    years = rng.choice([3, 5, 10, 15, 20, 30])
    r, n = annual / 12, years * 12
    value = p * r / (1 - (1 + r) ** -n)
    return (
        f"A loan of {_money(p)} is repaid in equal monthly payments over {years} years at {_pct(annual)} annual "
        "interest, compounded monthly. What is the monthly payment? Round to the nearest cent.",
        value,
        "amount",
        2,
        {},
    )


def _continuous(rng: random.Random) -> _Made:
    p = rng.randrange(1_000, 100_001, 500)
    r, t = Fraction(rng.choice([2, 3, 4, 5, 6, 7]), 100), rng.randint(1, 15)
    with localcontext() as ctx:
        ctx.prec = 50
        value = Decimal(p) * (Decimal(r.numerator) / Decimal(r.denominator) * t).exp()
    return (
        f"{_money(p)} earns {_pct(r)} per year compounded continuously. What is it worth after {t} years? "
        "Round to the nearest cent; any answer within 0.01% of the exact value is accepted.",
        value,
        "amount",
        2,
        {"rel_tol": 1e-4},
    )


def _units_sold(rng: random.Random) -> _Made:
    price = rng.choice([4, 5, 8, 12, 15, 20, 25, 40])
    units = rng.randrange(100, 50_001, 100)
    return (
        f"A product sells for {_money(price)} each. Revenue last quarter was {_money(price * units)}. "
        "How many units were sold?",
        Fraction(units),
        "number",
        0,
        {},
    )


FINANCE_FAMILIES: dict[str, Callable[[random.Random], _Made]] = {
    "simple_interest": _simple_interest,
    "compound_interest": _compound_interest,
    "npv": _npv,
    "cagr": _cagr,
    "percent_change": _percent_change,
    "ratio": _ratio,
    "unit_price": _unit_price,
    "loan_payment": _loan_payment,
    "continuous": _continuous,
    "units_sold": _units_sold,
}


def make_finance_task(family: str, rng: random.Random) -> FinanceTask:
    """One task of ``family`` with parameters drawn from ``rng``: prompt, reference answer, verifier spec."""
    question, value, kind, decimals, extra = FINANCE_FAMILIES[family](rng)
    extra = dict(extra)
    rel_tol = extra.pop("rel_tol", 0.0)
    return FinanceTask(
        family,
        f"{question} {_SAY[kind]}",
        format_value(value, decimals, kind),
        _spec(kind, decimals, rel_tol=rel_tol, **extra),
    )
