"""Strict streaming I/O: JSONL (and Parquet) in, JSONL out, line-numbered errors, atomic appends.

Reading never holds more than one line in memory. Every bad line becomes a
:class:`DataError` naming the file, the line and the field; with
``on_error="skip"`` the line goes to a side file with its reason instead, and
is counted, so nothing is dropped silently.

Writing appends whole lines with one ``write`` on an ``O_APPEND`` descriptor,
so a killed process leaves at most one partial last line, which
:func:`repair_tail` removes before a resumed run appends again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from alignforge.records import FieldError, Kind, Shape, detect_kind, validate_row

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
MAX_BLANK_LINES_KEPT = 200
loads = orjson.loads
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

    def write(self, line: int, reason: str, raw: bytes) -> None:
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab")
        text = raw[:4096].decode("utf-8", "replace").rstrip("\r\n")
        self._fh.write(dumps({"line": line, "error": reason, "raw": text, "truncated": len(raw) > 4096}))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


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
                # Skip the rest of the oversized line without holding it.
                size = len(raw)
                while raw and not raw.endswith(b"\n"):
                    raw = fh.readline(1 << 20)
                    if digest is not None:
                        digest.update(raw)
                    size += len(raw)
                    pos += len(raw)
                msg = f"line is {size / 2**20:.1f} MiB, over the {max_line_bytes / 2**20:g} MiB limit (max_line_bytes)"
                _fail(path, lineno, msg, None, on_error, stats, side, b"")
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


def _json_error(raw: bytes, exc: Exception) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start}"
    if not raw.endswith(b"\n"):  # readline() returns a line without its newline only at end of file
        return "truncated last line (no newline and not complete JSON)"
    return f"not valid JSON ({exc})"


def _fail(
    path: Path,
    lineno: int,
    msg: str,
    fld: str | None,
    on_error: OnError,
    stats: ReadStats,
    side: _SideFile,
    raw: bytes,
) -> None:
    if on_error == "raise":
        raise DataError(path, lineno, msg, field=fld)
    stats.count(_reason_key(msg))
    side.write(lineno, msg, raw)


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


def _is_parquet(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(".parquet")


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


_SIGNATURE = {Kind.DPO: "chosen", Kind.KTO: "label", Kind.RLVR: "tests"}


_SHAPED = frozenset({Kind.SFT, Kind.DPO, Kind.KTO, Kind.GRPO})


def _row_validator(kind: Kind, allow_mixed: bool, shape: Shape | None = None) -> Callable[[Any], None]:
    signature = _SIGNATURE.get(kind)
    shaped = kind in _SHAPED and not allow_mixed
    # The file's shape as a bool (True: conversational), fixed by the first valid row unless given.
    want: list[bool | None] = [None if shape is None else shape is Shape.CONVERSATIONAL]

    def check(obj: Any) -> None:
        if signature is not None and type(obj) is dict and signature in obj:
            validate_row(obj, kind)  # the kind's own field is there: no other kind to suspect
        else:
            if not allow_mixed and isinstance(obj, dict):
                try:
                    other = detect_kind(obj)
                except FieldError:
                    other = kind  # no kind at all: validate_row names the missing field
                if other is not kind and not _compatible(kind, other):
                    raise FieldError(
                        "<row>",
                        f"mixed record kinds: this row looks like {other.value}, the file is {kind.value}",
                    )
            validate_row(obj, kind)
        if shaped:
            name = "messages" if "messages" in obj else "prompt"
            conversational = type(obj[name]) is list
            if want[0] is None:
                want[0] = conversational
            elif conversational is not want[0]:
                raise FieldError(name, _mixed_shape(conversational))

    return check


def _mixed_shape(conversational: bool) -> str:
    this, file = ("conversational", "standard") if conversational else ("standard", "conversational")
    return (
        f"mixed shapes: this row is {this} ({_SHAPE_WORDS[this]}), the file is {file} "
        f"({_SHAPE_WORDS[file]}, from its first row); TRL trains on one shape per file"
    )


_SHAPE_WORDS = {"standard": "strings", "conversational": "lists of messages"}


def _compatible(kind: Kind, other: Kind) -> bool:
    # A prompt-only row in a DPO/SFT/KTO file is missing fields (validate_row names them), not another kind;
    # an SFT prompt/completion row looks like KTO minus its label.
    return other is Kind.GRPO or (kind, other) in {(Kind.GRPO, Kind.SFT), (Kind.KTO, Kind.SFT)}


def _iter_parquet_raw(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    from alignforge._deps import require

    pq = require("pyarrow.parquet", extra="parquet")
    try:
        pf = pq.ParquetFile(path)
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except Exception as exc:  # pyarrow raises ArrowInvalid for a file that is not Parquet
        raise DataError(path, None, f"not a readable Parquet file ({exc})") from None
    n = 0
    for batch in pf.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            n += 1
            yield n, row
    if n == 0:
        raise DataError(path, None, "the file is empty (no rows)")


def _read_parquet(
    path: str | os.PathLike[str],
    check: Callable[[Any], None],
    *,
    on_error: OnError,
    side_file: str | os.PathLike[str] | None,
    stats: ReadStats | None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    stats = stats if stats is not None else ReadStats()
    side = _SideFile(Path(side_file) if side_file else None)
    if side_file:
        stats.side_file = str(side_file)
    try:
        for n, row in _iter_parquet_raw(path):
            try:
                check(row)
            except FieldError as exc:
                raw = dumps(row) if on_error == "skip" else b""
                _fail(Path(path), n, str(exc), exc.field, on_error, stats, side, raw)
                continue
            stats.rows += 1
            yield n, row
    finally:
        side.close()


def repair_tail(path: str | os.PathLike[str]) -> int:
    """Cut a partial last line left by a killed writer; return the bytes removed."""
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
            fh.truncate(cut)
        return size - cut


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


def _write_parquet(path: Path, rows: Iterable[Any], *, batch_rows: int = 8192) -> int:
    """Write in record batches (memory bounded by one batch); the first batch fixes the schema."""
    from alignforge._deps import require
    from alignforge.records import record_to_dict

    pa = require("pyarrow", extra="parquet")
    pq = require("pyarrow.parquet", extra="parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    writer: Any = None
    n = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer
        if writer is None:
            table = pa.Table.from_pylist(batch)
            writer = pq.ParquetWriter(tmp, table.schema)
        else:
            extra = {k for r in batch for k in r} - set(writer.schema.names)
            if extra:
                raise DataError(
                    path,
                    n,
                    f"field {sorted(extra)[0]!r} first appears after row {batch_rows}: "
                    "Parquet needs every field in the first batch (write JSONL instead)",
                )
            table = pa.Table.from_pylist(batch, schema=writer.schema)
        writer.write_table(table)
        batch.clear()

    try:
        for row in rows:
            batch.append(row if isinstance(row, dict) else record_to_dict(row))
            n += 1
            if len(batch) == batch_rows:
                flush()
        if batch or writer is None:
            if not batch:
                raise DataError(path, None, "no rows to write (Parquet needs at least one for its schema)")
            flush()
        writer.close()
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n
