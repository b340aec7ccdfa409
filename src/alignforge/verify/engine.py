"""``verify_completions``: completions in, verdicts out, fast, cached and in input order."""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from alignforge.records import VerdictStatus
from alignforge.verify._suites import build_program
from alignforge.verify.tasks import load_tasks

__all__ = ["verify_completions", "VerdictCache", "ENGINE_VERSION"]

# 2: an assert on a false constant is a failing test (was dropped)
# 3: finance and general tasks graded by their own verifiers (metadata.verifier in the task key)
ENGINE_VERSION = "3"


# Verdicts are yielded in input order, each as soon as it and those before it are done; a slow sample
# holds back the ones behind it. With 4 samples ahead per worker, one sample of HumanEval's slowest
# tasks (0.18 s against 3 ms typical) left the other worker idle: 19 % of the CPUs idle, at 2 workers.
# 64 a worker covers a sample 60 times slower than the others; at most 1,024 in all, since a verdict
# of a large suite (HumanEval+: 764 tests) holds about 200 KiB while it waits.
_AHEAD_PER_WORKER, _AHEAD_MAX = 64, 1024


class VerdictCache:
    """Verdicts by content hash (task, program, limits); in memory, or in SQLite when given a path."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._mem: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._db = sqlite3.connect(str(path), check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, value BLOB)")
        self.hits = self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        import orjson

        with self._lock:
            hit = self._mem.get(key)
            if hit is None and self._db is not None:
                row = self._db.execute("SELECT value FROM verdicts WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    hit = self._mem[key] = orjson.loads(row[0])
            if hit is None:
                self.misses += 1
            else:
                self.hits += 1
            return hit

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        import orjson

        with self._lock:
            self._mem[key] = verdict
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO verdicts VALUES (?, ?)", (key, orjson.dumps(verdict))
                )
                self._db.commit()


def grade_answer(task: dict[str, Any], completion: str) -> dict[str, Any]:
    """Verdict fields for a task graded by its answer, by the task's ``domain``: finance and general by
    their own verifiers (a general multiple-choice task never reaches math's letter matcher), anything
    else by :func:`alignforge.verify.math.grade_in_process`. Module-level, so the process pool can
    pickle it; imports happen in the worker."""
    domain = task.get("domain")
    if domain == "finance":
        from alignforge.verify.finance import grade_in_process
    elif domain == "general":
        from alignforge.verify.general import grade_in_process
    else:
        from alignforge.verify.math import grade_in_process
    return grade_in_process(task, completion)


def _job_key(task: dict[str, Any], program: str, limits: tuple[Any, ...]) -> str:
    h = hashlib.sha256(f"{ENGINE_VERSION}|{task['_key']}|{limits}|".encode())
    h.update(program.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _sample_head(
    row: Any, i: int, task_map: Mapping[str, Any], counters: dict[str, int]
) -> tuple[Any, dict[str, Any]]:
    """The task of completion row ``i`` (0-based) and the verdict's head: ``task_id`` and ``sample_index``
    (the row's own, else the next for its task; ``counters`` holds the next index per task)."""
    from alignforge.io import DataError

    if not isinstance(row, Mapping) or "task_id" not in row or not isinstance(row.get("completion"), str):
        raise DataError("<completions>", i + 1, "expected an object with task_id and a string completion")
    tid = str(row["task_id"])
    task = task_map.get(tid)
    if task is None:
        raise DataError("<completions>", i + 1, f"field 'task_id': unknown task {tid!r}")
    idx = row.get("sample_index")
    if idx is None:
        idx = counters.get(tid, 0)
    counters[tid] = max(counters.get(tid, 0), int(idx) + 1)
    return task, {"task_id": tid, "sample_index": int(idx)}


def _sample_key(task: dict[str, Any], style: str, completion: str, limits: tuple[Any, ...]) -> str:
    """The cache key of one completion (``limits``: timeout_s, partial, memory_mb); the Ray executor
    keys its shared cache and joins duplicates by the same key."""
    return _job_key(task, f"{style}\x00{completion}", limits)


class _Runner:
    def __init__(
        self,
        *,
        pool: Any,
        timeout_s: float,
        partial: bool,
        memory_mb: int,
        cache: VerdictCache,
        retry_timeouts: bool,
        math_timeout_s: float,
    ) -> None:
        self.pool, self.timeout_s, self.partial, self.memory_mb = pool, timeout_s, partial, memory_mb
        self.cache, self.retry_timeouts, self.math_timeout_s = cache, retry_timeouts, math_timeout_s
        self.math_pool: Any = None

    def code(self, task: dict[str, Any], completion: str, style: str) -> dict[str, Any]:
        try:
            program = build_program(task, completion, style)
        except ValueError as exc:
            return {
                "passed": False,
                "reward": 0.0,
                "status": VerdictStatus.ERROR,
                "tests": [],
                "duration_s": 0.0,
                "detail": str(exc),
            }
        job = {
            "task": {k: v for k, v in task.items() if k != "_key"},
            "task_key": task["_key"],
            "program": program,
            "timeout_s": self.timeout_s,
            "wall_factor": 2.0,
            "partial": self.partial,
            "memory_mb": self.memory_mb,
            "fsize_mb": 16,
        }
        verdict = self.pool.run(job)
        if verdict["status"] == VerdictStatus.TIMEOUT and self.retry_timeouts:
            again = self.pool.run(job)
            again["retried"] = True
            if again["status"] != VerdictStatus.TIMEOUT:
                again["flaky"] = True
            verdict = again
        return verdict

    def answer(self, task: dict[str, Any], completion: str) -> dict[str, Any]:
        if self.math_pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.math_pool = ProcessPoolExecutor(
                self.pool.size if self.pool else 1, mp_context=multiprocessing.get_context("forkserver")
            )
        fut = self.math_pool.submit(grade_answer, task, completion)
        try:
            return fut.result(timeout=self.math_timeout_s * 4 + 30)
        except Exception as exc:
            return {
                "passed": False,
                "reward": 0.0,
                "status": VerdictStatus.ERROR,
                "tests": [],
                "duration_s": 0.0,
                "detail": f"{type(exc).__name__}: {exc}",
            }


def verify_completions(
    tasks: str | os.PathLike[str] | Mapping[str, Any],
    completions: Iterable[Mapping[str, Any]],
    *,
    workers: int | None = None,
    timeout_s: float = 5.0,
    partial: bool = False,
    isolation: str = "process",
    memory_mb: int = 1024,
    cache: VerdictCache | None = None,
    retry_timeouts: bool = True,
    pool: Any = None,
) -> Iterator[dict[str, Any]]:
    """Yield one verdict per completion, in input order.

    ``tasks`` is a JSONL path or a mapping task_id -> row; each completion is
    ``{"task_id", "completion", "sample_index"?, "completion_style"?}``. Code tasks run
    in the sandbox pool (``pool`` or a new one with ``workers``); math, finance and
    general tasks are graded by answer (:func:`grade_answer`). Timeouts are re-run once (``flaky`` marks a changed
    verdict); identical work is answered from ``cache`` (``cache_hit``).
    """
    from alignforge.verify._pool import SandboxPool

    task_map = (
        tasks if isinstance(tasks, dict) and all("_key" in t for t in tasks.values()) else load_tasks(tasks)
    )
    cache = cache if cache is not None else VerdictCache()
    needs_pool = any(t["domain"] == "code" for t in task_map.values())
    own = pool is None and needs_pool
    if own:
        pool = SandboxPool(workers, isolation=isolation)
    runner = _Runner(
        pool=pool,
        timeout_s=timeout_s,
        partial=partial,
        memory_mb=memory_mb,
        cache=cache,
        retry_timeouts=retry_timeouts,
        math_timeout_s=timeout_s,
    )
    size = pool.size if pool is not None else (workers or os.cpu_count() or 1)
    counters: dict[str, int] = {}
    inflight: dict[str, Future[dict[str, Any]]] = {}

    def submit(ex: ThreadPoolExecutor, i: int, row: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
        task, head = _sample_head(row, i, task_map, counters)
        style = str(row.get("completion_style") or "body")
        program = row["completion"]
        key = _sample_key(task, style, program, (timeout_s, partial, memory_mb))
        hit = cache.get(key)
        if hit is not None:
            return head, {**hit, "cache_hit": True}
        fut = inflight.get(key)
        if fut is None:
            if task["domain"] == "code":
                fut = ex.submit(runner.code, task, program, style)
            else:
                fut = ex.submit(runner.answer, task, program)
            inflight[key] = fut
            fut.add_done_callback(functools.partial(_store, cache, inflight, key))
            return head, fut
        return head, _Dup(fut)

    try:
        with ThreadPoolExecutor(size) as ex:
            try:
                window: deque[tuple[dict[str, Any], Any]] = deque()
                ahead = max(4 * size, min(_AHEAD_PER_WORKER * size, _AHEAD_MAX))
                for i, row in enumerate(completions):
                    window.append(submit(ex, i, row))
                    while window and (len(window) > ahead or _done(window[0][1])):
                        yield _resolve(*window.popleft())
                while window:
                    yield _resolve(*window.popleft())
            finally:  # a caller that stops early (break, an error, Ctrl-C) waits only for the running jobs
                ex.shutdown(wait=True, cancel_futures=True)
    finally:
        if own and pool is not None:
            pool.close()
        if runner.math_pool is not None:
            runner.math_pool.shutdown(cancel_futures=True)


class _Dup:
    def __init__(self, fut: Future[dict[str, Any]]) -> None:
        self.fut = fut


def _done(item: Any) -> bool:
    """Whether a window entry's verdict is ready (a cache hit, or a finished job)."""
    if isinstance(item, dict):
        return True
    return bool((item.fut if isinstance(item, _Dup) else item).done())


def _store(cache: VerdictCache, inflight: dict[str, Any], key: str, fut: Future[dict[str, Any]]) -> None:
    if fut.cancelled():  # the caller stopped early: nothing to keep
        inflight.pop(key, None)
        return
    if fut.exception() is None and fut.result()["status"] != VerdictStatus.TIMEOUT:
        cache.put(key, fut.result())
    inflight.pop(key, None)


def _resolve(head: dict[str, Any], item: Any) -> dict[str, Any]:
    """The verdict row; its ``status`` becomes a :class:`VerdictStatus` here, at the boundary where
    the sandbox worker's, the math grader's and the cache's plain strings come in."""
    if isinstance(item, dict):
        verdict = {**head, **item, "cache_hit": True}
    elif isinstance(item, _Dup):
        verdict = {**head, **item.fut.result(), "cache_hit": True}
    else:
        verdict = {**head, **item.result(), "cache_hit": False}
    verdict["status"] = VerdictStatus(verdict["status"])
    return verdict
