"""Parquet files for :mod:`alignforge.io`: rows read in record batches through pyarrow with the JSONL
reader's checks (row numbers stand for line numbers), and written batch by batch through a temporary
file. pyarrow is imported only when a Parquet file is read or written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from alignforge._io_errors import DataError, OnError, ReadStats, _fail, _SideFile, dumps
from alignforge.records import FieldError


def _is_parquet(path: str | os.PathLike[str]) -> bool:
    return str(path).endswith(".parquet")


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
