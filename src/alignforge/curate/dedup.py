"""Deduplication within a dataset: exact (normalised text) and near (MinHash LSH, datasketch).

The text compared depends on the kind: the prompt for preference and prompt-only data
(DPO, GRPO, RLVR: two pairs on one prompt are one prompt twice), the whole record
otherwise (SFT, KTO, completions). The first row wins; every dropped row says which row
it duplicates (``duplicate_of``: the ``id``/``task_id`` of that row, or its 1-based
position; ``kept_index``: its position) and why (``exact_duplicate``, or ``near_duplicate``
with the estimated Jaccard similarity). The ``dedup`` stage
(:class:`alignforge.curate.stage.DedupStage`) runs it on a file under the stage contract.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from alignforge.curate._normalize import normalize, row_texts
from alignforge.records import Kind, detect_kind, text_of

__all__ = ["dedup", "iter_dedup", "iter_dedup_numbered", "DedupResult", "dedup_text", "EXACT", "NEAR"]

_PROMPT_KINDS = {Kind.DPO, Kind.GRPO, Kind.RLVR}
EXACT = "exact_duplicate"  # the drop reasons, as summaries count them
NEAR = "near_duplicate"


def dedup_text(row: dict[str, Any], kind: Kind | str | None) -> str:
    """The normalised text two rows of ``kind`` are compared on."""
    k = Kind(kind) if kind is not None else detect_kind(row)
    if k in _PROMPT_KINDS and "prompt" in row:
        text = text_of(row["prompt"])
    else:
        text = "\n".join(t for _, t in row_texts(row))
    return " ".join(normalize(text).split())


@dataclass
class DedupResult:
    kept: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"row", "index", "duplicate_of", "kept_index", "reason", ...}

    @property
    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.dropped:
            out[d["reason"]] = out.get(d["reason"], 0) + 1
        return out


def _row_id(row: dict[str, Any], position: int) -> Any:
    for key in ("id", "task_id"):
        if key in row and isinstance(row[key], str | int):
            return row[key]
    return position


def _shingles(text: str, size: int = 3) -> list[bytes]:
    toks = text.split()
    if len(toks) <= size:
        return [text.encode()] if text else []
    return [" ".join(toks[i : i + size]).encode() for i in range(len(toks) - size + 1)]


def iter_dedup(
    rows: Iterable[dict[str, Any]],
    *,
    kind: Kind | str | None = None,
    near: float | None = None,
    num_perm: int = 128,
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Yield ``(row, None)`` for kept rows and ``(row, drop)`` for duplicates, in input order.

    ``drop`` is ``{"index", "duplicate_of", "kept_index", "reason"}`` (1-based positions; ``reason``
    :data:`EXACT` or :data:`NEAR`, the latter with ``similarity``, the estimated Jaccard).
    """
    for _, row, drop in iter_dedup_numbered(enumerate(rows, 1), kind=kind, near=near, num_perm=num_perm):
        yield row, drop


def iter_dedup_numbered(
    numbered: Iterable[tuple[int, dict[str, Any]]],
    *,
    kind: Kind | str | None = None,
    near: float | None = None,
    num_perm: int = 128,
) -> Iterator[tuple[int, dict[str, Any], dict[str, Any] | None]]:
    """:func:`iter_dedup` over ``(number, row)`` pairs (a file's line numbers): indexes are those numbers."""
    if near is not None and not 0.0 < near <= 1.0:
        raise ValueError(f"near must be a Jaccard similarity in (0, 1], got {near}")
    seen: dict[bytes, tuple[Any, int]] = {}  # text hash -> (kept row's id, its number)
    lsh = None
    sketches: dict[str, Any] = {}
    kept_by_key: dict[str, tuple[Any, int]] = {}
    if near is not None:
        from alignforge._deps import require

        datasketch = require("datasketch", extra="decontam")
        lsh = datasketch.MinHashLSH(threshold=near, num_perm=num_perm)
    for position, row in numbered:
        k = kind if kind is not None else detect_kind(row)
        text = dedup_text(row, k)
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        if digest in seen:
            rid, kept = seen[digest]
            yield position, row, {"index": position, "duplicate_of": rid, "kept_index": kept, "reason": EXACT}
            continue
        if lsh is not None:
            mh = datasketch.MinHash(num_perm=num_perm, seed=1)
            sh = _shingles(text)
            if sh:
                mh.update_batch(sh)
            best = None
            for cand in lsh.query(mh):
                sim = mh.jaccard(sketches[cand])
                if sim >= near and (best is None or sim > best[1]):
                    best = (cand, sim)
            if best is not None:
                rid, kept = seen[digest] = kept_by_key[best[0]]  # a later exact copy points at the kept row
                drop = {"index": position, "duplicate_of": rid, "kept_index": kept, "reason": NEAR}
                yield position, row, {**drop, "similarity": round(best[1], 3)}
                continue
            lean = datasketch.LeanMinHash(mh)
            key = str(position)
            sketches[key] = lean
            kept_by_key[key] = (_row_id(row, position), position)
            lsh.insert(key, lean)
        seen[digest] = (_row_id(row, position), position)
        yield position, row, None


def dedup(
    rows: Iterable[dict[str, Any]],
    *,
    kind: Kind | str | None = None,
    near: float | None = None,
    num_perm: int = 128,
) -> DedupResult:
    """Keep the first of each group of duplicates; see :func:`iter_dedup`."""
    result = DedupResult()
    for row, drop in iter_dedup(rows, kind=kind, near=near, num_perm=num_perm):
        if drop is None:
            result.kept.append(row)
        else:
            result.dropped.append({"row": row, **drop})
    return result
