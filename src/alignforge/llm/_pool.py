"""One asyncio event loop in a background thread runs many API calls; results come back in the caller's thread."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Sequence

from alignforge.llm.base import ChatRequest, ChatResponse, LLMError
from alignforge.llm.retry import AIMDLimiter, Failure, RetryPolicy

Call = Callable[[ChatRequest], Awaitable[ChatResponse]]
Classify = Callable[[BaseException], Failure]


class AsyncPool:
    """Runs ``call(request)`` for many requests at an AIMD-limited concurrency with retries."""

    def __init__(self, *, concurrency: int, retry: RetryPolicy, classify: Classify) -> None:
        self.limiter = AIMDLimiter(concurrency)
        self.retry = retry
        self.classify = classify
        self.attempts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="alignforge-llm-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
        return self._loop

    def run(
        self,
        requests: Sequence[ChatRequest],
        call: Call,
        on_result: Callable[[int, ChatResponse | LLMError], None] | None,
    ) -> list[ChatResponse | LLMError]:
        results: list[ChatResponse | LLMError | None] = [None] * len(requests)
        if not requests:
            return []
        q: queue.SimpleQueue[tuple[int, ChatResponse | LLMError]] = queue.SimpleQueue()
        fut = asyncio.run_coroutine_threadsafe(self._run_all(requests, call, q), self.loop)
        got = 0
        try:
            while got < len(requests):
                try:
                    i, res = q.get(timeout=0.5)
                except queue.Empty:
                    if fut.done():
                        fut.result()  # re-raises a crash of the loop side instead of hanging
                    continue
                results[i] = res
                got += 1
                if on_result is not None:
                    on_result(i, res)
        except BaseException:  # Ctrl-C or a failing on_result: stop sending, leave nothing running
            fut.cancel()
            raise
        return results  # type: ignore[return-value]

    async def _run_all(self, requests: Sequence[ChatRequest], call: Call, q: queue.SimpleQueue) -> None:  # type: ignore[type-arg]
        await asyncio.gather(*(self._one(i, r, call, q) for i, r in enumerate(requests)))

    async def _one(self, i: int, req: ChatRequest, call: Call, q: queue.SimpleQueue) -> None:  # type: ignore[type-arg]
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            self.attempts += 1
            t0 = time.perf_counter()
            try:
                resp = await call(req)
            except asyncio.CancelledError:
                self.limiter.release(ok=None)
                raise
            except Exception as exc:
                fail = self.classify(exc)
                self.limiter.release(ok=False if fail.kind == "rate_limit" else None)
            else:
                self.limiter.release(ok=True)
                resp.latency_s = time.perf_counter() - t0
                q.put((i, resp))
                return
            if not fail.retryable or attempt >= self.retry.max_attempts:
                q.put((i, LLMError(fail.kind, fail.message, attempt)))
                return
            await asyncio.sleep(self.retry.delay(attempt, fail.retry_after))

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop = None
