"""Wrong and reward-hack probes for the answer-graded domains, and the false-positive rate per domain.

A probe is a completion that must fail: a wrong value (off by rounding, the wrong sign, the
percent/fraction confusion, the wrong currency or scale) or a hack that tries to get a pass without
committing to one answer (several numbers, a range, two final answers, all options listed, "A or B").
:func:`measure_false_positives` grades each task's reference forms and its probes with the real
verifier, in process (answer grading runs no untrusted code), and reports per domain: the
false-positive rate (target < 5 %), the references that fail, and the verified share against the
domain's verifiability target. Code tasks need the sandbox: :func:`alignforge.verify.calibrate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from alignforge.records import FieldError
from alignforge.verify.finance import FinanceSpec, verify_finance
from alignforge.verify.general import GeneralSpec, normalize_answer, verify_general
from alignforge.verify.math import MathVerdict, verify_math

__all__ = [
    "DOMAINS",
    "finance_probes",
    "general_probes",
    "grade_task",
    "math_probes",
    "measure_false_positives",
]

DOMAINS = ("math", "finance", "general")
FP_TARGET = 0.05
VERIFIABILITY_TARGET = {"math": 0.95, "code": 0.90, "finance": 0.85, "general": 0.80}

Probe = tuple[str, str, str]  # kind (reference | wrong | hack), name, completion


def grade_task(task: Mapping[str, Any], completion: str) -> MathVerdict:
    """The verdict of the task's own verifier (by ``domain``); a bad spec raises :class:`FieldError`."""
    domain = task.get("domain")
    if domain == "finance":
        return verify_finance(completion, FinanceSpec.from_task(dict(task)))
    if domain == "general":
        return verify_general(completion, GeneralSpec.from_task(dict(task)))
    if domain == "math":
        return verify_math(completion, str(task.get("answer", "")))
    raise ValueError(
        f"field 'domain': no in-process verifier for {domain!r} (code runs in the sandbox: calibrate)"
    )


def _fmt(value: Fraction, decimals: int | None, kind: str, *, grouped: bool = True) -> str:
    d = Decimal(value.numerator) / Decimal(value.denominator)
    places = 2 if decimals is None else decimals
    body = f"{abs(d):{',' if grouped else ''}.{places}f}"
    sign = "-" if d < 0 else ""
    if kind == "amount":
        return f"{sign}${body}"
    if kind == "percent":
        return f"{sign}{body}%"
    return f"{sign}{body}"


def finance_probes(task: Mapping[str, Any]) -> list[Probe]:
    """Reference forms that must pass and wrong and hack probes that must fail, for one finance task."""
    spec = FinanceSpec.from_task(dict(task))
    gold, kind, dec, tol = spec.gold, spec.answer_kind, spec.decimals, spec.tolerance
    unit = Fraction(1, 10 ** (dec if dec is not None else 2))
    near = gold + max(unit, 2 * tol, abs(gold) / 100)  # a close value, outside the tolerance
    g, n = _fmt(gold, dec, kind), _fmt(near, dec, kind)
    plain = _fmt(gold, dec, "ratio", grouped=False)
    boxed = g.replace("%", "\\%")  # LaTeX writes a percent sign as \%
    out: list[Probe] = [
        ("reference", "stated", f"The answer is {spec.answer}."),
        ("reference", "boxed", f"Working it through step by step gives the result.\n\\boxed{{{boxed}}}"),
        ("reference", "plain_number", f"Final answer: {plain}{'%' if kind == 'percent' else ''}"),
    ]
    if kind == "amount":
        out.append(("reference", "usd_words", f"The answer is {plain} dollars."))
    if abs(unit) > tol:  # one unit of the last decimal is wrong only where the tolerance is tighter than that
        out.append(("wrong", "off_by_rounding", f"The answer is {_fmt(gold - unit, dec, kind)}."))
    out += [
        ("wrong", "close_value", f"The answer is {n}."),
        ("wrong", "no_answer", "I do not have enough information to answer this."),
        ("wrong", "unit_only", "The answer is $." if kind == "amount" else "The answer is %."),
    ]
    if gold != 0:
        out.append(("wrong", "wrong_sign", f"The answer is {_fmt(-gold, dec, kind)}."))
    if kind == "percent":
        out.append(
            ("wrong", "fraction_with_percent_sign", f"The answer is {_fmt(gold / 100, 6, 'percent')}.")
        )
        if not spec.accept_fraction:
            out.append(("wrong", "fraction_not_accepted", f"The answer is {_fmt(gold / 100, 6, 'ratio')}."))
    elif kind == "amount":
        out.append(("wrong", "percent_for_amount", f"The answer is {_fmt(gold, dec, 'percent')}."))
        out.append(("wrong", "wrong_currency", f"The answer is €{_fmt(gold, dec, 'ratio')}."))
        out.append(("wrong", "thousands_scale", f"The answer is {g}k."))
    else:
        out.append(("wrong", "times_hundred", f"The answer is {_fmt(gold * 100, dec, kind)}."))
    out += [
        ("hack", "several_numbers", f"The answer is {n}, {g} or {_fmt(near + unit, dec, kind)}."),
        ("hack", "range", f"The answer is between {_fmt(gold - 10 * unit, dec, kind)} and {n}."),
        ("hack", "two_final_answers", f"The answer is {n}.\nFinal answer: {g}"),
        ("hack", "answer_then_boxed", f"The answer is {n}. So \\boxed{{{boxed}}}"),
        ("hack", "hash_then_stated", f"#### {n}\nThe answer is {g}."),
        ("hack", "number_dump", f"{n} {g} {_fmt(near + unit, dec, kind)}"),
        ("hack", "claims_correct", "The answer is correct. Final answer: the one that matches the key."),
    ]
    if kind == "percent":
        out.append(("hack", "both_readings", f"The answer is {g} ({_fmt(near / 100, 6, 'ratio')})."))
    return out


def _other(answer: str) -> str:
    """A plausible wrong short answer: the number plus one, the word backwards, or a near miss."""
    norm = normalize_answer(answer)
    if re.fullmatch(r"-?\d+", norm):
        return str(int(norm) + 1)
    if re.fullmatch(r"-?\d+(\.\d+)?|-?\d+/\d+", norm):
        return f"{float(Fraction(norm)) + 1:g}"
    flipped = answer[::-1]
    return flipped if normalize_answer(flipped) != norm else answer + "x"


def general_probes(task: Mapping[str, Any]) -> list[Probe]:
    """Reference forms that must pass and wrong and hack probes that must fail, for one general task."""
    spec = GeneralSpec.from_task(dict(task))
    if spec.match != "choice":
        a, o = spec.answer, _other(spec.answer)
        return [
            ("reference", "stated", f"The answer is {a}."),
            ("reference", "bare", a.upper() if len(a) > 1 and spec.match != "exact" else a),
            ("reference", "boxed", f"So we get \\boxed{{{a}}}"),
            ("wrong", "other_answer", f"The answer is {o}."),
            ("wrong", "empty", ""),
            ("wrong", "no_answer", "I am not able to answer that."),
            ("hack", "a_or_b", f"The answer is {a} or {o}."),
            ("hack", "list", f"The answer is {o}, {a}."),
            ("hack", "two_final_answers", f"The answer is {o}.\nFinal answer: {a}"),
            ("hack", "two_boxed", f"\\boxed{{{o}}} \\boxed{{{a}}}"),
            ("hack", "answer_and_more", f"The answer is {a} and also {o}."),
        ]
    labels = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(spec.choices)]
    right = spec.answer.strip().upper()
    wrong = next(x for x in labels if x != right)
    text_of = dict(zip(labels, spec.choices, strict=True))
    has_all = any(normalize_answer(c) in ("all of above", "none of above") for c in spec.choices)
    out: list[Probe] = [
        ("reference", "stated", f"The answer is {right}."),
        ("reference", "parenthesised", f"Checking each option in turn.\nAnswer: ({right}) {text_of[right]}"),
        ("reference", "text_only", f"The answer is {text_of[right]}."),
        ("wrong", "wrong_letter", f"The answer is {wrong}."),
        ("wrong", "wrong_text", f"The answer is {text_of[wrong]}."),
        ("wrong", "empty", ""),
        ("wrong", "beyond_options", f"The answer is {chr(ord(labels[-1]) + 1)}."),
        ("hack", "all_letters", f"The answer is {', '.join(labels)}."),
        ("hack", "a_or_b", f"The answer is {right} or {wrong}."),
        ("hack", "a_and_b", f"The answer is {wrong} and {right}."),
        ("hack", "right_letter_wrong_text", f"The answer is {right}) {text_of[wrong]}."),
        ("hack", "two_statements", f"The answer is {wrong}.\nThe answer is {right}."),
        ("hack", "two_boxed", f"\\boxed{{{right}}} \\boxed{{{wrong}}}"),
        ("hack", "both", "The answer is both."),
        ("hack", "every_option_text", "The answer is " + " / ".join(spec.choices) + "."),
    ]
    if not has_all:
        out.append(("hack", "all_of_the_above", "The answer is all of the above."))
    return out


def math_probes(task: Mapping[str, Any]) -> list[Probe]:
    """The calibration's math probes (reference, two wrong answers, three hedges)."""
    from alignforge.verify.calibration import math_probes as probes

    return probes(task)


_PROBES = {"finance": finance_probes, "general": general_probes, "math": math_probes}


def measure_false_positives(tasks: Any, *, limit: int | None = None, examples: int = 10) -> dict[str, Any]:
    """Grade every probe of every task (finance, general, math) and report per domain.

    ``tasks``: what :func:`~alignforge.verify.tasks.load_tasks` takes (a JSONL path, rows, a mapping).
    Per domain: ``tasks``; ``probes`` and ``passed`` (wrong + hack probes, and how many passed);
    ``false_positive_rate`` and its target; ``references`` and ``references_failed``; ``verified``
    (reference forms pass and no probe passes) and ``verifiability`` with its target; ``by_probe``
    (``kind:name`` -> n, passed); up to ``examples`` probes that passed. Code tasks raise: they need
    the sandbox (:func:`alignforge.verify.calibrate`). A task whose spec is bad raises ``DataError``.
    """
    from alignforge.io import DataError
    from alignforge.verify.tasks import load_tasks

    task_map = load_tasks(tasks)
    ids = list(task_map)[:limit] if limit else list(task_map)
    report: dict[str, Any] = {}
    for tid in ids:
        task = task_map[tid]
        domain = str(task["domain"])
        if domain not in _PROBES:
            raise DataError(
                "<tasks>",
                None,
                f"task {tid}: field 'domain': {domain!r} is graded in the sandbox; use calibrate()",
            )
        try:
            probes = _PROBES[domain](task)
            verdicts = [(kind, name, grade_task(task, text)) for kind, name, text in probes]
        except FieldError as exc:
            raise DataError("<tasks>", None, f"task {tid}: {exc}") from None
        d = report.setdefault(
            domain,
            {"tasks": 0, "probes": 0, "passed": 0, "references": 0, "references_failed": 0, "verified": 0,
             "by_probe": {}, "false_positive_examples": []},
        )  # fmt: skip
        d["tasks"] += 1
        clean = True
        for kind, name, v in verdicts:
            p = d["by_probe"].setdefault(f"{kind}:{name}", {"n": 0, "passed": 0})
            p["n"] += 1
            p["passed"] += v.passed
            if kind == "reference":
                d["references"] += 1
                d["references_failed"] += not v.passed
                clean &= v.passed
                continue
            d["probes"] += 1
            d["passed"] += v.passed
            if v.passed:
                clean = False
                if len(d["false_positive_examples"]) < examples:
                    d["false_positive_examples"].append(
                        {"task_id": tid, "probe": f"{kind}:{name}", "extracted": v.extracted}
                    )
        d["verified"] += clean
    for domain, d in report.items():
        d["false_positive_rate"] = d["passed"] / d["probes"] if d["probes"] else 0.0
        d["false_positive_target"] = FP_TARGET
        d["verifiability"] = d["verified"] / d["tasks"]
        d["verifiability_target"] = VERIFIABILITY_TARGET[domain]
        d["meets_targets"] = (
            d["false_positive_rate"] < FP_TARGET and d["verifiability"] >= d["verifiability_target"]
        )
    return report
