"""Finance verifier: extract the final stated amount, then grade it against the task's spec (pure functions).

A task states how it is graded in ``metadata.verifier`` (:class:`FinanceSpec`): the answer's kind
(``amount``, ``percent``, ``ratio``, ``number``), its unit (``USD``, ``%``, ``x``, ``years``), the
decimals it is rounded to, and a relative and an absolute tolerance. An answer passes when its value
is within ``max(abs_tol, rel_tol * |reference|)`` of the reference rounded half-up to ``decimals``
(``abs_tol`` defaults to half a unit of the last decimal, so an answer that rounds to the reference
passes and one a unit off does not).

Amounts are read in the forms people write: ``$1,234.50``, ``USD 1,234``, ``1,234.50 dollars``,
``1.2k``, ``$3.4M``, ``1.2 million``, ``-$50``, ``(1,234)`` (accounting negative), ``12.5%``,
``12.5 percent``, ``1.25x``, ``1.25:1``, LaTeX (``\\boxed{\\$1{,}234.50}``, ``12.5\\%``). Refused,
so they fail: a decimal comma (``1.234,50``) or space-grouped thousands, number words, a currency
other than the task's, a percentage where an amount or a ratio is asked (and money where a percentage
is), a final answer that states several numbers, and several final answers that disagree.

Percent tasks: the reference is in percentage points. ``12.5%`` and a bare ``12.5`` are read as
percentage points (the task asks for a percentage); the fraction ``0.125`` passes only where the task
sets ``accept_fraction: true``, because reading a bare number both ways doubles the values a wrong
answer can hit. ``0.125%`` always means 0.125 percentage points (the percent/fraction confusion fails).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from alignforge.records import FieldError, VerdictStatus
from alignforge.verify.math import MathVerdict, verdict_fields

__all__ = [
    "ANSWER_KINDS",
    "Amount",
    "FinanceSpec",
    "extract_answer",
    "final_answers",
    "grade",
    "grade_in_process",
    "parse_amounts",
    "verify_finance",
]

ANSWER_KINDS = ("amount", "percent", "ratio", "number")

_CURRENCY = {
    "$": "USD",
    "US$": "USD",
    "USD": "USD",
    "DOLLAR": "USD",
    "DOLLARS": "USD",
    "€": "EUR",
    "EUR": "EUR",
    "EURO": "EUR",
    "EUROS": "EUR",
    "£": "GBP",
    "GBP": "GBP",
    "POUND": "GBP",
    "POUNDS": "GBP",
    "¥": "JPY",
    "JPY": "JPY",
    "YEN": "JPY",
    "C$": "CAD",
    "CAD": "CAD",
}
_SCALE = {
    "k": 10**3,
    "thousand": 10**3,
    "m": 10**6,
    "mn": 10**6,
    "mm": 10**6,
    "million": 10**6,
    "b": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "tn": 10**12,
    "trillion": 10**12,
}
# Words after a number that make it context ("after 5 years", "to 2 decimal places") unless they are the
# task's own unit.
_UNIT_WORDS = (
    r"years?|months?|days?|weeks?|quarters?|periods?|units?|items?|shares?|decimal\s+places?|places?"
)

_TOKEN = re.compile(
    r"(?P<open>\(\s*)?"
    r"(?P<sign>[-+]\s*)?"
    r"(?P<pre>US\$|C\$|[$€£¥]|(?:USD|EUR|GBP|JPY|CAD)(?=\s*[-+(]?\s*\.?\d))?\s*"
    r"(?P<sign2>[-+]\s*)?"
    r"(?<![\w.,])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?![.,]?\d)(?!(?i:st|nd|rd|th)\b)"
    r"(?P<scale>\s?(?i:thousand|million|billion|trillion|mn|mm|bn|tn)\b|[kKmMbB]\b)?"
    r"(?P<pct>\s?(?:%|(?i:percent|per\s?cent|pct)\b))?"
    r"(?P<ratio>x\b|\s?:\s?1\b(?!\.\d)|\s(?i:to)\s1\b(?!\.\d))?"
    r"(?P<post>\s?(?:USD|EUR|GBP|JPY|CAD|(?i:dollars?|euros?|pounds?|yen))\b)?"
    r"(?P<unit>[\s-]?(?i:" + _UNIT_WORDS + r")\b)?"
    r"(?P<close>\s*\))?"
)
_BEFORE_CONTEXT = re.compile(r"(?i:\b(?:year|month|day|week|quarter|period|step|option|part)\s*#?\s*)$")


@dataclass(frozen=True, slots=True)
class Amount:
    """One number as written: its signed value (scale applied, percent not), and what marks it."""

    value: Fraction
    text: str
    percent: bool = False
    currency: str | None = None
    ratio: bool = False
    unit: str | None = None  # a unit word after it, singular and lower case ("year", "decimal place")
    context: bool = False  # "year 5", "step 2": a label, never an answer


def _singular(word: str) -> str:
    word = " ".join(word.lower().strip(" -").split())
    return word[:-1] if word.endswith("s") else word


def parse_amounts(text: str) -> list[Amount]:
    """Every number in ``text`` as an :class:`Amount` (after LaTeX and Unicode clean-up), in order."""
    s = _clean(text)
    out = []
    for m in _TOKEN.finditer(s):
        sign = -1 if "-" in (m.group("sign") or "") + (m.group("sign2") or "") else 1
        if m.group("open") and m.group("close"):
            sign = -sign  # (1,234): the accounting negative
        value = Fraction(m.group("num").replace(",", "")) * sign
        scale = (m.group("scale") or "").strip()
        if scale:
            value *= _SCALE[scale.lower()]
        cur_text = (m.group("pre") or m.group("post") or "").strip().upper()
        unit = m.group("unit")
        out.append(
            Amount(
                value=value,
                text=m.group(0).strip(),
                percent=bool(m.group("pct")),
                currency=_CURRENCY.get(cur_text) if cur_text else None,
                ratio=bool(m.group("ratio")),
                unit=_singular(unit) if unit else None,
                context=bool(_BEFORE_CONTEXT.search(s[: m.start()])),
            )
        )
    return out


_ANSWER_IS = re.compile(
    r"(?<![/\w])(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?:\.\s|\.?$|\n)", re.I | re.M
)
_HASH = re.compile(r"^\s*####\s*(.+?)\s*$", re.M)


def _clean(text: str) -> str:
    """LaTeX and typography down to plain text: ``\\$`` is a dollar, ``$..$`` around LaTeX is math mode."""
    s = text.replace("\\$", "\ufe69")  # an escaped dollar is money; hold it apart from math-mode dollars
    s = re.sub(r"\$([^$\n]*(?:\\|\^|_\{)[^$\n]*)\$", r"\1", s)  # $12.5\%$: math mode, not money
    s = re.sub(r"\\[()\[\]]", " ", s)
    s = re.sub(r"\\(?:text|mathrm|mbox|textbf|mathbf)\s*\{([^{}]*)\}", r"\1", s)
    s = s.replace("{,}", ",").replace("\\%", "%").replace("\\,", "").replace("\\!", "").replace("\\ ", " ")
    s = re.sub(r"\\(?:left|right|displaystyle|approx)", " ", s)
    s = s.replace("\ufe69", "$").replace("\u2212", "-").replace("\u2013", "-").replace("\u2014", " - ")
    s = s.replace("\u00a0", " ").replace("\u2009", "").replace("\u202f", "").replace("*", "")
    return s


def _boxed_at(text: str) -> list[tuple[int, str]]:
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.start(), text[m.end() : i - 1].strip()))
    return out


_STYLES = ("boxed", "hash", "answer_is")  # extraction priority, as in verify.math


def _stated(text: str) -> list[tuple[int, str, str]]:
    found = [(pos, "boxed", b) for pos, b in _boxed_at(text)]
    found += [(m.start(), "hash", m.group(1)) for m in _HASH.finditer(text)]
    plain = text.replace("**", "")
    for m in _ANSWER_IS.finditer(plain):
        value = m.group(1).strip()
        if "\\boxed" not in value and "\\fbox" not in value:
            found.append((m.start(), "answer_is", value))
    return sorted((f for f in found if f[2].strip()), key=lambda f: f[0])


def final_answers(text: str) -> list[str]:
    """Every final answer the text states (boxed, ``#### x``, "the answer is x"), in text order."""
    return [answer for _, _, answer in _stated(text)]


def extract_answer(text: str) -> str | None:
    """The final answer as written: last ``\\boxed{}``, else ``#### x``, else "the answer is x", else the
    last line's part after its last ``=`` (when it holds a number)."""
    stated = _stated(text)
    for style in _STYLES:
        of_style = [answer for _, s, answer in stated if s == style]
        if of_style:
            return of_style[-1]
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    tail = lines[-1].rsplit("=", 1)[-1].strip()
    return tail if parse_amounts(tail) else None


@dataclass(frozen=True, slots=True)
class FinanceSpec:
    """How a finance task is graded (its ``metadata.verifier``; ``answer`` is the task's ``answer``)."""

    answer: str
    answer_kind: str = "amount"
    unit: str | None = None
    decimals: int | None = None
    rel_tol: float = 0.0
    abs_tol: float | None = None
    accept_fraction: bool = False

    def __post_init__(self) -> None:
        if self.answer_kind not in ANSWER_KINDS:
            raise FieldError(
                "metadata.verifier.answer_kind",
                f"expected one of {list(ANSWER_KINDS)}, got {self.answer_kind!r}",
            )
        if self.decimals is not None and (not isinstance(self.decimals, int) or not 0 <= self.decimals <= 12):
            raise FieldError("metadata.verifier.decimals", f"expected an integer 0-12, got {self.decimals!r}")
        for name in ("rel_tol", "abs_tol"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1e9):
                raise FieldError(f"metadata.verifier.{name}", f"expected a number >= 0, got {v!r}")
        if self.accept_fraction and self.answer_kind != "percent":
            raise FieldError("metadata.verifier.accept_fraction", "applies to answer_kind 'percent' only")
        self.gold  # noqa: B018 (the reference must parse: a bad one is the task's error, found here)

    @classmethod
    def from_task(cls, task: dict[str, Any]) -> FinanceSpec:
        """The spec from a task row: ``answer`` and ``metadata.verifier`` (:class:`FieldError` names the field)."""
        meta = task.get("metadata") or {}
        v = meta.get("verifier") if isinstance(meta, dict) else None
        if not isinstance(v, dict):
            raise FieldError("metadata.verifier", "a finance task needs {type: finance, answer_kind, ...}")
        if v.get("type", "finance") != "finance":
            raise FieldError("metadata.verifier.type", f"expected 'finance', got {v.get('type')!r}")
        unknown = set(v) - {
            "type",
            "answer_kind",
            "unit",
            "decimals",
            "rel_tol",
            "abs_tol",
            "accept_fraction",
        }
        if unknown:
            raise FieldError(f"metadata.verifier.{sorted(unknown)[0]}", "unknown key")
        if "answer" not in task:
            raise FieldError("answer", "is missing (a finance task needs its reference answer)")
        return cls(
            answer=str(task["answer"]),
            answer_kind=v.get("answer_kind", "amount"),
            unit=v.get("unit"),
            decimals=v.get("decimals"),
            rel_tol=v.get("rel_tol", 0.0),
            abs_tol=v.get("abs_tol"),
            accept_fraction=bool(v.get("accept_fraction", False)),
        )

    @property
    def currency(self) -> str | None:
        return _CURRENCY.get((self.unit or "").upper()) if self.answer_kind == "amount" else None

    @property
    def gold(self) -> Fraction:
        """The reference value (percentage points for a percent task), rounded half-up to ``decimals``."""
        values = [a for a in parse_amounts(self.answer) if not a.context]
        if len(values) != 1:
            raise FieldError("answer", f"expected one number, got {self.answer!r}")
        value = values[0].value
        if self.decimals is None:
            return value
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return Fraction(exact.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP))

    @property
    def tolerance(self) -> Fraction:
        if self.abs_tol is not None:
            absolute = Fraction(str(self.abs_tol))
        else:
            absolute = Fraction(1, 2 * 10**self.decimals) if self.decimals is not None else Fraction(0)
        return max(absolute, Fraction(str(self.rel_tol)) * abs(self.gold))


def _is_context(a: Amount, spec: FinanceSpec) -> bool:
    if a.context:
        return True
    if a.unit is None or a.percent or a.currency:
        return False
    return _singular(spec.unit or "") != a.unit  # "after 5 years" where the answer is money


def _values(a: Amount, spec: FinanceSpec) -> tuple[list[Fraction], str]:
    """The values ``a`` may stand for in the task's terms, or ([], why it does not fit the kind)."""
    kind = spec.answer_kind
    if kind == "percent":
        if a.currency:
            return [], f"{a.text!r} is money where a percentage is asked"
        if a.ratio:
            return [], f"{a.text!r} is a ratio where a percentage is asked"
        return ([a.value] if a.percent or not spec.accept_fraction else [a.value, a.value * 100]), ""
    if a.percent:
        return (
            [],
            f"{a.text!r} is a percentage where {'an amount' if kind == 'amount' else 'a ' + kind} is asked",
        )
    if kind == "amount":
        if a.ratio:
            return [], f"{a.text!r} is a ratio where an amount is asked"
        if a.currency and spec.currency and a.currency != spec.currency:
            return [], f"{a.text!r} is in {a.currency} where {spec.currency} is asked"
        return [a.value], ""
    if a.currency:
        return [], f"{a.text!r} is money where a {kind} is asked"
    if a.ratio and kind != "ratio":
        return [], f"{a.text!r} is a ratio where a {kind} is asked"
    return [a.value], ""


def grade(pred: str, spec: FinanceSpec) -> tuple[bool, str]:
    """Whether one stated answer ``pred`` is the reference within the task's tolerance, and why."""
    amounts = [a for a in parse_amounts(pred) if not _is_context(a, spec)]
    if not amounts:
        return False, f"no {spec.answer_kind} in the answer {pred!r}"
    if len({a.value for a in amounts}) > 1:
        return False, f"states several numbers ({', '.join(a.text for a in amounts)})"
    values, why = _values(amounts[0], spec)
    if not values:
        return False, why
    gold, tol = spec.gold, spec.tolerance
    for v in values:
        if abs(v - gold) <= tol:
            return True, f"within {float(tol):g} of {float(gold):g}"
    return False, f"{float(values[0]):g} is not within {float(tol):g} of {float(gold):g}"


def verify_finance(completion: str, spec: FinanceSpec) -> MathVerdict:
    """Grade a completion: its final answer must be the reference, and so must every other final answer
    it states (hedging with a second value is wrong, as in :func:`~alignforge.verify.verify_math`)."""
    pred = extract_answer(completion)
    if pred is None:
        return MathVerdict(False, VerdictStatus.FAILED, None, spec.answer, "no final answer found")
    ok, how = grade(pred, spec)
    if ok:
        for other in dict.fromkeys(a for a in final_answers(completion) if a != pred):
            if not grade(other, spec)[0]:
                return MathVerdict(
                    False,
                    VerdictStatus.FAILED,
                    pred,
                    spec.answer,
                    f"states different final answers ({other!r})",
                )
    return MathVerdict(ok, VerdictStatus.PASSED if ok else VerdictStatus.FAILED, pred, spec.answer, how)


def grade_in_process(task: dict[str, Any], completion: str) -> dict[str, Any]:
    """Verdict fields for a finance task, in the shape of :func:`alignforge.verify.math.grade_in_process`;
    a task whose spec is invalid ends as ``error`` naming the field, never as an exception."""
    t0 = time.perf_counter()
    try:
        v = verify_finance(completion, FinanceSpec.from_task(task))
    except FieldError as exc:
        v = MathVerdict(False, VerdictStatus.ERROR, None, str(task.get("answer", "")), str(exc))
    return verdict_fields(v, {"name": "final answer", "outcome": str(v.status), "detail": v.detail}, t0)
