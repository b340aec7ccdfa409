"""Strict streaming I/O: JSONL (and Parquet) in, JSONL out, line-numbered errors, atomic appends.

Reading never holds more than one line in memory. Every bad line becomes a
:class:`DataError` naming the file, the line and the field; with
``on_error="skip"`` the line goes to a side file with its reason instead, and
is counted, so nothing is dropped silently.

Writing appends whole lines with one ``write`` on an ``O_APPEND`` descriptor,
so a killed process leaves at most one partial last line, which
:func:`repair_tail` removes before a resumed run appends again.

The error type and skip-mode bookkeeping live in :mod:`alignforge._io_errors`, the per-row kind and
shape check in :mod:`alignforge._io_row_check`, Parquet in :mod:`alignforge._io_parquet`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from alignforge._io_errors import RAW_KEPT, OnError, _fail, _json_error, _SideFile
from alignforge._io_errors import DataError as DataError
from alignforge._io_errors import ReadStats as ReadStats
from alignforge._io_errors import dumps as dumps
from alignforge._io_parquet import _is_parquet, _iter_parquet_raw, _read_parquet, _write_parquet
from alignforge._io_row_check import _row_validator
from alignforge.records import FieldError, Kind, Shape, detect_kind

__all__ = [
    "DataError",
    "ReadStats",
    "iter_jsonl",
    "read_rows",
    "detect_file_kind",
    "first_row",
    "JsonlWriter",
    "write_jsonl",
    "append_jsonl",
    "repair_tail",
    "dumps",
    "MAX_LINE_BYTES",
]

MAX_LINE_BYTES = 16 * 1024 * 1024
loads = orjson.loads


def iter_jsonl(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = "raise",
    side_file: str | os.PathLike[str] | None = None,
    stats: ReadStats | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    validate: Callable[[Any], None] | None = None,
    byte_range: tuple[int, int] | None = None,
    lines_seen: list[int] | None = None,
    digest: Any = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, parsed_object)`` for each non-blank line of a JSONL file.

    Blank (empty or whitespace-only) lines are passed over and recorded in ``stats`` with their
    numbers, for the caller to report.

    ``digest`` (a :mod:`hashlib` object) is updated with every byte read: once the iterator is
    exhausted it holds the hash of the whole file (of the range, with ``byte_range``).

    ``byte_range=(start, end)`` reads only the lines that start in that range (for parallel
    scans); their numbers are then relative to the range, and ``lines_seen[0]`` says how many
    lines it read, so the caller can add the offsets of the ranges before it.

    Accepts a UTF-8 BOM and CRLF endings. Refuses, naming the line: invalid
    UTF-8, a line that is not JSON (a truncated last line says so), a line over
    ``max_line_bytes``, a JSON array file, an empty file. ``validate`` raising
    :class:`FieldError` turns into a ``DataError`` with the field named.
    """
    path = Path(path)
    stats = stats if stats is not None else ReadStats()
    side = _SideFile(Path(side_file) if side_file else None)
    if side_file:
        stats.side_file = str(side_file)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, expected a JSONL file") from None
    start, end = byte_range or (0, 1 << 62)
    seen_content = start > 0  # the file-level checks (JSON array, empty file) belong to the first range
    try:
        pos = 0
        if start > 0:
            fh.seek(start - 1)
            pos = start - 1 + len(fh.readline())  # the line straddling `start` belongs to the range before
        lineno = 0
        while pos < end:
            raw = fh.readline(max_line_bytes + 1)
            if not raw:
                break
            if digest is not None:
                digest.update(raw)
            pos += len(raw)
            lineno += 1
            if lines_seen is not None:
                lines_seen[0] = lineno
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                # Skip the rest of the oversized line without holding it (only its head, for the side file).
                head, size = raw[:RAW_KEPT], len(raw)
                while raw and not raw.endswith(b"\n"):
                    raw = fh.readline(1 << 20)
                    if digest is not None:
                        digest.update(raw)
                    head += raw[: RAW_KEPT - len(head)]
                    size += len(raw)
                    pos += len(raw)
                msg = f"line is {size / 2**20:.1f} MiB, over the {max_line_bytes / 2**20:g} MiB limit (max_line_bytes)"
                _fail(path, lineno, msg, None, on_error, stats, side, head, truncated=size > len(head))
                continue
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.isspace() or not raw:
                stats.blank(lineno)
                continue
            if not seen_content and raw.lstrip()[:1] == b"[":
                raise DataError(
                    path,
                    lineno,
                    "the file is a JSON array, not JSONL (one object per line); convert it with "
                    '`python -c "import json,sys; [print(json.dumps(r)) for r in json.load(sys.stdin)]" < in.json > out.jsonl`',
                )
            seen_content = True
            try:
                obj = loads(raw)  # orjson also refuses invalid UTF-8; we only decode to explain an error
            except orjson.JSONDecodeError as exc:
                _fail(path, lineno, _json_error(raw, exc), None, on_error, stats, side, raw)
                continue
            if validate is not None:
                try:
                    validate(obj)
                except FieldError as exc:
                    _fail(path, lineno, str(exc), exc.field, on_error, stats, side, raw)
                    continue
            stats.rows += 1
            yield lineno, obj
        if not seen_content:
            raise DataError(path, None, "the file is empty (no JSON lines)")
    finally:
        fh.close()
        side.close()


def detect_file_kind(path: str | os.PathLike[str], *, on_error: OnError = "raise") -> Kind:
    """The kind of the file's first row (``--kind`` overrides this).

    With ``on_error="skip"`` lines that are not JSON objects of a known kind are passed over (the
    read that follows counts them), so a bad first line does not stop a skip-mode run.
    """
    rows = _iter_parquet_raw(path) if _is_parquet(path) else iter_jsonl(path, on_error=on_error)
    for lineno, obj in rows:
        if not isinstance(obj, dict):
            if on_error == "raise":
                raise DataError(path, lineno, f"expected a JSON object per line, got {type(obj).__name__}")
            continue
        try:
            return detect_kind(obj)
        except FieldError as exc:
            if on_error == "raise":
                raise DataError(path, lineno, str(exc), field=exc.field) from None
    raise DataError(path, None, "no row of a known kind (every line was invalid)")


def first_row(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The first JSON object of a JSONL or Parquet file, passing over invalid lines; None if there is none."""
    rows = _iter_parquet_raw(path) if _is_parquet(path) else iter_jsonl(path, on_error="skip")
    try:
        for _, obj in rows:
            if isinstance(obj, dict):
                return obj
    except DataError:
        return None
    return None


def read_rows(
    path: str | os.PathLike[str],
    kind: Kind | None = None,
    *,
    on_error: OnError = "raise",
    side_file: str | os.PathLike[str] | None = None,
    stats: ReadStats | None = None,
    allow_mixed: bool = False,
    byte_range: tuple[int, int] | None = None,
    lines_seen: list[int] | None = None,
    shape: Shape | None = None,
    digest: Any = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Validated rows of one kind. A row of another kind is an error (``mixed record kinds``).

    SFT, DPO, KTO and GRPO rows must also share one TRL shape: the first valid row fixes it
    (``shape`` fixes it beforehand, for a byte range read apart from the file's first row), and a
    row of the other shape is an error naming its first text field. ``allow_mixed`` (rows of several
    kinds, which the caller sorts out) turns both checks off.

    Parquet files (``.parquet``) are read in record batches through pyarrow, with the same
    checks; their "line" numbers are row numbers (1-based). ``digest``: as :func:`iter_jsonl`'s
    (JSONL only; a Parquet file's bytes are not fed to it).
    """
    kind = kind or detect_file_kind(path, on_error=on_error)
    check = _row_validator(kind, allow_mixed, shape)
    if _is_parquet(path):
        yield from _read_parquet(path, check, on_error=on_error, side_file=side_file, stats=stats)
        return
    yield from iter_jsonl(
        path,
        on_error=on_error,
        side_file=side_file,
        stats=stats,
        validate=check,
        byte_range=byte_range,
        lines_seen=lines_seen,
        digest=digest,
    )


def repair_tail(path: str | os.PathLike[str]) -> int:
    """Cut a partial last line left by a killed writer; return the bytes removed.

    A last line that is a whole JSON object and lacks only its newline (a file written or edited
    by another tool) is a complete row, not a torn one: it gets its newline and is kept."""
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return 0
    with open(p, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        pos = size
        chunk = 65536
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            idx = data.rfind(b"\n")
            if idx >= 0:
                cut = start + idx + 1
                break
            pos = start
        else:
            cut = 0
        if cut < size:
            fh.seek(cut)
            if _is_object(fh.read(size - cut)):
                fh.seek(size)
                fh.write(b"\n")
                return 0
            fh.truncate(cut)
        return size - cut


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


class JsonlWriter:
    """Append rows atomically: one ``os.write`` per line on an ``O_APPEND`` descriptor.

    ``resume=True`` (the default for append) first removes a partial last line.
    ``fsync=True`` makes each row durable before ``write`` returns (for paid work).
    """

    def __init__(self, path: str | os.PathLike[str], *, append: bool = True, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if append:
            repair_tail(self.path)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        self._fd = os.open(self.path, flags, 0o644)
        self._fsync = fsync
        self.count = 0

    def write(self, row: Any) -> None:
        from alignforge.records import record_to_dict

        if not isinstance(row, dict):
            row = record_to_dict(row)
        data = dumps(row)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self._fsync:
            os.fsync(self._fd)
        self.count += 1

    def write_many(self, rows: Iterable[Any]) -> int:
        n = 0
        for row in rows:
            self.write(row)
            n += 1
        return n

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> int:
    """Write ``rows`` to ``path`` (replacing it) through a temporary file and an atomic rename."""
    p = Path(path)
    if p.suffix == ".parquet":
        return _write_parquet(p, rows)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    with JsonlWriter(tmp, append=False) as w:
        n = w.write_many(rows)
    os.replace(tmp, p)
    return n


def append_jsonl(path: str | os.PathLike[str], rows: Iterable[Any], *, fsync: bool = False) -> int:
    with JsonlWriter(path, append=True, fsync=fsync) as w:
        return w.write_many(rows)
