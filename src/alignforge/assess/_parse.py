"""Parsers for each step's answer: tolerant of formatting noise, strict about content.

Each parser takes the model's text (and whether it was cut by ``max_tokens``) and returns
the value or raises :class:`Unparsable` with the reason, which goes into the re-ask and,
after the last try, into the step's one-line error. Nothing here invents a default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

__all__ = [
    "Unparsable",
    "Span",
    "LIKELIHOODS",
    "SEVERITIES",
    "MAX_MINUTES",
    "parse_items",
    "parse_catalog",
    "parse_challenge",
    "parse_implementation",
    "parse_spans",
    "parse_details",
]

LIKELIHOODS = ("high", "medium", "low")  # step 2: how likely a weak implementation makes the mistake
SEVERITIES = ("critical", "major", "minor")  # step 7: how bad an error is
MAX_MINUTES = 240  # step 7: a student's time to find and fix one error, whole minutes 1..240


class Unparsable(ValueError):
    """The answer has no usable content in the expected shape; ``str(exc)`` says why."""


_ITEM = re.compile(r"^\s*(?:\d{1,2}\s*[.):]|[-*•+])\s+(.+?)\s*$")
_MARKUP = re.compile(r"[*_`#]+")
_FENCE_BLOCK = re.compile(r"```[\w+-]*[ \t]*\n(.*?)(?:\n```|\Z)", re.S)


def _clean(item: str) -> str:
    return _MARKUP.sub("", item).strip().strip("\"'").rstrip(" .;,").strip()


def _json_value(text: str) -> Any | None:
    """The first JSON object or array in ``text`` (code fences and chatter around it allowed)."""
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[min(starts) :])
    except ValueError:
        return None
    return value


def _words(s: str) -> int:
    return len(re.findall(r"\w+", s))


def parse_items(
    text: str,
    *,
    truncated: bool = False,
    min_items: int = 2,
    min_words: int = 2,
    examples: tuple[str, ...] = (),
) -> list[str]:
    """Distinct list items from a JSON array of strings or a numbered / bulleted list.

    Duplicates (a small model's repetition loops), items under ``min_words`` words and an
    item cut off by ``max_tokens`` are left out; an item copied from the worked example
    rejects the whole answer.
    """
    value = _json_value(text)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        raw = list(value)
    else:
        raw = [m.group(1) for line in text.splitlines() if (m := _ITEM.match(line))]
        if truncated and raw and text.rstrip().endswith(raw[-1].rstrip()):
            raw = raw[:-1]
    items: list[str] = []
    seen: set[str] = set()
    copied = {e.lower() for e in examples}
    for r in raw:
        item = _clean(r)
        key = item.lower()
        if key in copied:
            raise Unparsable(f"copied the worked example ({item!r}) instead of answering")
        if _words(item) < min_words or key in seen:
            continue
        seen.add(key)
        items.append(item)
    if len(items) < min_items:
        raise Unparsable(
            f"needs a list of at least {min_items} distinct items of {min_words}+ words, found {len(items)}"
        )
    return items


_IMPACT = re.compile(
    r"^(.*?)\s*(?:[-–—:(]\s*)?\b(?:impact|effect|consequence|why)\b\s*[:=-]\s*(.+?)\)?$", re.I
)
_LIKELIHOOD = re.compile(r"\s*[-–—;,|(]*\s*\blikelihood\b\s*[:=-]\s*([^\s,;)]*)\s*\)?", re.I)


def parse_catalog(
    text: str, *, truncated: bool = False, examples: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """2+ error patterns ``N. <error> - Impact: <impact> - Likelihood: high|medium|low``.

    The likelihood (how likely a weak implementation makes the mistake, one of :data:`LIKELIHOODS`)
    is required on every mistake: one without it rejects the answer, which is then re-asked.
    The impact is optional (``None`` when absent).
    """
    items = parse_items(text, truncated=truncated, min_items=2, min_words=3, examples=examples)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        lk = _LIKELIHOOD.search(item)
        value = _clean(lk.group(1)).lower() if lk else ""
        if value not in LIKELIHOODS:
            got = f"got {value!r}" if lk else "none given"
            raise Unparsable(f"mistake {item!r} needs 'Likelihood: high|medium|low' ({got})")
        rest = _clean(item[: lk.start()] + item[lk.end() :]) if lk else item
        m = _IMPACT.match(rest)
        if m and _words(m.group(1)) >= 3:
            error, impact = _clean(m.group(1)), _clean(m.group(2)) or None
        else:
            error, impact = rest, None
        if _words(error) < 3 or error.lower() in seen:
            continue
        seen.add(error.lower())
        out.append({"error": error, "impact": impact, "likelihood": value})
    if len(out) < 2:
        raise Unparsable(f"needs at least 2 distinct mistakes of 3+ words, found {len(out)}")
    return out


_LABELS = {
    "title": "title",
    "task": "task",
    "question": "task",
    "question_text": "task",
    "context": "context",
    "scenario": "context",
    "requirements": "requirements",
    "success criteria": "success_criteria",
    "success_criteria": "success_criteria",
}
_LABEL = re.compile(
    r"^[ \t*#_]*("
    + "|".join(re.escape(k) for k in sorted(_LABELS, key=len, reverse=True))
    + r")[ \t*_]*[:=][ \t*_]*(.*)$",
    re.I,
)


def parse_challenge(
    text: str, *, truncated: bool = False, examples: tuple[str, ...] = (), min_requirements: int = 2
) -> dict[str, Any]:
    """A challenge as a JSON object or labelled lines (``Title:``, ``Task:``, ``Context:``,
    ``Requirements:`` + list, ``Success criteria:``). Title, task (5+ words) and ``min_requirements``
    requirements of 3+ words are required; with ``min_requirements=0`` a missing list is ``[]``."""
    fields: dict[str, Any] = {}
    value = _json_value(text)
    if isinstance(value, dict):
        for k, v in value.items():
            name = _LABELS.get(str(k).lower().replace(" ", "_")) or _LABELS.get(str(k).lower())
            if name:
                fields[name] = v
    else:
        current, parts = None, {}  # type: ignore[var-annotated]
        for line in text.splitlines():
            m = _LABEL.match(line)
            if m:
                current = _LABELS[m.group(1).lower()]
                parts.setdefault(current, []).append(m.group(2))
            elif current is not None:
                parts[current].append(line)
        for name, lines in parts.items():
            fields[name] = "\n".join(lines).strip()
    reqs = fields.get("requirements")
    if isinstance(reqs, list):
        reqs = json.dumps([str(r) for r in reqs])
    if reqs is None and min_requirements == 0:
        reqs = []
    elif not isinstance(reqs, str):
        raise Unparsable("no 'Requirements:' list")
    else:
        try:
            reqs = parse_items(reqs, truncated=truncated, min_items=min_requirements, min_words=3)
        except Unparsable as exc:
            raise Unparsable(f"requirements: {exc}") from None
    text_fields = {
        n: _clean(str(fields.get(n) or "")) or None for n in ("title", "task", "context", "success_criteria")
    }
    title, task = text_fields["title"], text_fields["task"]
    if not title or not task or _words(task) < 5:
        raise Unparsable("needs a 'Title:' and a 'Task:' of at least 5 words")
    if title.lower() in {e.lower() for e in examples}:
        raise Unparsable(f"copied the worked example's title ({title!r})")
    return {**text_fields, "requirements": reqs}


def parse_implementation(text: str, *, truncated: bool = False, task: str = "") -> dict[str, str]:
    """The answer's code: the first fenced block (an unclosed one when cut off), else the whole answer.

    It must hold something: at least 2 non-empty lines or 40 characters, and not be the task repeated.
    """
    m = _FENCE_BLOCK.search(text)
    code = (m.group(1) if m else text).strip("\n")
    body = code.strip()
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if len(lines) < 2 and len(body) < 40:
        raise Unparsable("no implementation: needs at least 2 non-empty lines of code or 40 characters")
    if task and " ".join(body.split()) == " ".join(task.split()):
        raise Unparsable("repeated the task instead of implementing it")
    return {"text": text, "code": code}


@dataclass(frozen=True, slots=True)
class Span:
    """An error span: ``text`` is ``code`` line ``line`` (1-based) at ``start``:``end``, always real code.

    ``quote`` is what the reviewer wrote; it may be a little longer or shorter than ``text``.
    """

    text: str
    line: int
    start: int
    end: int
    problem: str
    quote: str


_SPAN_LABEL = re.compile(
    r"^[ \t*#_\d.)-]*(line|code|span|problem|error|issue|why)[ \t*_]*:[ \t*_]*(.*)$", re.I
)


def _locate(q: str, code_lines: list[str], used: set[int]) -> tuple[int, int, int] | None:
    """``(line index, start, end)`` of ``q`` in the code: an exact hit, else the longest stretch the quote
    shares with one line when it covers 60%+ of the quote and 8+ characters (the reviewer misquoted a
    little); the span is always the code's own text."""
    exact = next(((i, ln.find(q)) for i, ln in enumerate(code_lines) if q in ln and i not in used), None)
    if exact is not None:
        return exact[0], exact[1], exact[1] + len(q)
    best = (0, -1, 0)
    for i, ln in enumerate(code_lines):
        if i in used:
            continue
        m = SequenceMatcher(None, q, ln, autojunk=False).find_longest_match(0, len(q), 0, len(ln))
        if m.size > best[0] and ln[m.b : m.b + m.size].strip():
            best = (m.size, i, m.b)
    size, i, start = best
    if i < 0 or size < max(8, 0.6 * len(q)):
        return None
    text = code_lines[i][start : start + size]
    lead = len(text) - len(text.lstrip())
    return i, start + lead, start + len(text.rstrip())


def parse_spans(text: str, *, code: str) -> tuple[list[Span], list[dict[str, str]]]:
    """``Line: <copied code>`` / ``Problem: <why>`` pairs whose quote is found in ``code`` (see ``_locate``).

    Returns the spans kept and the ones dropped, each with its reason; at least one must be kept.
    """
    pairs: list[list[str]] = []
    for line in text.splitlines():
        m = _SPAN_LABEL.match(line)
        if not m:
            continue
        label, value = m.group(1).lower(), m.group(2).strip()
        if label in ("line", "code", "span"):
            pairs.append([value, ""])
        elif pairs and not pairs[-1][1]:
            pairs[-1][1] = _clean(value)
    code_lines = code.splitlines()
    kept: list[Span] = []
    dropped: list[dict[str, str]] = []
    used: set[int] = set()
    for quote, problem in pairs:
        q = quote.strip().strip("`\"'").strip()
        hit = None
        if len(q.replace(" ", "")) < 4:
            reason = "quote shorter than 4 characters"
        elif _words(problem) < 3:
            reason = "no 'Problem:' of 3+ words after it"
        else:
            hit = _locate(q, code_lines, used)
            reason = "quote is not on a line of the weak implementation (or that line is already used)"
        if hit is None:
            dropped.append({"quote": quote, "problem": problem, "reason": reason})
            continue
        i, start, end = hit
        used.add(i)
        kept.append(Span(code_lines[i][start:end], i + 1, start, end, problem, q))
    if not kept:
        why = dropped[0]["reason"] if dropped else "no 'Line:' / 'Problem:' pairs"
        raise Unparsable(f"no error span copied from the weak implementation ({why})")
    return kept, dropped


_DETAIL_LABELS = {
    "fix": "fix",
    "correction": "fix",
    "concept": "concept",
    "severity": "severity",
    "learning": "learning_value",
    "learning value": "learning_value",
    "learning objective": "learning_value",
    "minutes": "minutes",
    "time": "minutes",
    "time estimate": "minutes",
    "estimated time": "minutes",
}
_DETAIL_LABEL = re.compile(
    r"^[ \t*#_\d.)-]*("
    + "|".join(re.escape(k) for k in sorted(_DETAIL_LABELS, key=len, reverse=True))
    + r")[ \t*_]*[:=][ \t*_]*(.*)$",
    re.I,
)
_MINUTES = re.compile(r"^~?\s*(\d{1,4})\s*(?:min|mins|minute|minutes)?$", re.I)
_DETAIL_FORMAT = "Fix, Concept, Severity, Learning, Minutes"


def parse_details(
    text: str, *, truncated: bool = False, span: str = "", examples: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Step 7's teaching fields for one error span, as labelled lines, every one required::

        Fix: <the corrected code or change>      (not the wrong code again)
        Concept: <the concept the error tests>
        Severity: critical | major | minor
        Learning: <what a student learns from it, 3+ words>
        Minutes: <whole minutes a student needs, 1-240>

    The first value of each label counts (small models loop); a value cut off by
    ``max_tokens`` is not used; a value copied from the worked example rejects the answer.
    """
    fields: dict[str, list[str]] = {}
    current: str | None = None
    last: tuple[str, str] | None = None  # (field, its last line)
    for line in text.splitlines():
        m = _DETAIL_LABEL.match(line)
        if m:
            name = _DETAIL_LABELS[m.group(1).lower()]
            current = None if name in fields else name
            if current is not None:
                fields[current] = [m.group(2)]
                last = (current, m.group(2))
        elif current == "fix" and line.strip() and not line.strip().startswith("```"):
            fields["fix"].append(line)  # a fix may be a few lines of code
            last = ("fix", line)
    if truncated and last and last[1].strip() and text.rstrip().endswith(last[1].rstrip()):
        del fields[last[0]]
    values = {k: "\n".join(v).strip().strip("`").strip() for k, v in fields.items()}
    for k in ("concept", "learning_value", "severity", "minutes"):
        if k in values:
            values[k] = _clean(values[k])
    order = ("fix", "concept", "severity", "learning_value", "minutes")
    missing = [k for k in order if not values.get(k)]
    if missing:
        names = ", ".join(f"'{k.split('_')[0].capitalize()}:'" for k in missing)
        raise Unparsable(f"missing {names} (every one of {_DETAIL_FORMAT} is needed)")
    for k in order:
        if re.fullmatch(r"<[^<>]*>", values[k]):
            raise Unparsable(f"copied the format's placeholder {values[k]!r} instead of answering")
    severity = values["severity"].lower()
    if severity not in SEVERITIES:
        raise Unparsable(f"'Severity:' must be one of critical, major, minor, got {values['severity']!r}")
    mm = _MINUTES.match(values["minutes"])
    minutes = int(mm.group(1)) if mm else 0
    if not 1 <= minutes <= MAX_MINUTES:
        raise Unparsable(
            f"'Minutes:' must be a whole number of minutes from 1 to {MAX_MINUTES}, got {values['minutes']!r}"
        )
    if _words(values["learning_value"]) < 3:
        raise Unparsable(f"'Learning:' needs 3+ words, got {values['learning_value']!r}")
    if len(values["fix"].replace(" ", "")) < 4:
        raise Unparsable(f"'Fix:' needs the corrected code or change, got {values['fix']!r}")
    if span and " ".join(values["fix"].split()) == " ".join(span.split()):
        raise Unparsable("'Fix:' repeats the wrong code instead of correcting it")
    copied = {_clean(e).lower() for e in examples}
    for k in ("fix", "concept", "learning_value"):
        if _clean(values[k]).lower() in copied:
            raise Unparsable(f"copied the worked example ({values[k]!r}) instead of answering")
    return {
        "fix": values["fix"],
        "concept": values["concept"],
        "severity": severity,
        "learning_value": values["learning_value"],
        "minutes": minutes,
    }
