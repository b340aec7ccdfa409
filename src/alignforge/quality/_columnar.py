"""The columnar scan behind ``check`` on DPO files: Arrow parses, polars and numpy compute.

Every figure goes into the same :class:`~alignforge.quality._dpo.DPOAccumulator` as the row-by-row
scan (through ``add_columns``), a batch of a few thousand rows at a time, so memory stays flat.

It serves the common case, a well-formed standard-shape DPO file read strictly. It never decides
that a file is bad, only whether it can vouch for one: on anything it cannot vouch for it declines
with the reason, and ``check`` reads the file row by row, which names the line and the field of any
error exactly as before. Why its answers are the row path's:

- Parsing. Arrow reads only the fields the figures and the validation use, each with a fixed
  type, and refuses a value of another type, a repeated field, a bad escape or a lone surrogate.
  Where Arrow is laxer than orjson, in the fields it skips (NaN and Infinity literals, invalid
  UTF-8, nesting past orjson's 1,024 levels), a pass over the raw bytes finds every line that
  could hold such a thing and orjson reads those lines; one refusal declines.
- Lines. Every line starts with ``{`` and ends with ``}`` (a CRLF ending allowed) and Arrow returns
  exactly one row per line, so row i is line i + 1: no blank line, no two objects on a line. No
  line is longer than ``iter_jsonl``'s limit.
- Validation, as ``validate_row``: prompt, chosen and rejected are strings, none blank by Python's
  own whitespace, every score (the row's and ``metadata``'s chosen/rejected/score) in 0-10.
- Figures. The same float64 values in the same comparisons; exact sums; "chosen equals rejected
  once whitespace is normalised" decided by ``same_text`` itself on the pairs a necessary test
  (equal counts of the letter e) lets through; duplicates and conflicts from 64-bit hashes
  (polars' string hash, combined) in the same spilling store: exact up to a 64-bit collision, as
  the row path's Python hashes are.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from alignforge.io import MAX_LINE_BYTES
from alignforge.quality._dpo import DPOAccumulator, same_text

__all__ = ["MIN_BYTES", "scan_dpo", "unavailable"]

MIN_BYTES = 32 * 1024 * 1024  # below this, importing polars and Arrow costs more than it saves
CHUNK_BYTES = 8 << 20  # read, checked and parsed at a time
MAX_DEPTH = 1024  # orjson's nesting limit
SEED = 0x5EED

_SCORES = ("chosen_score", "rejected_score", "score")


def unavailable() -> str | None:
    """None when the engine can run here; otherwise why not. Imports nothing: the scan's threads
    import Arrow and polars while the first chunks are read and checked."""
    for module in ("polars", "pyarrow"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ValueError:  # in sys.modules as None: an import of it fails
            found = False
        if not found:
            return f"{module} is not installed (pip install 'alignforge[check]')"
    return None


@cache
def _schema() -> Any:
    import pyarrow as pa

    f64, text = pa.float64(), pa.string()
    labels = [("flaw_type", text), ("strategy", text), ("contaminated", pa.bool_())]
    scores = [(name, f64) for name in _SCORES]
    meta = pa.struct(scores + labels)
    return pa.schema(
        [("prompt", text), ("chosen", text), ("rejected", text), *scores, *labels, ("metadata", meta)]
    )


class _Declined(Exception):
    """The engine cannot vouch for the file: the row path reads it."""


def scan_dpo(
    path: str | Path, acc: DPOAccumulator, *, max_line_bytes: int = MAX_LINE_BYTES, digest: Any = None
) -> str | None:
    """Feed every row of ``path`` to ``acc``. None when done; otherwise why the engine declined, and
    ``acc`` is spent (the caller cleans it up and reads the file row by row).

    ``digest`` (a :class:`~alignforge.quality._digest.FileDigest`) is fed every byte read, in file
    order, by the thread that reads the file: the whole file when the scan is done, a prefix of it
    when it declined."""
    why = unavailable()
    if why:
        return why
    import numpy as np

    reader = _Reader(Path(path), max_line_bytes, digest)
    try:
        for first_line, n, columns in reader.chunks():
            acc.add_columns(np.arange(first_line, first_line + n, dtype=np.int64), **columns)
    except _Declined as exc:
        return str(exc)
    finally:
        reader.close()
    return None


# First bytes of the strings Python's str.strip() could empty: ASCII whitespace (str.isspace), the
# lead bytes of the other whitespace characters (U+0085, U+00A0: C2; U+1680: E1; U+2000-U+205F: E2;
# U+3000: E3). A string starting with any other byte is not blank; the others are asked in Python.
_MAY_BE_BLANK = [9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0xC2, 0xE1, 0xE2, 0xE3]


@cache
def _may_be_blank() -> Any:
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[_MAY_BE_BLANK] = True
    return table


def _buffers(column: Any) -> tuple[Any, Any]:
    """(offsets, bytes) of an Arrow string array without nulls, as numpy views."""
    import numpy as np

    _, offsets, data = column.buffers()
    offs = np.frombuffer(offsets, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    return offs, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8))


def _per_string(offs: Any, mask: Any, dtype: Any) -> Any:
    """How many bytes of each string ``mask`` marks (``mask`` over ``data[offs[0]:offs[-1]]``; every
    string non-empty, which the blank check has made sure of), counted in ``dtype`` (a narrow one
    is several times faster; uint16 counts modulo 65,536, enough where only equality matters)."""
    import numpy as np

    return np.add.reduceat(mask.view(np.uint8), offs[:-1] - offs[0], dtype=dtype)


def _columns(batch: Any) -> dict[str, Any]:
    """What :meth:`DPOAccumulator.add_columns` takes, for one batch (raises :class:`_Declined` with
    the batch's row where it cannot vouch for one)."""
    import numpy as np
    import polars as pl
    import pyarrow.compute as pc

    n = batch.num_rows
    names = ("prompt", "chosen", "rejected")
    text = [batch.column(name) for name in names]
    chars, e_count = [], []
    for name, column in zip(names, text, strict=True):
        if column.null_count:
            where = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
            raise _Declined(f"field {name!r} is missing or null", where)
        offs, data = _buffers(column)
        body = data[offs[0] : offs[-1]]
        starts = data[np.minimum(offs[:-1], len(data) - 1)] if len(data) else np.zeros(n, np.uint8)
        suspect = np.flatnonzero((offs[1:] == offs[:-1]) | _may_be_blank()[starts])
        for i in suspect.tolist():
            if not column[i].as_py().strip():
                raise _Declined(f"field {name!r} is blank", i)
        if name == "prompt":
            continue
        if body.size and int(body.max()) > 0x7F:  # characters, as len(): bytes less continuation bytes
            chars.append(np.diff(offs) - _per_string(offs, (body & 0xC0) == 0x80, np.int32))
        else:
            chars.append(np.diff(offs))
        e_count.append(_per_string(offs, body == 0x65, np.uint16))  # 'e'
    meta = batch.column("metadata")
    scores = {}
    for name in _SCORES:
        for in_meta in (False, True):
            values = (pc.struct_field(meta, name) if in_meta else batch.column(name)).to_numpy(
                zero_copy_only=False
            )  # nulls come back as NaN
            bad = ~np.isnan(values) & ~((values >= 0.0) & (values <= 10.0))
            if bad.any():
                field = ("metadata." if in_meta else "") + name
                raise _Declined(f"{field} is outside 0-10", int(np.argmax(bad)))
            scores[name, in_meta] = values

    def coalesced(name: str) -> Any:
        own = scores[name, False]
        return np.where(np.isnan(own), scores[name, True], own)

    same = pc.equal(text[1], text[2]).to_numpy(zero_copy_only=False)
    # Identical once whitespace is normalised: same_text decides, on the pairs with equal e counts.
    maybe = np.flatnonzero((e_count[0] == e_count[1]) & ~same)
    identical = np.flatnonzero(same)
    if maybe.size:
        pairs = ((text[1][i].as_py(), text[2][i].as_py()) for i in maybe.tolist())
        keep = np.fromiter((same_text(x, y) for x, y in pairs), dtype=bool, count=maybe.size)
        identical = np.union1d(identical, maybe[keep])
    hp, hc, hr = (pl.Series(column).hash(SEED).to_numpy() for column in text)
    hashes = (hp.view(np.int64), _mix(hp, hc, hr).view(np.int64), _mix(hp, hr, hc)[~same].view(np.int64))

    def labels(name: str, meta_first: bool) -> Any:
        own, nested = batch.column(name), pc.struct_field(meta, name)
        return pc.coalesce(nested, own) if meta_first else pc.coalesce(own, nested)

    def counted(values: Any) -> list[tuple[Any, int]]:
        if values.null_count == len(values):
            return []
        encoded = pc.dictionary_encode(values)  # the dictionary in order of first appearance
        codes = encoded.indices.drop_null().to_numpy()
        counts = np.bincount(codes, minlength=len(encoded.dictionary)).tolist()
        return list(zip(encoded.dictionary.to_pylist(), counts, strict=True))

    flag = labels("contaminated", meta_first=True)
    return {
        "hashes": hashes,
        "len_c": chars[0],
        "len_r": chars[1],
        "identical": identical,
        "cs": coalesced("chosen_score"),
        "rs": coalesced("rejected_score"),
        "flaws": counted(labels("flaw_type", meta_first=False)),
        "strategies": counted(labels("strategy", meta_first=False)),
        "claimed": (n - flag.null_count, int(pc.sum(pc.invert(flag)).as_py() or 0)),
    }


_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(a: Any, b: Any, c: Any) -> Any:
    """An order-sensitive 64-bit hash of three 64-bit hashes (splitmix64's finaliser, chained)."""
    import numpy as np

    def fin(z: Any) -> Any:
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
        return z ^ (z >> np.uint64(31))

    with np.errstate(over="ignore"):
        return fin(fin(fin(a) ^ b) ^ c)


class _Reader:
    """Chunks of whole lines, each checked on its bytes (numpy) and parsed (Arrow) by a pool of
    threads, ahead of the thread computing the figures (numpy and Arrow release the GIL).

    The byte checks: the line structure (``{`` ... ``}`` on every line), the line limit, UTF-8, and
    the lines orjson must read (NaN or Infinity spelled out, nesting deep enough to pass its limit).
    A chunk's table must hold one row per line, so its first row is the chunk's first line."""

    def __init__(self, path: Path, max_line_bytes: int, digest: Any = None) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.digest = digest
        self.stopped = False
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(len(os.sched_getaffinity(0)), 4)))
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=self.pool._max_workers + 1)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def chunks(self) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """(first line, lines, the columns of its rows) per chunk, in file order; raises
        :class:`_Declined`."""
        first = 1
        while True:
            item = self.queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            try:
                lines, columns = item.result()
            except _Declined as exc:
                raise _Declined(
                    f"line {first + exc.args[1]:,}: {exc.args[0]}" if len(exc.args) > 1 else exc.args[0]
                ) from None
            yield first, lines, columns
            first += lines
        if first == 1:
            raise _Declined("the file holds no lines")

    def close(self) -> None:
        self.stopped = True
        while self.feeder.is_alive():
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.05)  # unblock a put the consumer will never take
        self.feeder.join()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _put(self, item: Any) -> None:
        while not self.stopped:
            with contextlib.suppress(queue.Full):
                self.queue.put(item, timeout=0.05)
                return

    def _feed(self) -> None:
        try:
            carry = b""  # the start of a line the last chunk did not finish
            with open(self.path, "rb") as fh:
                while not self.stopped:
                    chunk = fh.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    if self.digest is not None:
                        self.digest.update(chunk)  # hashlib lets go of the GIL: the parse goes on
                    end = chunk.rfind(b"\n") + 1
                    if not end:
                        carry += chunk
                        if len(carry) > self.max_line_bytes + 1:
                            raise _Declined("a line is over the line limit")
                        continue
                    start = 0
                    if carry:  # the line begun in an earlier chunk ends here
                        start = chunk.find(b"\n") + 1
                        self._put(self.pool.submit(self._job, carry + chunk[:start], False))
                    if end > start:
                        self._put(self.pool.submit(self._job, memoryview(chunk)[start:end], False))
                    carry = chunk[end:]
                if carry:
                    self._put(self.pool.submit(self._job, carry, True))
            self._put(None)
        except _Declined as exc:
            self._put(exc)
        except OSError as exc:
            self._put(_Declined(f"could not read it: {exc}"))
        except BaseException as exc:  # a fault of ours: raised again where the figures are computed
            self._put(exc)

    def _job(self, data: Any, last: bool) -> tuple[int, dict[str, Any]]:
        """Check, parse and measure one chunk: (its lines, its rows' columns). :class:`_Declined`
        carries the chunk's line (0-based) as its second argument where there is one."""
        n, longest = self._region(data, last=last)
        try:
            import polars  # noqa: F401
            import pyarrow as pa
            import pyarrow.compute  # noqa: F401
            import pyarrow.json as pj
        except ImportError as exc:
            raise _Declined(f"{exc.name or 'polars or pyarrow'} does not import ({exc})") from None
        try:
            table = pj.read_json(
                pa.py_buffer(data),
                read_options=pj.ReadOptions(
                    block_size=len(data) + 1,
                    use_threads=False,  # one batch
                ),
                parse_options=pj.ParseOptions(
                    explicit_schema=_schema(), unexpected_field_behavior="ignore", newlines_in_values=False
                ),
            )
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            text = str(exc).splitlines()[0]
            row = re.search(r" in row (\d+)", text)  # the chunk is one block: its row is its line
            raise _Declined(f"Arrow does not read it: {text[:200]}", int(row[1]) if row else 0) from None
        if table.num_rows != n:
            raise _Declined(f"Arrow read {table.num_rows:,} rows from the {n:,} lines from here", 0)
        (batch,) = table.combine_chunks().to_batches()
        return n, _columns(batch)

    def _region(self, data: Any, *, last: bool = False) -> tuple[int, int]:
        """Check whole lines (each ending in a newline, but the file's last line): (lines, the
        longest line's bytes)."""
        import numpy as np

        a = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(a == 10)
        if last:
            ends = np.append(ends, len(a))  # the last line, without its newline
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        longest = int(lengths.max())
        if longest > self.max_line_bytes:
            raise _Declined("over the line limit", int(np.argmax(lengths > self.max_line_bytes)))
        if not (a[starts] == 0x7B).all():  # '{' (an empty line fails here too: its first byte is the newline)
            raise _Declined("does not start with '{'", int(np.argmax(a[starts] != 0x7B)))
        tail = ends - 1
        tail[a[tail] == 0x0D] -= 1
        if not (a[tail] == 0x7D).all():  # '}'
            raise _Declined("does not end with '}'", int(np.argmax(a[tail] != 0x7D)))
        if int(a.max()) > 0x7F:
            try:
                str(data, "utf-8")
            except UnicodeDecodeError as exc:
                raise _Declined("not valid UTF-8", int(np.searchsorted(ends, exc.start))) from None
        suspects: list[Any] = []
        for word in (b"NaN", b"Infinity"):  # orjson refuses these literals; Arrow takes them
            hits = a == word[0]
            if not hits.any():
                continue
            at = np.flatnonzero(hits)
            for k, ch in enumerate(word[1:], 1):
                at = at[at + k < len(a)]
                at = at[a[at + k] == ch]
            if at.size:
                suspects.append(np.searchsorted(ends, at))
        if longest > MAX_DEPTH:  # only a line of more than MAX_DEPTH openers can nest that deep
            openers = np.flatnonzero((a == 0x7B) | (a == 0x5B))  # '{' '['
            per_line = np.bincount(np.searchsorted(ends, openers), minlength=len(ends))
            suspects.append(np.flatnonzero(per_line > MAX_DEPTH))
        if suspects:
            for i in np.unique(np.concatenate(suspects)).tolist():
                try:
                    orjson.loads(bytes(data[int(starts[i]) : int(ends[i])]))
                except orjson.JSONDecodeError as exc:
                    raise _Declined(f"orjson refuses it ({exc})", i) from None
        return len(ends), longest
