"""The sha256 of the file ``check`` reads, computed from the bytes its scan reads.

A stage record names its input by content hash. Hashing the file before the scan reads it a second
time; instead the scan feeds :class:`FileDigest` every byte it reads, in file order (the columnar
scan's reader thread, chunk by chunk; the row scan's ``iter_jsonl``, line by line). Where a scan
stops short of the end (the columnar scan declines part-way; a Parquet file, which Arrow reads by
column chunk), :meth:`FileDigest.finish` reads the bytes it did not see and says how many in
``topped_up``: every byte reaches the hash once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["FileDigest"]

_CHUNK = 1 << 20


class FileDigest:
    """A running sha256 over a file's bytes from its start (``update`` in file order)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._h = hashlib.sha256()
        self.fed = 0  # bytes the scan fed, from the file's start
        self.topped_up = 0  # bytes :meth:`finish` read itself

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(data)
        self.fed += len(data)

    def finish(self) -> str:
        """The file's sha256: the bytes fed, then those from there to the end (read here)."""
        with open(self.path, "rb") as fh:
            fh.seek(self.fed)
            while chunk := fh.read(_CHUNK):
                self.topped_up += len(chunk)
                self.update(chunk)
        return self._h.hexdigest()
