"""The review's SQLite file beside the data (``DATA.review.sqlite``): the sample and every verdict.

Each verdict is committed (WAL, ``synchronous=FULL``) before the request that gave it is answered,
so a killed server loses nothing that a reviewer saw acknowledged. The sample is stored with the
data file's sha256: a changed data file is an error, never a silent mix of two samples.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import AlignforgeError
from alignforge.review.sample import Item, Sample

__all__ = ["ReviewStore", "open_review", "store_path", "file_sha256", "VERDICTS"]

VERDICTS = ("agree", "disagree", "unsure")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS strata (key TEXT PRIMARY KEY, fields TEXT NOT NULL,
    population INTEGER NOT NULL, sampled INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS items (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stratum TEXT NOT NULL,
    machine TEXT NOT NULL, machine_positive INTEGER NOT NULL, fields TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (reviewer TEXT NOT NULL, item_id TEXT NOT NULL,
    verdict TEXT CHECK (verdict IN ('agree', 'disagree', 'unsure')), note TEXT, at REAL NOT NULL,
    PRIMARY KEY (reviewer, item_id));
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, reviewer TEXT NOT NULL, item_id TEXT NOT NULL,
    verdict TEXT, note TEXT, at REAL NOT NULL);
"""


def store_path(data: str | os.PathLike[str]) -> Path:
    p = Path(data)
    return p.with_name(f"{p.name}.review.sqlite")


def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class ReviewStore:
    """One review of one data file. Thread-safe: one connection behind a lock (the server's threads)."""

    def __init__(self, data: str | os.PathLike[str], *, create: bool = False) -> None:
        self.data = Path(data)
        self.path = store_path(self.data)
        if not self.data.is_file():
            raise AlignforgeError(f"{self.data}: no such file")
        if not create and not self.path.exists():
            raise AlignforgeError(
                f"{self.data}: no review yet ({self.path.name} is missing): "
                f"start one with `alignforge review {self.data} --sample 0.05`"
            )
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self.meta = {k: orjson.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    # --- the sample ---------------------------------------------------------------------------

    @property
    def has_sample(self) -> bool:
        return "sha256" in self.meta

    def check_data(self) -> None:
        """Refuse when the data file is not the one the sample was drawn from."""
        now = file_sha256(self.data)
        if now != self.meta["sha256"]:
            n = self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
            raise AlignforgeError(
                f"{self.data} changed since its review sample was drawn (sha256 {self.meta['sha256'][:12]}... "
                f"then, {now[:12]}... now); {n} verdict(s) in {self.path.name} are about the old file: "
                f"restore it, or move {self.path.name} away to start a new review"
            )

    def save_sample(self, sample: Sample, sha256: str) -> None:
        meta = {
            "sha256": sha256,
            "kind": sample.kind,
            "by": sample.by,
            "seed": sample.seed,
            "fraction": sample.fraction,
            "rows": sample.rows,
            "data": str(self.data),
            "created": time.time(),
        }
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO strata VALUES (?, ?, ?, ?)",
                    [
                        (k, orjson.dumps(v["fields"]).decode(), v["population"], v["sampled"])
                        for k, v in sample.strata.items()
                    ],
                )
                self._db.executemany(
                    "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            i,
                            it.id,
                            it.stratum,
                            it.machine,
                            int(it.machine_positive),
                            orjson.dumps(it.fields).decode(),
                        )
                        for i, it in enumerate(sample.items)
                    ],
                )
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [(k, orjson.dumps(v).decode()) for k, v in meta.items()]
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self.meta = meta

    def size(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def item(self, pos: int) -> Item | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, stratum, machine, machine_positive, fields FROM items WHERE pos = ?", (pos,)
            ).fetchone()
        if row is None:
            return None
        return Item(row[0], row[1], row[2], bool(row[3]), orjson.loads(row[4]))

    def items(self) -> list[tuple[str, str, bool]]:
        """(id, stratum, machine_positive) of every sampled item, in review order."""
        with self._lock:
            rows = self._db.execute("SELECT id, stratum, machine_positive FROM items ORDER BY pos").fetchall()
        return [(r[0], r[1], bool(r[2])) for r in rows]

    def strata(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT key, fields, population, sampled FROM strata").fetchall()
        return {r[0]: {"fields": orjson.loads(r[1]), "population": r[2], "sampled": r[3]} for r in rows}

    # --- verdicts ----------------------------------------------------------------------------

    def record(
        self, reviewer: str, item_id: str, *, verdict: str | None = None, note: str | None = None
    ) -> None:
        """Set a verdict and/or a note, committed before returning. Unknown items are an error."""
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
        now = time.time()
        with self._lock:
            if self._db.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
                raise KeyError(item_id)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO verdicts (reviewer, item_id, verdict, note, at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (reviewer, item_id) DO UPDATE SET "
                    "verdict = COALESCE(excluded.verdict, verdict), note = COALESCE(excluded.note, note), "
                    "at = excluded.at",
                    (reviewer, item_id, verdict, note, now),
                )
                self._db.execute(
                    "INSERT INTO events (reviewer, item_id, verdict, note, at) VALUES (?, ?, ?, ?, ?)",
                    (reviewer, item_id, verdict, note, now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def verdicts(self, reviewer: str | None = None) -> list[tuple[str, str, str | None, str | None]]:
        """(reviewer, item_id, verdict, note) rows, optionally for one reviewer."""
        q = "SELECT reviewer, item_id, verdict, note FROM verdicts"
        with self._lock:
            if reviewer is None:
                return list(self._db.execute(q))
            return list(self._db.execute(q + " WHERE reviewer = ?", (reviewer,)))

    def of(self, reviewer: str, item_id: str) -> tuple[str | None, str | None]:
        with self._lock:
            row = self._db.execute(
                "SELECT verdict, note FROM verdicts WHERE reviewer = ? AND item_id = ?", (reviewer, item_id)
            ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def progress(self, reviewer: str) -> tuple[int, int]:
        """(items with a verdict from ``reviewer``, position of the first item without one)."""
        with self._lock:
            done = self._db.execute(
                "SELECT COUNT(*) FROM verdicts WHERE reviewer = ? AND verdict IS NOT NULL", (reviewer,)
            ).fetchone()[0]
            first = self._db.execute(
                "SELECT MIN(pos) FROM items WHERE id NOT IN "
                "(SELECT item_id FROM verdicts WHERE reviewer = ? AND verdict IS NOT NULL)",
                (reviewer,),
            ).fetchone()[0]
            total = self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        return int(done), int(total if first is None else first)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_review(
    data: str | os.PathLike[str],
    fraction: float | None,
    *,
    seed: int | None = None,
    by: list[str] | None = None,
    **draw: Any,
) -> ReviewStore:
    """The review of ``data``: continued when one exists (same file, same sample), else drawn and stored.

    Continuing with a different ``fraction``, ``seed`` or ``by`` is an error naming the stored values;
    ``draw`` (tasks, completions, benchmark_dir) only matters when the sample is drawn.
    """
    from alignforge.review.sample import draw_sample

    path = store_path(data)
    existed = path.exists()
    store = ReviewStore(data, create=True)
    if store.has_sample:
        store.check_data()
        asked = {"fraction": fraction, "seed": seed, "by": by}
        for key, value in asked.items():
            if value is not None and value != store.meta[key]:
                stored = store.meta[key]
                store.close()
                raise AlignforgeError(
                    f"{path.name} holds a sample drawn with {key}={stored!r}, not {value!r}: "
                    f"leave the option out to continue that review, or move {path.name} away to draw anew"
                )
        return store
    if fraction is None:
        store.close()
        if not existed:
            path.unlink(missing_ok=True)
        raise AlignforgeError(f"{data}: no review yet: give --sample, e.g. --sample 0.05 for 5 %")
    try:
        sha = file_sha256(data)
        sample = draw_sample(data, fraction, seed=0 if seed is None else seed, by=by, **draw)
        store.save_sample(sample, sha)
    except BaseException:
        store.close()
        if not existed:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise
    return store
