"""Strict parsing of judge answers: the format is anchored, a number is never guessed.

Accepted forms (anything else is ``None`` -> the caller records ``parse_failed``):

* ``Score: 7`` (or ``7.5``, ``7/10``, markdown bold around the label) on its own line,
  exactly one such line, optionally followed by ``Rationale: ...``;
* a JSON object ``{"score": 7, "rationale": "..."}`` as the whole answer (code fences allowed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

__all__ = ["ParsedScore", "parse_score", "parse_choice", "parse_yes_no_fields"]

_NUM = r"(\d{1,2}(?:\.\d+)?)"
_SCORE_LINE = re.compile(
    rf"^[ \t*#_]*score[ \t*_]*[:=][ \t*_]*{_NUM}[ \t]*(?:/[ \t]*10)?[ \t*_.]*$", re.I | re.M
)
_ANY_SCORE_LABEL = re.compile(r"\bscore[ \t*_]*[:=]", re.I)  # anywhere: a second score is ambiguous
_RATIONALE = re.compile(
    r"^[ \t*#_]*(?:rationale|reason|explanation)[ \t*_]*[:=][ \t*_]*(.*)", re.I | re.M | re.S
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


@dataclass(frozen=True, slots=True)
class ParsedScore:
    score: float
    rationale: str


def _parse_json(text: str, lo: float, hi: float) -> ParsedScore | None:
    body = text.strip()
    m = _FENCE.match(body)
    if m:
        body = m.group(1)
    if not (body.startswith("{") and body.endswith("}")):
        return None
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    score = obj.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not lo <= score <= hi:
        return None
    rationale = obj.get("rationale", "")
    return ParsedScore(float(score), rationale if isinstance(rationale, str) else "")


def parse_score(text: str, *, lo: float = 0.0, hi: float = 10.0) -> ParsedScore | None:
    """The score in ``text`` when it follows the format exactly, else ``None``.

    Two ``Score:`` labels, a label without a clean number after it, or a number out of
    ``[lo, hi]`` all fail: an ambiguous answer is not a score.
    """
    if not text or not text.strip():
        return None
    parsed = _parse_json(text, lo, hi)
    if parsed is not None:
        return parsed
    labels = _ANY_SCORE_LABEL.findall(text)
    matches = _SCORE_LINE.findall(text)
    if len(labels) != 1 or len(matches) != 1:
        return None
    value = float(matches[0])
    if not lo <= value <= hi:
        return None
    m = _RATIONALE.search(text)
    rationale = m.group(1).strip() if m else ""
    return ParsedScore(value, rationale)


def parse_choice(text: str, label: str, choices: tuple[str, ...]) -> str | None:
    """``Label: <choice>`` on exactly one line (case-insensitive); the choice lower-cased, else ``None``."""
    alts = "|".join(re.escape(c) for c in choices)
    pat = re.compile(rf"^[ \t*#_]*{re.escape(label)}[ \t*_]*:[ \t*_]*({alts})[ \t*_.]*$", re.I | re.M)
    any_label = re.compile(rf"^[ \t*#_]*{re.escape(label)}[ \t*_]*:", re.I | re.M)
    found = pat.findall(text or "")
    if len(found) != 1 or len(any_label.findall(text or "")) != 1:
        return None
    return found[0].lower()


def parse_yes_no_fields(text: str, labels: tuple[str, ...]) -> dict[str, bool] | None:
    """Every ``Label: yes|no`` line present exactly once, as booleans; ``None`` when any is missing."""
    out: dict[str, bool] = {}
    for label in labels:
        choice = parse_choice(text, label, ("yes", "no"))
        if choice is None:
            return None
        out[label] = choice == "yes"
    return out
