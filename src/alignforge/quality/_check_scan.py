"""The row scans behind :func:`alignforge.quality.check.compute_figures`: the accumulator for a kind, rows
fed to it in batches, and the whole-file scan of a large file, columnar (:mod:`._columnar`) or by
byte range over several processes, whose accumulators merge into one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alignforge.errors import AlignforgeError
from alignforge.io import DataError, ReadStats, first_row, read_rows
from alignforge.quality import _columnar
from alignforge.quality._common import Accumulator
from alignforge.quality._digest import FileDigest
from alignforge.quality._dpo import DPOAccumulator
from alignforge.quality._kinds import GRPOAccumulator, KTOAccumulator, RLVRAccumulator, SFTAccumulator
from alignforge.records import Kind, Shape, detect_shape

__all__ = ["make_accumulator"]


def make_accumulator(
    kind: Kind,
    rules: dict[str, Any],
    *,
    tokenizer: Any = None,
    verdicts: Any = None,
    score_scale: str | None = None,
) -> Accumulator:
    if kind is Kind.DPO:
        return DPOAccumulator(rules)
    if kind is Kind.SFT:
        return SFTAccumulator(rules, tokenizer=tokenizer, score_scale=score_scale)
    if kind is Kind.KTO:
        return KTOAccumulator(rules)
    if kind is Kind.GRPO:
        return GRPOAccumulator(rules)
    if kind is Kind.RLVR:
        return RLVRAccumulator(rules, verdicts=verdicts)
    raise AlignforgeError(
        f"check does not measure {kind.value} files (it measures sft, dpo, kto, grpo and rlvr)"
    )


def _feed(acc: Accumulator, rows_iter: Any, scan: Any = None) -> int:
    """Batches of rows to the accumulator (and to the decontamination scan, when there is one)."""
    lines: list[int] = []
    rows: list[dict[str, Any]] = []
    n = 0
    for line, row in rows_iter:
        lines.append(line)
        rows.append(row)
        if len(rows) == 4096:
            acc.add_batch(lines, rows)
            if scan is not None:
                scan.add_batch(lines, rows)
            n += len(rows)
            lines, rows = [], []
    if rows:
        acc.add_batch(lines, rows)
        if scan is not None:
            scan.add_batch(lines, rows)
        n += len(rows)
    return n


def _scan_range(
    path: Path, kind: Kind, rules: dict[str, Any], start: int, end: int, shape: Shape | None
) -> tuple[Any, int, Any, ReadStats]:
    """Worker: (accumulator or None, lines read, (line, message, field) of the first error or None,
    what the read saw (blank lines))."""

    seen = [0]
    stats = ReadStats()
    acc = make_accumulator(kind, rules)
    try:
        _feed(acc, read_rows(path, kind, byte_range=(start, end), lines_seen=seen, stats=stats, shape=shape))
    except DataError as exc:
        acc.cleanup()
        return None, seen[0], (exc.line, exc.message, exc.field), stats
    return acc, seen[0], None, stats


def _scan_parallel(
    path: Path,
    kind: Kind,
    rules: dict[str, Any],
    workers: int,
    stats: ReadStats | None = None,
    *,
    columnar: bool = False,
    digest: FileDigest | None = None,
) -> Accumulator:
    """The whole file's accumulator: from the columnar scan when asked and it vouches for the file,
    otherwise from ``workers`` processes reading byte ranges row by row (which name any error's line).

    ``digest``: the columnar scan feeds it as it reads; where the row scan's processes read the
    file, a thread of this one hashes what the columnar scan did not (from the same page cache
    the workers read, at the same time: sha256 runs in order, the workers' ranges do not)."""
    import multiprocessing

    declined = None
    if columnar:
        fast = DPOAccumulator(rules)
        declined = _columnar.scan_dpo(path, fast, digest=digest)
        if declined is None:
            fast.engine = "columnar"
            return fast
        fast.cleanup()
    size = path.stat().st_size
    bounds = [size * i // workers for i in range(workers + 1)]
    # Every range holds its rows to the shape of the file's first row, not of its own first row.
    row = first_row(path)
    shape = detect_shape(row) if row is not None else None
    hashing = None
    # fork: children share the parent's string-hash seed, so their pair hashes agree.
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            if digest is not None:  # started once the workers are forked
                hashing = _Hashing(digest)
            parts = pool.starmap(
                _scan_range, [(path, kind, rules, bounds[i], bounds[i + 1], shape) for i in range(workers)]
            )
    finally:
        if hashing is not None:
            hashing.join()
    merged: Accumulator | None = None
    offset = 0
    for acc, seen, error, part_stats in parts:
        if error is not None:
            for other, _, _, _ in parts:
                if other is not None:
                    other.cleanup()
            line, message, fld = error
            raise DataError(path, None if line is None else line + offset, message, field=fld)
        if merged is None:
            merged = acc
        else:
            merged.merge(acc, offset)
        if stats is not None:
            stats.merge_blank(part_stats, offset)
        offset += seen
    assert merged is not None
    if declined is not None and isinstance(merged, DPOAccumulator):
        merged.engine = f"rows (the columnar scan declined: {declined})"
    return merged


class _Hashing(threading.Thread):
    """``digest.finish()`` in a thread; :meth:`join` raises what it raised."""

    def __init__(self, digest: FileDigest) -> None:
        super().__init__(daemon=True)
        self.digest = digest
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.digest.finish()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error
