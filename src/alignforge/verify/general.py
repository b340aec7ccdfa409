"""General-domain verifier: short answers by normalised match, multiple choice by the one option named.

Short answer: the final answer (boxed, "the answer is ...", else the last line) and the reference are
both normalised (Unicode NFKC, case, punctuation, whitespace, the articles *a*, *an*, *the*, number
words to digits: "twenty-one" = "21", "one hundred and five" = "105", numbers compared as numbers:
"21.0" = "21", "1,000" = "1000", "1/2" = "0.5"), a trailing unit word the task lists is dropped
("210 minutes" = "210"), and the two must be equal; aliases the task lists are accepted too. Nothing
looser: "Paris, France" is not "Paris", and "Paris or London" is wrong.

Multiple choice: the answer statement must name exactly one option, by its letter (``B``, ``(B)``,
``B)``, ``\\boxed{B}``, "option B") or by its text. A statement naming several (``A or B``, ``A, B``,
the right letter with another option's text, "all of the above" or "both" where that is no option)
fails, as do a negated pick ("not A") and several answer statements that disagree. It is never accepted for listing options.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from alignforge.records import FieldError, VerdictStatus
from alignforge.verify.math import MathVerdict, verdict_fields

__all__ = [
    "GeneralSpec",
    "choice_picks",
    "extract_answer",
    "final_answers",
    "grade_in_process",
    "normalize_answer",
    "verify_general",
    "verify_multiple_choice",
    "verify_short_answer",
    "words_to_numbers",
]

NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
"""zero .. nineteen: the words below twenty (the generator writes numbers with them too)."""

_ONES = {w: i for i, w in enumerate(NUMBER_WORDS)}
_TENS = {
    w: 10 * i
    for i, w in enumerate(
        ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
    if i > 1
}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_ARTICLES = {"a", "an", "the"}
_LEAD_IN = re.compile(r"^(?:it is|it's|it’s|that is|this is|that's|so|thus|therefore|hence)\s*[:,]?\s+", re.I)


def _number_run(words: list[str], i: int) -> tuple[int, int] | None:
    """(value, words used) of the number words starting at ``words[i]``, or None."""
    total = current = 0
    j, last = i, ""
    while j < len(words):
        w = words[j]
        if w in _ONES and last in ("", "tens", "hundred", "scale"):
            if last == "tens" and _ONES[w] >= 10:
                break
            current += _ONES[w]
            last = "ones"
        elif w in _TENS and last in ("", "hundred", "scale"):
            current += _TENS[w]
            last = "tens"
        elif w == "hundred" and last in ("ones", "tens") and current < 100:
            current *= 100
            last = "hundred"
        elif w in _SCALES and last in ("ones", "tens", "hundred"):
            total += current * _SCALES[w]
            current = 0
            last = "scale"
        elif w == "and" and last in ("hundred", "scale") and j + 1 < len(words):
            nxt = words[j + 1]
            if nxt not in _ONES and nxt not in _TENS:
                break
        else:
            break
        j += 1
    while j > i and words[j - 1] == "and":
        j -= 1
    return (total + current, j - i) if j > i else None


def words_to_numbers(words: list[str]) -> list[str]:
    """Number words to digits in a list of lower-case words ("twenty one" -> "21")."""
    out, i = [], 0
    while i < len(words):
        run = _number_run(words, i)
        if run:
            out.append(str(run[0]))
            i += run[1]
        else:
            out.append(words[i])
            i += 1
    return out


def _canon_number(word: str) -> str:
    m = re.fullmatch(r"-?(\d+(\.\d+)?|\.\d+)(/\d+)?", word)
    if not m:
        return word
    try:
        value = Fraction(word)
    except (ValueError, ZeroDivisionError):
        return word
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def normalize_answer(text: str, *, units: tuple[str, ...] = ()) -> str:
    """The form two short answers are compared in (see the module docstring); ``units``: trailing words dropped."""
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 1,000 -> 1000
    s = re.sub(r"(?<![\w.])-(?=\d)", " \x00", s)  # a minus sign survives the punctuation pass
    s = re.sub(r"(?<!\d)[./]|[./](?!\d)", " ", s)  # a point or a slash stays only between digits
    s = re.sub(r"[^\w\s./\x00]|_", " ", s).replace("\x00", "-")
    words = [_canon_number(w) for w in words_to_numbers(s.split())]
    for i in range(len(words) - 1, 0, -1):  # "negative five", "minus 5" -> -5
        after_number = i >= 2 and re.fullmatch(r"-?\d[\d./]*", words[i - 2])  # "five minus two" stays
        if (
            words[i - 1] in ("negative", "minus")
            and re.fullmatch(r"\d[\d./]*", words[i])
            and not after_number
        ):
            words[i - 1 : i + 1] = [_canon_number("-" + words[i])]
    kept = [w for w in words if w not in _ARTICLES]
    words = kept or words  # "A" (the letter) is an answer, not an article
    drop = {u.lower() for u in units} | {u.lower().rstrip("s") for u in units}
    if len(words) > 1 and words[-1] in drop:
        words = words[:-1]
    return " ".join(words)


_ANSWER_IS = re.compile(r"(?<![/\w])(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(?=\S)", re.I)
# A period after one of these does not end the answer's sentence: titles and the like ("St. Louis",
# "Dr. Seuss", "Mt. Everest") never end one; after an abbreviation that can ("U.S.", "e.g.", "Inc."),
# the sentence goes on unless the next word opens a new one ("the U.S. It has ..." ends at "U.S").
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "mt",
        "ft",
        "jr",
        "sr",
        "prof",
        "gen",
        "col",
        "capt",
        "lt",
        "sgt",
        "rev",
        "hon",
        "gov",
        "sen",
        "rep",
        "pres",
        "no",
        "nos",
        "vs",
        "fig",
        "ave",
        "blvd",
    ]
)
_ENDING_ABBREVIATIONS = frozenset(["etc", "inc", "ltd", "co", "corp", "approx", "dept", "univ", "bros"])
_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, e.g, i.e, a.m, D.C (their last period is cut)
_OPENERS = frozenset(
    [
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "the",
        "a",
        "an",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "there",
        "here",
        "so",
        "thus",
        "therefore",
        "hence",
        "because",
        "since",
        "but",
        "and",
        "or",
        "however",
        "also",
        "then",
        "note",
        "final",
        "answer",
    ]
)
_PERIOD = re.compile(r"\.(?=[ \t]+(\S*))")


def _first_sentence(line: str) -> str:
    """``line`` up to the period that ends its first sentence, without that period (see ``_TITLES``)."""
    for m in _PERIOD.finditer(line):
        word = re.search(r"[\w.]*$", line[: m.start()]).group(0)  # type: ignore[union-attr]
        if word.lower() in _TITLES:
            continue
        if word.lower() in _ENDING_ABBREVIATIONS or _DOTTED.fullmatch(word):
            nxt = re.sub(r"\W+", "", m.group(1))
            if nxt and (not nxt[0].isupper() or nxt.lower() not in _OPENERS):
                continue  # a new sentence opens with a capital: "U.S. It ...", not "e.g. the ..."
        return line[: m.start()]
    return line.rstrip().removesuffix(".")


def _boxed(text: str) -> list[tuple[int, str]]:
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.start(), text[m.end() : i - 1].strip()))
    return out


def final_answers(text: str) -> list[str]:
    """Every final answer the text states (boxed, "the answer is ..."), in text order."""
    plain = text.replace("**", "")
    found = [(p, b) for p, b in _boxed(plain)]
    pos = 0
    while m := _ANSWER_IS.search(plain, pos):
        line_end = plain.find("\n", m.end())
        answer = _first_sentence(plain[m.end() : line_end if line_end >= 0 else len(plain)])
        pos = m.end() + len(answer) + 1
        if "\\boxed" not in answer:
            found.append((m.start(), answer.strip()))
    return [a for _, a in sorted(found) if a.strip(" .\"'")]


def extract_answer(text: str) -> str | None:
    """The final answer: the last boxed one, else the last "the answer is ...", else the last line."""
    boxed = _boxed(text.replace("**", ""))
    if boxed:
        return boxed[-1][1]
    stated = final_answers(text)
    if stated:
        return stated[-1]
    lines = [ln.strip() for ln in text.replace("**", "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else None


def _clean_statement(s: str) -> str:
    s = _LEAD_IN.sub("", s.strip().strip("\"'“”‘’`").strip())
    return s.strip().rstrip(".!").strip().strip("\"'“”‘’`")


@dataclass(frozen=True, slots=True)
class GeneralSpec:
    """How a general task is graded: ``match`` ``normalized`` (short answer), ``exact`` (short answer,
    only surrounding whitespace and a final period ignored) or ``choice`` (``answer`` is the letter)."""

    answer: str
    match: str = "normalized"
    aliases: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    choices: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.match not in ("normalized", "exact", "choice"):
            raise FieldError(
                "metadata.verifier.match", f"expected normalized, exact or choice, got {self.match!r}"
            )
        if self.match == "choice":
            if len(self.choices) < 2 or len(self.choices) > 26:
                raise FieldError(
                    "choices", f"a multiple-choice task needs 2-26 choices, got {len(self.choices)}"
                )
            if self.answer.strip().upper() not in _labels(len(self.choices)):
                raise FieldError(
                    "answer",
                    f"expected one of the option letters {_labels(len(self.choices))}, got {self.answer!r}",
                )
        elif not self.answer.strip():
            raise FieldError("answer", "is empty")

    @classmethod
    def from_task(cls, task: dict[str, Any]) -> GeneralSpec:
        """The spec from a task row (``answer``, ``choices``, ``metadata.verifier``); errors name the field."""
        meta = task.get("metadata") or {}
        v = meta.get("verifier") if isinstance(meta, dict) else None
        v = v if isinstance(v, dict) else {}
        if v.get("type", "general") != "general":
            raise FieldError("metadata.verifier.type", f"expected 'general', got {v.get('type')!r}")
        unknown = set(v) - {"type", "match", "aliases", "units"}
        if unknown:
            raise FieldError(f"metadata.verifier.{sorted(unknown)[0]}", "unknown key")
        if "answer" not in task:
            raise FieldError("answer", "is missing (a general task needs its reference answer)")
        choices = task.get("choices") or ()
        if not isinstance(choices, list | tuple) or not all(isinstance(c, str) for c in choices):
            raise FieldError("choices", "expected a list of option texts")
        return cls(
            answer=str(task["answer"]),
            match=v.get("match", "choice" if choices else "normalized"),
            aliases=tuple(str(a) for a in v.get("aliases", ())),
            units=tuple(str(u) for u in v.get("units", ())),
            choices=tuple(choices),
        )


def _labels(n: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n]


def _short_ok(pred: str, spec: GeneralSpec) -> bool:
    if spec.match == "exact":
        return pred.strip().rstrip(".").strip() == spec.answer.strip().rstrip(".").strip()
    got = normalize_answer(pred, units=spec.units)
    return bool(got) and any(
        got == normalize_answer(g, units=spec.units) for g in (spec.answer, *spec.aliases)
    )


def verify_short_answer(completion: str, spec: GeneralSpec) -> MathVerdict:
    """Grade a short answer; every final answer the completion states must match (hedging is wrong)."""
    pred = extract_answer(completion)
    pred = _clean_statement(pred) if pred is not None else None
    if not pred:
        return MathVerdict(False, VerdictStatus.FAILED, None, spec.answer, "no final answer found")
    ok = _short_ok(pred, spec)
    if ok:
        for other in dict.fromkeys(_clean_statement(a) for a in final_answers(completion)):
            if other != pred and not _short_ok(other, spec):
                return MathVerdict(
                    False,
                    VerdictStatus.FAILED,
                    pred,
                    spec.answer,
                    f"states different final answers ({other!r})",
                )
    detail = (
        f"{spec.match} match" if ok else f"{normalize_answer(pred, units=spec.units)!r} is not the answer"
    )
    return MathVerdict(ok, VerdictStatus.PASSED if ok else VerdictStatus.FAILED, pred, spec.answer, detail)


# Words naming several options, unless one option's text is exactly that.
_SEVERAL = ("all of the above", "none of the above", "all of them", "none of them", "both", "neither", "all")
_CUT = re.compile(r"\s(?:because|since|as it|as the|due to|which|given that)\b|[;—]|\s-\s", re.I)
_NEGATION = re.compile(r"\b(?:not|isn t|never|except|excluding|nor)\b")
_LETTER = re.compile(r"(?<![A-Za-z0-9'’])\(?([A-Z])\)?(?![A-Za-z0-9'’])")
_AFTER_ARTICLE = re.compile(r"\s+(?!(?:or|and|nor|is|was|would|seems|plus|then)\b)[a-z]")


def _find_phrase(hay: list[str], needle: list[str]) -> list[tuple[int, int]]:
    n = len(needle)
    return [(i, i + n) for i in range(len(hay) - n + 1) if n and hay[i : i + n] == needle]


def choice_picks(statement: str, choices: tuple[str, ...] | list[str]) -> tuple[set[str], str]:
    """The option letters one answer statement names (by letter or by text), and a note on why when
    it names something other than single options ("all of the above" that is no option)."""
    labels = _labels(len(choices))
    s = _CUT.split(_clean_statement(statement), maxsplit=1)[0]
    letters: set[str] = set()
    if re.fullmatch(r"\(?([a-z])\)?", s.strip()) and s.strip("() ").upper() in labels:
        letters.add(s.strip("() ").upper())  # a lone lower-case letter: "b"
    bare = s  # letters are looked for outside the option texts ("Vitamin C" names no option C)
    for text in sorted(choices, key=len, reverse=True):
        if text.strip():
            bare = re.sub(rf"(?<!\w){re.escape(text.strip())}(?!\w)", " ", bare, flags=re.I)
    for m in _LETTER.finditer(bare):
        letter = m.group(1)
        if letter in ("A", "I") and not m.group(0).startswith("(") and _AFTER_ARTICLE.match(bare, m.end()):
            continue  # "A bank", "I think": an article or a pronoun, not an option
        if letter in labels or (labels and labels[-1] < letter <= "H"):
            letters.add(letter)  # "E" where the options end at D picks no option, but it is a pick
    words = normalize_answer(s).split()
    spans: list[tuple[int, int, str]] = []
    for label, text in zip(labels, choices, strict=True):
        spans += [(a, b, label) for a, b in _find_phrase(words, normalize_answer(text).split())]
    spans.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    texts: set[str] = set()
    covered: set[int] = set()
    for a, b, label in spans:  # the longest match wins where option texts overlap ("Paris" in "Paris, Texas")
        if not covered & set(range(a, b)):
            texts.add(label)
            covered |= set(range(a, b))
    rest = " ".join(w for i, w in enumerate(words) if i not in covered)
    negated = _NEGATION.search(rest)
    if negated:  # "not A", "anything except B": no single option is claimed
        return letters | texts | {"*"}, f"negates an option ({negated.group(0)!r})"
    for phrase in _SEVERAL:
        if re.search(rf"\b{phrase}\b", rest):
            return letters | texts | {"*"}, f"names several options ({phrase!r})"
    return letters | texts, ""


def verify_multiple_choice(completion: str, spec: GeneralSpec) -> MathVerdict:
    """Grade a multiple-choice answer: exactly one option named, in every answer statement, and it is right."""
    statements = final_answers(completion)
    if not statements:
        last = extract_answer(completion)
        statements = [last] if last else []
    if not statements:
        return MathVerdict(False, VerdictStatus.FAILED, None, spec.answer, "no option found")
    picks = [choice_picks(s, spec.choices) for s in statements]
    final, why = picks[-1]
    pred = ",".join(sorted(final)) or None
    if why or len(final) > 1:
        return MathVerdict(
            False, VerdictStatus.FAILED, pred, spec.answer, why or f"names several options ({pred})"
        )
    if not final:
        return MathVerdict(False, VerdictStatus.FAILED, None, spec.answer, "no option found")
    if any(p != final for p, _ in picks[:-1]):
        return MathVerdict(False, VerdictStatus.FAILED, pred, spec.answer, "states different options")
    ok = final == {spec.answer.strip().upper()}
    return MathVerdict(ok, VerdictStatus.PASSED if ok else VerdictStatus.FAILED, pred, spec.answer, "choice")


def verify_general(completion: str, spec: GeneralSpec) -> MathVerdict:
    """Grade by the spec's ``match``: multiple choice or short answer."""
    if spec.match == "choice":
        return verify_multiple_choice(completion, spec)
    return verify_short_answer(completion, spec)


def grade_in_process(task: dict[str, Any], completion: str) -> dict[str, Any]:
    """Verdict fields for a general task, in the shape of :func:`alignforge.verify.math.grade_in_process`;
    an invalid task ends as ``error`` naming the field, never as an exception."""
    t0 = time.perf_counter()
    try:
        v = verify_general(completion, GeneralSpec.from_task(task))
    except FieldError as exc:
        v = MathVerdict(False, VerdictStatus.ERROR, None, str(task.get("answer", "")), str(exc))
    return verdict_fields(v, {"name": "final answer", "outcome": str(v.status), "detail": v.detail}, t0)
