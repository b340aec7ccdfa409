"""Text normalisation shared by the index and the scan, so both sides see the same tokens.

``normalize`` lower-cases, drops thousands separators (``1,000`` -> ``1000``) and
trailing zero decimals (``12.00`` -> ``12``), turns sentence punctuation and line
breaks into ``\\n`` (segment boundaries, used by the short-question rule) and every
other punctuation or markdown character into a space. ``str.translate`` does the
character work in one C pass, which is most of why the scan is fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from alignforge.records import text_of

__all__ = ["normalize", "tokens", "segments", "row_texts", "TEXT_FIELDS", "NORMALIZER_VERSION"]

NORMALIZER_VERSION = 1
#: Fields scanned in a training row (message lists are read message by message).
TEXT_FIELDS = (
    "prompt",
    "messages",
    "chosen",
    "rejected",
    "completion",
    "text",
    "instruction",
    "input",
    "output",
    "response",
    "question",
    "answer",
    "problem",
    "solution",
)

_BOUNDARY = ".?!:;\n\r\u3002\uff1f\uff01"


def _table() -> dict[int, str]:
    table: dict[int, str] = {}
    # The Basic Multilingual Plane; rarer characters (emoji, historic scripts) pass through unchanged.
    for cp in range(0x10000):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if ch in _BOUNDARY:
            table[cp] = "\n"
        elif cat[0] in "PSZC" and ch not in "\n":
            table[cp] = " "
    table[ord("_")] = " "
    return table


_TABLE: dict[int, str] | None = None
# The literal first lets the regex engine skip ahead; the lookbehind then checks the digit.
_THOUSANDS = re.compile(r",(?<=\d,)(?=\d{3}(?!\d))")
_ZERO_DECIMALS = re.compile(r"\.(?<=\d\.)0+(?!\d)")


def normalize(text: str) -> str:
    """Lower-cased text with number formatting unified and punctuation turned into spaces / ``\\n``."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    text = text.lower()
    text = _THOUSANDS.sub("", text)
    if ".0" in text:
        text = _ZERO_DECIMALS.sub("", text)
    return text.translate(_TABLE)


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def segments(norm: str) -> Iterator[list[str]]:
    """Token lists of the sentence-like segments of an already normalised text."""
    for seg in norm.split("\n"):
        toks = seg.split()
        if toks:
            yield toks


def row_texts(row: Any) -> Iterator[tuple[str, str]]:
    """``(field, text)`` for every non-empty text field of a training row; messages are read one by
    one, a message whose content is a list of content parts by its text parts."""
    if isinstance(row, str):
        yield "text", row
        return
    if not isinstance(row, dict):
        return
    for name in TEXT_FIELDS:
        value = row.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            for i, msg in enumerate(value):
                # A message (its content a string or a list of content parts), a bare text part, a string.
                text = msg.get("content") if isinstance(msg, dict) else msg
                if not isinstance(text, str):
                    text = text_of([msg])
                if text:
                    yield f"{name}[{i}]", text
