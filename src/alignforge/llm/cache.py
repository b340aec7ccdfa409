"""A SQLite request cache in front of any backend: a finished call is never paid for twice.

Rows are keyed by the backend's name and :meth:`ChatRequest.key` (sha256 of the canonical request) and hold
the response text, finish reason and token usage. Each response is committed as it
arrives, in WAL mode, so several processes can share one file and a process killed
with SIGKILL loses only the calls still in flight. Errors are not cached: a rerun
tries them again. Nor is an empty answer (no text, or only whitespace: a 200 reply whose content
was null), which a stage counts as a failure; a row holding one, stored by an earlier version, is
not served either.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError, Usage

__all__ = ["CachedLLM", "CacheStats", "ResponseCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    latency_s REAL NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0


class ResponseCache:
    """The SQLite table itself: ``get_many`` / ``put``; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable against a killed process
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.execute(_SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, ChatResponse]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, ChatResponse] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT key, model, text, finish_reason, prompt_tokens, completion_tokens "
                    f"FROM responses WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for key, model, text, finish, pt, ct in rows:
                    if not _answered(text):
                        continue
                    out[key] = ChatResponse(
                        text, model, finish, Usage(pt, ct, 0.0), cached=True, latency_s=0.0
                    )
        return out

    def put(self, key: str, resp: ChatResponse) -> None:
        u = resp.usage
        row = (
            key,
            resp.model,
            resp.text,
            resp.finish_reason,
            u.prompt_tokens,
            u.completion_tokens,
            u.cost_usd,
            resp.latency_s,
            time.time(),
        )
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?)", row)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedLLM:
    """Wrap ``llm``: cache hits come back at once with ``cached=True`` and ``cost_usd == 0``.

    Identical requests within one call are sent once. Results keep the input order and
    ``on_result(i, result)`` fires for hits first, then for misses as they finish.
    """

    def __init__(self, llm: LLM, db_path: str | os.PathLike[str]) -> None:
        self.inner = llm
        self.name = llm.name
        self.cache = ResponseCache(db_path)
        self.stats = CacheStats()

    def __getattr__(self, attr: str) -> Any:  # model, price, close ... of the wrapped backend
        return getattr(self.inner, attr)

    def _key(self, req: ChatRequest) -> str:
        """The request's key salted with the backend's name: two backends never share an answer."""
        return hashlib.sha256(f"{self.name}\0{req.key()}".encode()).hexdigest()

    def cached_keys(self, requests: Sequence[ChatRequest]) -> set[str]:
        """``ChatRequest.key()`` of each request already answered in the cache."""
        hits = self.cache.get_many(self._key(r) for r in requests)
        return {r.key() for r in requests if self._key(r) in hits}

    def generate(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_result: Callable[[int, ChatResponse | LLMError], None] | None = None,
    ) -> list[ChatResponse | LLMError]:
        keys = [self._key(r) for r in requests]
        hits = self.cache.get_many(keys)
        results: list[ChatResponse | LLMError | None] = [None] * len(requests)
        todo: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key in hits:
                self.stats.hits += 1
                results[i] = hits[key]
                if on_result is not None:
                    on_result(i, hits[key])
            else:
                todo.setdefault(key, []).append(i)
        self.stats.misses += len(todo)
        if todo:
            miss_keys = list(todo)
            miss_reqs = [requests[todo[k][0]] for k in miss_keys]

            handled = [False] * len(miss_keys)

            def done(j: int, res: ChatResponse | LLMError) -> None:
                if handled[j]:
                    return
                handled[j] = True
                key = miss_keys[j]
                if isinstance(res, ChatResponse) and _answered(res.text):
                    self.cache.put(key, res)
                    self.stats.stored += 1
                for n, i in enumerate(todo[key]):
                    # A duplicate of a request in the same call is served from the first: cached, free.
                    mine = res if n == 0 or not isinstance(res, ChatResponse) else _as_hit(res)
                    results[i] = mine
                    if on_result is not None:
                        on_result(i, mine)

            out = self.inner.generate(miss_reqs, on_result=done)
            for j, res in enumerate(out):  # a backend that returns results without calling on_result
                done(j, res)
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise RuntimeError(
                f"backend {self.name} returned no result for requests {missing[:5]} (a backend bug)"
            )
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self.cache.close()
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


def _answered(text: str | None) -> bool:
    """False for an empty answer: the stages treat it as a failure, so it must be asked again."""
    return bool(text and text.strip())


def _as_hit(res: ChatResponse) -> ChatResponse:
    u = res.usage
    return ChatResponse(
        res.text,
        res.model,
        res.finish_reason,
        Usage(u.prompt_tokens, u.completion_tokens, 0.0),
        cached=True,
        latency_s=0.0,
    )
