"""Math and general-domain verifiers: extract the final answer, then grade it (pure functions).

Numbers are compared as numbers (``18`` = ``18.0``, ``1,000`` = ``1000``, ``3/4`` =
``0.75``); anything else goes through ``math-verify``. math-verify's own timeouts use
SIGALRM, which only works on a process's main thread: off the main thread they are
switched off here, and the engine runs grading in worker processes whose main thread
does the work, so its limits hold there.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from alignforge.records import VerdictStatus

__all__ = [
    "MathVerdict",
    "extract_answer",
    "final_answers",
    "verify_math",
    "verify_choice",
    "verify_exact",
    "grade_in_process",
]

_ANSWER_IS = re.compile(
    r"(?<![/\w])(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?:\.\s|\.?$|\n)", re.I | re.M
)
_HASH = re.compile(r"^\s*####\s*(.+?)\s*$", re.M)
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")


@dataclass(slots=True)
class MathVerdict:
    passed: bool
    status: VerdictStatus  # passed | failed | error (a plain string is taken as its member)
    extracted: str | None
    answer: str
    detail: str = ""

    def __post_init__(self) -> None:
        self.status = VerdictStatus(self.status)

    @property
    def reward(self) -> float:
        return 1.0 if self.passed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reward": self.reward}


def _status(ok: bool) -> VerdictStatus:
    return VerdictStatus.PASSED if ok else VerdictStatus.FAILED


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


def _boxed(text: str) -> list[str]:
    return [b for _, b in _boxed_at(text)]


_STYLES = ("boxed", "hash", "answer_is")  # extraction priority


def _stated(text: str) -> list[tuple[int, str, str]]:
    """(position, style, answer) for every final answer the text states, in text order."""
    found = [(pos, "boxed", b) for pos, b in _boxed_at(text)]
    found += [(m.start(), "hash", m.group(1)) for m in _HASH.finditer(text)]
    for m in _ANSWER_IS.finditer(text):
        value = m.group(1).strip().rstrip(".").strip("$ ")
        if "\\boxed" not in value and "\\fbox" not in value:  # "the answer is $\\boxed{4}$": listed once
            found.append((m.start(), "answer_is", value))
    return sorted((f for f in found if f[2]), key=lambda f: f[0])


def final_answers(text: str) -> list[str]:
    """Every final answer the text states (boxed, ``#### n``, "the answer is"), in text order."""
    return [answer for _, _, answer in _stated(text)]


def extract_answer(text: str) -> str | None:
    """The final answer: last ``\\boxed{}``, else GSM8K ``#### n``, else "the answer is", else the last number."""
    stated = _stated(text)
    for style in _STYLES:
        of_style = [answer for _, s, answer in stated if s == style]
        if of_style:
            return of_style[-1]
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    nums = _NUMBER.findall(lines[-1]) if lines else []
    return nums[-1] if nums else None


# "therefore 18 apples" claims 18; a phrase with three or more words is prose ("our answer is correct").
_WITH_WORDS = re.compile(r"(?:[A-Za-z]+\s+){0,3}(-?\$?\d[\d,]*(?:\.\d+)?%?)(?:\s+[A-Za-z][A-Za-z ]*)?")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_CALCULATOR = re.compile(r"<<[^<>\n]*>>")  # GSM8K's calculator annotations: <<6*3=18>>


def _claims(text: str) -> list[str]:
    """The final answers a text is held to: every boxed and ``####`` answer, and each "the answer
    is ..." that states a number or some mathematics (prose after "answer:" is no claim)."""
    out = []
    for _, style, answer in _stated(_CALCULATOR.sub("", text)):
        if style == "answer_is":
            m = _WITH_WORDS.fullmatch(answer)
            if m:
                answer = m.group(1)
            elif len(_PROSE_WORD.findall(answer)) >= 3 or not re.search(r"\d|\\[A-Za-z]|[\^=/{}]", answer):
                continue
        out.append(answer)
    return out


def _as_number(text: str) -> Fraction | None:
    s = text.strip().strip("$").replace("\\!", "").replace("\\,", "").replace(" ", "")
    s = re.sub(r"\\(?:text|mbox|mathrm)\{[^}]*\}", "", s).rstrip(".").replace("\\$", "").lstrip("$")
    s = s.replace("dollars", "").replace("%", "").replace("\\%", "")
    m = re.fullmatch(r"\\d?frac\{(-?\d+)\}\{(-?\d+)\}", s)
    if m:
        return Fraction(int(m.group(1)), int(m.group(2))) if int(m.group(2)) else None
    m = re.fullmatch(r"(-?\d+)/(-?\d+)", s)
    if m:
        return Fraction(int(m.group(1)), int(m.group(2))) if int(m.group(2)) else None
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)(e-?\d+)?", s):
        try:
            return Fraction(s)
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _norm(text: str) -> str:
    s = re.sub(r"\\(?:left|right|displaystyle|!|,|;)", "", text)
    s = re.sub(r"\\(?:text|mbox|mathrm)\{([^}]*)\}", r"\1", s)
    return re.sub(r"\s+", "", s).strip("$.").replace("\\dfrac", "\\frac").replace("^\\circ", "").lower()


def _equivalent(pred: str, gold: str) -> tuple[bool, str]:
    a, b = _as_number(pred), _as_number(gold)
    if a is not None and b is not None:
        return a == b or abs(a - b) <= abs(b) * Fraction(1, 10**9), "numeric"
    if _norm(pred) == _norm(gold):
        return True, "normalized string"
    from alignforge._deps import require

    mv = require("math_verify", extra="math", package="math-verify")
    main = threading.current_thread() is threading.main_thread()
    tkw: dict[str, Any] = {} if main else {"parsing_timeout": None}
    vkw: dict[str, Any] = {} if main else {"timeout_seconds": None}
    latex_only = [mv.LatexExtractionConfig()]  # the plain-expression extractor eval()s text via sympy
    g = mv.parse(f"${gold}$", extraction_config=latex_only, **tkw)
    p = mv.parse(f"${pred}$", extraction_config=latex_only, **tkw)
    if not g or not p:
        return False, "math-verify could not parse"
    return bool(mv.verify(g, p, **vkw)), "math-verify"


def verify_math(completion: str, answer: str) -> MathVerdict:
    """Grade a completion against a gold answer; two different final answers count as wrong."""
    gold = extract_answer(answer) if ("####" in answer or "\\boxed" in answer) else answer.strip()
    gold = gold or answer.strip()
    pred = extract_answer(completion)
    if pred is None:
        return MathVerdict(False, VerdictStatus.FAILED, None, gold, "no final answer found")
    try:
        ok, how = _equivalent(pred, gold)
        if ok:  # every answer it states, in any style, must be the gold one: hedging is wrong
            for other in dict.fromkeys(c for c in _claims(completion) if c != pred):
                if not _equivalent(other, gold)[0]:
                    return MathVerdict(
                        False, VerdictStatus.FAILED, pred, gold, f"states different final answers ({other!r})"
                    )
    except Exception as exc:  # math-verify timeouts and parse errors end as an error, never a pass
        return MathVerdict(False, VerdictStatus.ERROR, pred, gold, f"{type(exc).__name__}: {exc}")
    return MathVerdict(ok, _status(ok), pred, gold, how)


_CHOICE = re.compile(r"(?:answer|option|choice)\s*(?:is|:)?\s*\(?\s*([A-Z1-9])\b\)?", re.I)


def verify_choice(completion: str, answer: str, *, labels: str = "ABCDE") -> MathVerdict:
    """Multiple choice: the stated option letter (boxed, "answer is (B)", or a lone last letter)."""
    found = _boxed(completion) or _CHOICE.findall(completion)
    if not found:
        found = re.findall(
            rf"\b([{labels}])\b", completion.strip().splitlines()[-1] if completion.strip() else ""
        )
    picks = [f.strip("() ").upper() for f in found if f.strip("() ")]
    if len({p for p in picks if p in labels}) > 1 and picks[-1] != picks[0]:
        return MathVerdict(False, VerdictStatus.FAILED, picks[-1], answer, "states different options")
    if not picks:
        return MathVerdict(False, VerdictStatus.FAILED, None, answer, "no option found")
    ok = picks[-1] == answer.strip().upper()
    return MathVerdict(ok, _status(ok), picks[-1], answer, "choice")


def verify_exact(completion: str, answer: str) -> MathVerdict:
    """Exact match after whitespace, case and final-punctuation normalisation."""
    pred = extract_answer(completion) or completion
    ok = " ".join(pred.split()).strip(" .").lower() == " ".join(answer.split()).strip(" .").lower()
    return MathVerdict(ok, _status(ok), pred, answer, "exact")


def grade_in_process(task: dict[str, Any], completion: str) -> dict[str, Any]:
    """Verdict fields for an answer-graded task (used by the engine in worker processes)."""
    t0 = time.perf_counter()
    answer = str(task.get("answer", ""))
    if task.get("domain") == "math":
        v = verify_math(completion, answer)
    elif task.get("choices") or task.get("verification") == "choice":
        v = verify_choice(completion, answer)
    else:
        v = verify_exact(completion, answer)
    test = {
        "name": "final answer",
        "outcome": "passed" if v.passed else ("error" if v.status is VerdictStatus.ERROR else "failed"),
    }
    if v.detail:
        test["detail"] = v.detail
    return verdict_fields(v, test, t0)


def verdict_fields(v: MathVerdict, test: dict[str, Any], t0: float) -> dict[str, Any]:
    """The engine's verdict fields for an answer-graded verdict ``v`` (one test, timed from ``t0``);
    shared by the math, finance and general graders."""
    return {
        "passed": v.passed,
        "reward": v.reward,
        "status": v.status,
        "tests": [test],
        "duration_s": round(time.perf_counter() - t0, 6),
        "extracted": v.extracted,
    }
