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
    "parse_items",
    "parse_catalog",
    "parse_challenge",
    "parse_implementation",
    "parse_spans",
]


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


def parse_catalog(
    text: str, *, truncated: bool = False, examples: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """2+ error patterns ``N. <error> - Impact: <impact>``; the impact part is optional (``None`` when absent)."""
    items = parse_items(text, truncated=truncated, min_items=2, min_words=3, examples=examples)
    out = []
    for item in items:
        m = _IMPACT.match(item)
        if m and _words(m.group(1)) >= 3:
            out.append({"error": _clean(m.group(1)), "impact": _clean(m.group(2)) or None})
        else:
            out.append({"error": item, "impact": None})
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
