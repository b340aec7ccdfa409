"""Verify on Ray (``--executor ray``): one sandbox pool per node, one verdict cache for all of them.

:class:`RayVerifier` starts one actor on every alive node with CPUs (or ``actors`` actors spread
over the nodes). Each actor owns a local :class:`~alignforge.verify.SandboxPool`, the same sandbox
with the same isolation as the local path, and runs :func:`~alignforge.verify.verify_completions`
on the batches it is sent. One more actor, on the driver's node, holds the shared
:class:`~alignforge.verify.VerdictCache` (SQLite when given a path, as ``--cache``), keyed by the
engine's own content hash: a verdict one actor computed answers the same sample on every other.
An actor fetches the cached verdicts of a batch in one call before running it and sends back the
new ones after.

:meth:`RayVerifier.map` yields verdicts in input order with the fields, sample indices and
``cache_hit`` flags the local executor gives: a duplicate within one call is joined to its first
occurrence in the driver, as the local engine joins it to the job in flight.

``ray.init`` is called (``address``, else ``RAY_ADDRESS``, else a local Ray) unless Ray is already
initialised; a Ray this class started is shut down by :meth:`RayVerifier.close`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from alignforge.verify.engine import VerdictCache, _sample_head, _sample_key, verify_completions

__all__ = ["RayVerifier"]


class _BatchCache(VerdictCache):
    """The engine's cache for one batch on one actor: the shared verdicts fetched for it up front;
    the verdicts the engine stores are kept in ``new`` to send back."""

    def __init__(self, found: Mapping[str, dict[str, Any]]) -> None:
        super().__init__()
        self._mem.update(found)
        self.new: dict[str, dict[str, Any]] = {}

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        super().put(key, verdict)
        with self._lock:
            self.new[key] = verdict


class _CacheHolder:
    """The shared verdict cache, in one Ray actor on the driver's node."""

    def __init__(self, path: str | None) -> None:
        self.cache = VerdictCache(path)
        self.stored = 0

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for key in keys:
            hit = self.cache.get(key)
            if hit is not None:
                found[key] = hit
        return found

    def put_many(self, verdicts: dict[str, dict[str, Any]]) -> None:
        for key, verdict in verdicts.items():
            self.cache.put(key, verdict)
        self.stored += len(verdicts)

    def stats(self) -> dict[str, int]:
        return {"hits": self.cache.hits, "misses": self.cache.misses, "stored": self.stored}


class _NodeVerifier:
    """One node's verifier: a local sandbox pool (started on first need) and the engine."""

    def __init__(self, cache: Any, workers: int | None, isolation: str) -> None:
        self.cache, self.workers, self.isolation = cache, workers, isolation
        self.pool: Any = None
        self.lock = threading.Lock()
        self.batches = self.rows = 0

    def start_pool(self) -> dict[str, Any]:
        from alignforge.verify._pool import SandboxPool

        with self.lock:
            if self.pool is None:
                self.pool = SandboxPool(self.workers, isolation=self.isolation)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        import ray

        pool = self.pool
        return {
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "workers": pool.size if pool is not None else 0,
            "fallback": pool.fallback if pool is not None else None,
            "batches": self.batches,
            "rows": self.rows,
        }

    def verify(
        self, tasks: dict[str, Any], rows: list[dict[str, Any]], keys: list[str], opts: dict[str, Any]
    ) -> list[dict[str, Any]]:
        import ray

        if self.pool is None and any(t["domain"] == "code" for t in tasks.values()):
            self.start_pool()
        cache = _BatchCache(ray.get(self.cache.get_many.remote(keys)))
        out = list(verify_completions(tasks, rows, pool=self.pool, cache=cache, workers=self.workers, **opts))
        if cache.new:
            ray.get(self.cache.put_many.remote(cache.new))
        with self.lock:
            self.batches += 1
            self.rows += len(rows)
        return out

    def close(self) -> None:
        with self.lock:
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.close()


class _Batch:
    def __init__(self, no: int) -> None:
        self.no = no
        self.tasks: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.ref: Any = None
        self.result: list[dict[str, Any]] | None = None


class RayVerifier:
    """Verify completions on a Ray cluster: one sandbox pool per node, one shared verdict cache.

    ``actors``: None for one actor per alive node with CPUs (pinned by node affinity), or a number
    of actors spread over the nodes (``SPREAD``). ``workers``: sandbox workers per actor (default:
    that node's CPU count). ``isolation``: as :class:`~alignforge.verify.SandboxPool`. ``cache``: a
    SQLite file for the shared verdict cache (on the driver's node), else in memory. ``address``:
    the cluster to join (default ``RAY_ADDRESS``, else a local Ray). ``batch_size``: completions
    per batch sent to an actor. Actors hold no CPU reservation: their pools size themselves.
    """

    def __init__(
        self,
        *,
        actors: int | None = None,
        workers: int | None = None,
        isolation: str = "process",
        cache: str | os.PathLike[str] | None = None,
        address: str | None = None,
        batch_size: int = 64,
    ) -> None:
        from alignforge._deps import require
        from alignforge.verify._pool import ISOLATIONS

        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
        if actors is not None and actors < 1:
            raise ValueError(f"actors must be >= 1, got {actors}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        ray = require("ray", extra="ray")
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray, self.batch_size, self._next, self._closed = ray, batch_size, 0, False
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except ConnectionError as exc:
                from alignforge.errors import AlignforgeError

                where = address or os.environ.get("RAY_ADDRESS") or "a local Ray"
                raise AlignforgeError(f"verify --executor ray: cannot join {where}: {exc}") from None
        ctx = ray.get_runtime_context()
        self._session = (ctx.get_node_id(), ctx.get_job_id())
        path = str(Path(cache).resolve()) if cache is not None else None
        here = NodeAffinitySchedulingStrategy(ctx.get_node_id(), soft=False)
        self._cache = ray.remote(_CacheHolder).options(num_cpus=0, scheduling_strategy=here).remote(path)
        node_cls = ray.remote(num_cpus=0, max_concurrency=2)(_NodeVerifier)
        if actors is None:
            nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0]
            if not nodes:
                self.close()
                from alignforge.errors import AlignforgeError

                raise AlignforgeError("verify --executor ray: the Ray cluster has no alive node with CPUs")
            strategies: list[Any] = [NodeAffinitySchedulingStrategy(n, soft=False) for n in nodes]
        else:
            strategies = ["SPREAD"] * actors
        self._actors = [
            node_cls.options(scheduling_strategy=s).remote(self._cache, workers, isolation)
            for s in strategies
        ]
        self._pools_started = False

    @property
    def actor_count(self) -> int:
        return len(self._actors)

    @property
    def connected(self) -> bool:
        """Whether the Ray session this verifier's actors live in is still the current one."""
        ray = self._ray
        if self._closed or not ray.is_initialized():
            return False
        ctx = ray.get_runtime_context()
        return (ctx.get_node_id(), ctx.get_job_id()) == self._session

    def _get(self, refs: Any) -> Any:
        try:
            return self._ray.get(refs)
        except self._ray.exceptions.RayError as exc:
            from alignforge.errors import AlignforgeError

            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            raise AlignforgeError(f"verify --executor ray: {type(exc).__name__}: {first}") from exc

    def start_pools(self) -> list[dict[str, Any]]:
        """Start every actor's sandbox pool; a pool that fell back to weaker isolation says so on
        stderr in one line (``warning: ray node ...: sandbox isolation fell back: ...``)."""
        infos: list[dict[str, Any]] = self._get([a.start_pool.remote() for a in self._actors])
        if not self._pools_started:
            for line in sorted(
                {f"ray node {i['node'][:12]}: {i['fallback']}" for i in infos if i["fallback"]}
            ):
                print(f"warning: {line}", file=sys.stderr, flush=True)
            self._pools_started = True
        return infos

    def stats(self) -> dict[str, Any]:
        """``cache``: the shared cache's hits, misses and verdicts stored; ``actors``: each actor's
        node, pid, pool size, batches and rows verified."""
        cache = self._get(self._cache.stats.remote())
        return {"cache": cache, "actors": self._get([a.describe.remote() for a in self._actors])}

    def map(
        self,
        tasks: str | os.PathLike[str] | Mapping[str, Any],
        completions: Iterable[Mapping[str, Any]],
        *,
        timeout_s: float = 5.0,
        partial: bool = False,
        memory_mb: int = 1024,
        retry_timeouts: bool = True,
        batch_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield one verdict per completion, in input order: what
        :func:`~alignforge.verify.verify_completions` yields for the same arguments. (One
        difference: a duplicate of a sample that timed out reuses that verdict; the local engine
        reuses it only while the first run is in flight, since timeouts are not cached.)"""
        from alignforge.verify.tasks import load_tasks

        if self._closed:
            raise RuntimeError("this RayVerifier is closed")
        task_map = (
            tasks
            if isinstance(tasks, dict) and all("_key" in t for t in tasks.values())
            else load_tasks(tasks)
        )
        if not self._pools_started and any(t["domain"] == "code" for t in task_map.values()):
            self.start_pools()
        limits = (timeout_s, partial, memory_mb)
        opts = {
            "timeout_s": timeout_s,
            "partial": partial,
            "memory_mb": memory_mb,
            "retry_timeouts": retry_timeouts,
        }
        size = batch_size or self.batch_size
        counters: dict[str, int] = {}
        first: dict[str, dict[str, Any] | None] = {}  # key -> the verdict of its first occurrence
        order: deque[tuple[_Batch | None, int, str, dict[str, Any]]] = deque()
        inflight: deque[_Batch] = deque()
        batch = _Batch(0)
        for i, row in enumerate(completions):
            task, head = _sample_head(row, i, task_map, counters)
            key = _sample_key(task, str(row.get("completion_style") or "body"), row["completion"], limits)
            if key in first:
                order.append((None, 0, key, head))
                continue
            first[key] = None
            order.append((batch, len(batch.rows), key, head))
            batch.rows.append({**row, **head})
            batch.keys.append(key)
            batch.tasks[head["task_id"]] = task
            if len(batch.rows) >= size:
                self._send(batch, opts)
                inflight.append(batch)
                batch = _Batch(batch.no + 1)
                while len(inflight) > 2 * len(self._actors):
                    yield from self._drain(order, first, inflight.popleft().no)
        if batch.rows:
            self._send(batch, opts)
        yield from self._drain(order, first, batch.no)

    def _send(self, batch: _Batch, opts: dict[str, Any]) -> None:
        actor = self._actors[self._next % len(self._actors)]
        self._next += 1
        batch.ref = actor.verify.remote(batch.tasks, batch.rows, batch.keys, opts)

    def _drain(
        self,
        order: deque[tuple[_Batch | None, int, str, dict[str, Any]]],
        first: dict[str, dict[str, Any] | None],
        upto: int,
    ) -> Iterator[dict[str, Any]]:
        """Yield the verdicts at the front of ``order`` up to the last one of batch ``upto``."""
        while order and (order[0][0] is None or order[0][0].no <= upto):
            batch, pos, key, head = order.popleft()
            if batch is None:  # a duplicate: its first occurrence came earlier and is back
                done = first[key]
                assert done is not None
                yield {
                    **head,
                    **{k: v for k, v in done.items() if k not in head and k != "cache_hit"},
                    "cache_hit": True,
                }
                continue
            if batch.result is None:
                batch.result = self._get(batch.ref)
                if len(batch.result) != len(batch.rows):
                    raise RuntimeError(
                        f"a Ray verifier returned {len(batch.result)} verdicts for {len(batch.rows)} rows"
                    )
            verdict = batch.result[pos]
            if (verdict["task_id"], verdict["sample_index"]) != (head["task_id"], head["sample_index"]):
                raise RuntimeError("a Ray verifier returned verdicts out of order")
            first[key] = verdict
            yield verdict

    def close(self) -> None:
        """Close every actor's pool and end the actors; shut Ray down if this verifier started it."""
        if self._closed:
            return
        self._closed = True
        ray = self._ray
        if not ray.is_initialized():
            return
        actors = getattr(self, "_actors", [])
        with contextlib.suppress(ray.exceptions.RayError):  # an actor already gone has no pool to close
            ray.get([a.close.remote() for a in actors])
        for actor in [*actors, self._cache]:
            ray.kill(actor)
        if self._owns_ray:
            ray.shutdown()

    def __enter__(self) -> RayVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
