"""How :mod:`alignforge.io` reports a bad line: :class:`DataError`, the :class:`ReadStats` counts, the
skip-mode side file, and :func:`dumps` (one JSONL line), shared by the JSONL and Parquet readers.

A bad line either raises (``on_error="raise"``) or is counted by reason and copied to the side file
(``on_error="skip"``): :func:`_fail` does one or the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

__all__ = ["DataError", "ReadStats", "dumps"]

MAX_BLANK_LINES_KEPT = 200
RAW_KEPT = 4096  # bytes of a bad line the side file keeps
OnError = Literal["raise", "skip"]


class DataError(ValueError):
    """Invalid input: ``path:line: field 'x': message`` in one line."""

    def __init__(
        self, path: str | os.PathLike[str], line: int | None, message: str, *, field: str | None = None
    ):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


@dataclass
class ReadStats:
    """What a read saw: rows yielded, lines skipped and why, blank lines passed over (counted, never silent).

    ``blank_line_numbers`` keeps the first :data:`MAX_BLANK_LINES_KEPT`; ``blank_lines`` counts them all.
    """

    rows: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    side_file: str | None = None
    blank_lines: int = 0
    blank_line_numbers: list[int] = field(default_factory=list)

    def count(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def blank(self, line: int) -> None:
        self.blank_lines += 1
        if len(self.blank_line_numbers) < MAX_BLANK_LINES_KEPT:
            self.blank_line_numbers.append(line)

    def merge_blank(self, other: ReadStats, line_offset: int) -> None:
        """Fold in the blank lines of the next byte range (its line numbers start after ``line_offset``)."""
        self.blank_lines += other.blank_lines
        room = max(0, MAX_BLANK_LINES_KEPT - len(self.blank_line_numbers))
        self.blank_line_numbers.extend(x + line_offset for x in other.blank_line_numbers[:room])


def dumps(obj: Any) -> bytes:
    """One JSONL line (with its newline), non-ASCII kept as UTF-8."""
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)


def _reason_key(message: str) -> str:
    # "field 'chosen': is empty" -> "field 'chosen': is empty"; JSON details are too varied to count apart.
    return "not valid JSON" if message.startswith("not valid JSON") else message.split(" (", 1)[0][:80]


class _SideFile:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fh: Any = None

    def write(self, line: int, reason: str, raw: bytes, *, truncated: bool | None = None) -> None:
        """Record a bad line: its first :data:`RAW_KEPT` bytes; ``truncated`` says whether the line
        was longer (by default, whether ``raw`` is; a caller that passes only the head says so)."""
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")
        text = raw[:RAW_KEPT].decode("utf-8", "replace").rstrip("\r\n")
        cut = len(raw) > RAW_KEPT if truncated is None else truncated
        self._fh.write(dumps({"line": line, "error": reason, "raw": text, "truncated": cut}))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _json_error(raw: bytes, exc: Exception) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start}"
    if _cr_separated(raw):
        return (
            "rows separated by a bare CR (\\r, old Mac line endings), read as one line: JSONL needs "
            "\\n or \\r\\n after each row; convert with `tr '\\r' '\\n' < in.jsonl > out.jsonl`"
        )
    if not raw.endswith(b"\n"):  # readline() returns a line without its newline only at end of file
        return "truncated last line (no newline and not complete JSON)"
    return f"not valid JSON ({exc})"


def _cr_separated(raw: bytes) -> bool:
    """Whether a line that is not JSON is JSON up to a bare CR inside it (rows split by CR alone)."""
    if b"\r" not in raw.rstrip(b"\r\n"):
        return False
    try:
        orjson.loads(raw.partition(b"\r")[0])
    except orjson.JSONDecodeError:
        return False
    return True


def _fail(
    path: Path,
    lineno: int,
    msg: str,
    fld: str | None,
    on_error: OnError,
    stats: ReadStats,
    side: _SideFile,
    raw: bytes,
    *,
    truncated: bool | None = None,
) -> None:
    if on_error == "raise":
        raise DataError(path, lineno, msg, field=fld)
    stats.count(_reason_key(msg))
    side.write(lineno, msg, raw, truncated=truncated)
