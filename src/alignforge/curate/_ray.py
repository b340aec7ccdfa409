"""Run the n-gram scan on Ray Data (``--executor ray``): same pure function, more machines.

Rows go to Ray in windows of batches (memory stays bounded), each batch is scanned by
:func:`~alignforge.curate._scan.scan_rows` in a Ray worker with the index shipped once per window, and results come
back in input order. ``ray.init`` is called with defaults unless a cluster is already
connected (``RAY_ADDRESS`` or an earlier ``ray.init``), so the same code runs locally and on
a cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from alignforge.curate._index import NgramIndex
from alignforge.curate._scan import ScanRules, scan_rows

__all__ = ["ray_scan"]

Batch = list[tuple[int, dict[str, Any]]]


def _scan_fn(idx: NgramIndex, rules: ScanRules) -> Any:
    def fn(batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        rows = [orjson.loads(x) for x in batch["row"]]
        res, texted = scan_rows(rows, idx, rules)
        return {
            "i": batch["i"],
            "matches": np.array([orjson.dumps(r).decode() for r in res], dtype=object),
            "texted": np.array(texted, dtype=bool),
        }

    return fn


def ray_scan(
    batches: Iterator[Batch], idx: NgramIndex, rules: ScanRules, *, window: int = 16
) -> Iterator[list[tuple[list[dict[str, Any]], bool, tuple[int, dict[str, Any]]]]]:
    """Per batch, ``(matches, texted, (line, row))`` for each row, as the local scan gives them."""
    from alignforge._deps import require

    ray = require("ray", extra="ray")
    require("ray.data", extra="ray", package="ray[data]")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    fn = _scan_fn(idx, rules)
    pending: list[Batch] = []

    def flush() -> Iterator[list[tuple[list[dict[str, Any]], bool, tuple[int, dict[str, Any]]]]]:
        flat = [x for b in pending for x in b]
        size = max(len(b) for b in pending)
        items = [{"i": k, "row": orjson.dumps(row).decode()} for k, (_, row) in enumerate(flat)]
        ds = ray.data.from_items(items, override_num_blocks=len(pending))
        out = ds.map_batches(fn, batch_size=size, batch_format="numpy").take_all()
        matches: list[Any] = [None] * len(flat)
        texted = [False] * len(flat)
        for rec in out:
            matches[int(rec["i"])] = orjson.loads(rec["matches"])
            texted[int(rec["i"])] = bool(rec["texted"])
        if any(m is None for m in matches):
            raise RuntimeError("Ray returned fewer scan results than rows sent")
        k = 0
        for b in pending:
            yield [(matches[k + j], texted[k + j], x) for j, x in enumerate(b)]
            k += len(b)

    for batch in batches:
        pending.append(batch)
        if len(pending) >= window:
            yield from flush()
            pending = []
    if pending:
        yield from flush()
