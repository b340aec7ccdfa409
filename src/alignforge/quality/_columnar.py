"""The columnar scan behind ``check`` on DPO files: a compiled byte scanner reads, numpy computes.

Every figure goes into the same :class:`~alignforge.quality._dpo.DPOAccumulator` as the row-by-row
scan (through ``add_columns``), a chunk of lines at a time, so memory stays flat.

It serves the common case, a well-formed standard-shape DPO file read strictly. It never decides
that a file is bad, only whether it can vouch for one: on anything it cannot vouch for it declines
with the reason, and ``check`` reads the file row by row, which names the line and the field of any
error exactly as before. Why its answers are the row path's:

- Parsing. :mod:`alignforge.quality._jsonscan` reads every line in one pass, as strict JSON (what
  orjson accepts): one object per line, valid UTF-8, valid escapes, no lone surrogate, numbers by
  JSON's grammar. The fields the figures read must have their type, once each; their texts are
  hashed as the code points they decode to. A number in an ignored field that could overflow a
  double, or nesting near orjson's limit, sends that line to orjson, whose refusal declines.
- Lines. Row i is line i + 1: a blank line, or two objects on a line, declines. No line is longer
  than ``iter_jsonl``'s limit.
- Validation, as ``validate_row``: prompt, chosen and rejected are strings, none blank by Python's
  own whitespace, every score (the row's and ``metadata``'s chosen/rejected/score) in 0-10.
- Figures. Scores are the doubles a correctly rounded parser gives (the fast path, or the scan
  declines); exact sums; lengths in code points, as ``len()``; "chosen equals rejected" decided on
  the decoded texts wherever their hashes agree, and "equal once whitespace is normalised" by
  ``same_text`` itself on the pairs whose non-whitespace bytes have the same sum and count;
  duplicates and conflicts from 64-bit hashes of the decoded texts in the same spilling store:
  exact up to a 64-bit collision, as the row path's Python hashes are.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from alignforge.io import MAX_LINE_BYTES
from alignforge.quality._dpo import DPOAccumulator, same_text

__all__ = ["MIN_BYTES", "scan_dpo", "unavailable"]

MIN_BYTES = 32 * 1024 * 1024  # below this, loading the compiled scanner costs more than it saves
CHUNK_BYTES = 8 << 20  # read, scanned and measured at a time


def unavailable() -> str | None:
    """None when the engine can run here; otherwise why not. Imports nothing: the scan's threads
    load the scanner while the first chunk is read."""
    for module in ("numpy", "numba"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ValueError:  # in sys.modules as None: an import of it fails
            found = False
        if not found:
            return f"{module} is not installed (pip install 'alignforge[check]')"
    return None


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


def _columns(data: Any, scanned: tuple[Any, ...]) -> tuple[int, dict[str, Any]]:
    """(lines, what :meth:`DPOAccumulator.add_columns` takes) for one scanned chunk; raises
    :class:`_Declined` with the chunk's line where it cannot vouch for one."""
    import numpy as np

    from alignforge.quality._jsonscan import REASONS

    n, why, starts, h, chars, scores, labels, flags, suspect = scanned
    if why:
        raise _Declined(REASONS[why], n)

    def line(i: int) -> Any:
        return orjson.loads(bytes(data[int(starts[i]) : int(starts[i + 1])]))

    for i in np.flatnonzero(suspect).tolist():  # what orjson must read first: its refusal declines
        try:
            line(i)
        except orjson.JSONDecodeError as exc:
            raise _Declined(f"orjson refuses it ({exc})", i) from None
    hp, hc, hr = h[:, 0], h[:, 1], h[:, 2]
    same = hc == hr
    for i in np.flatnonzero(same).tolist():  # equal hashes: the texts decide
        row = line(i)
        same[i] = row["chosen"] == row["rejected"]
    maybe = np.flatnonzero((h[:, 3] == h[:, 4]) & ~same)
    identical = np.flatnonzero(same)
    if maybe.size:
        rows = (line(i) for i in maybe.tolist())
        keep = np.fromiter(
            (same_text(r["chosen"], r["rejected"]) for r in rows), dtype=bool, count=maybe.size
        )
        identical = np.union1d(identical, maybe[keep])
    hashes = (hp.view(np.int64), _mix(hp, hc, hr).view(np.int64), _mix(hp, hr, hc)[~same].view(np.int64))

    def coalesced(own: int, nested: int) -> Any:
        return np.where(np.isnan(scores[:, own]), scores[:, nested], scores[:, own])

    def counted(own: int, nested: int) -> list[tuple[Any, int]]:
        """(value, rows) in order of first appearance, the row's own label before metadata's."""
        mine = labels[:, own, 0] >= 0
        slot = np.where(mine, own, nested)
        present = np.flatnonzero(mine | (labels[:, nested, 0] >= 0))
        if not present.size:
            return []
        which = slot[present]
        keys = h[present, 5 + which]
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        out = []
        for k in order.tolist():
            row, at = int(present[first[k]]), int(which[first[k]])
            token = bytes(data[int(labels[row, at, 0]) : int(labels[row, at, 1])])
            out.append((orjson.loads(token), int(counts[k])))
        return out

    flag = np.where(flags[:, 1] >= 0, flags[:, 1], flags[:, 0])  # metadata's first
    return n, {
        "hashes": hashes,
        "len_c": chars[:, 0],
        "len_r": chars[:, 1],
        "identical": identical,
        "cs": coalesced(0, 3),
        "rs": coalesced(1, 4),
        "flaws": counted(0, 1),
        "strategies": counted(2, 3),
        "claimed": (int(np.count_nonzero(flag >= 0)), int(np.count_nonzero(flag == 0))),
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
    """Chunks of whole lines, each scanned (the compiled scanner lets go of the GIL) and measured by a
    pool of threads, ahead of the thread feeding the accumulator. Row i of a chunk is its line i."""

    def __init__(self, path: Path, max_line_bytes: int, digest: Any = None) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.digest = digest
        self.stopped = False
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(len(os.sched_getaffinity(0)), 4)))
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=self.pool._max_workers + 1)
        # The sha256 runs in a thread of its own, in file order, so that reading never waits on it.
        self.to_hash: queue.Queue[Any] = queue.Queue(maxsize=4)
        self.hasher = threading.Thread(target=self._hash, daemon=True) if digest is not None else None
        if self.hasher is not None:
            self.hasher.start()
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
        if self.hasher is not None:
            self.hasher.join()  # every byte read is in the digest before the caller reads it
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _hash(self) -> None:
        while (chunk := self.to_hash.get()) is not None:
            self.digest.update(chunk)  # hashlib lets go of the GIL: the scan goes on

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
                    if self.hasher is not None:
                        self.to_hash.put(chunk)
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
        finally:
            if self.hasher is not None:
                self.to_hash.put(None)

    def _job(self, data: Any, last: bool) -> tuple[int, dict[str, Any]]:
        """Scan and measure one chunk: (its lines, its rows' columns). :class:`_Declined` carries the
        chunk's line (0-based) as its second argument where there is one."""
        try:
            from alignforge.quality._jsonscan import scan_chunk
        except ImportError as exc:
            raise _Declined(f"{exc.name or 'numba'} does not import ({exc})") from None
        except (RuntimeError, OSError) as exc:  # numba finds no folder to cache the scanner in
            raise _Declined(f"the scanner does not load ({exc})") from None
        return _columns(data, scan_chunk(data, last=last, max_line=self.max_line_bytes))
