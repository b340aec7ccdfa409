"""Retries with backoff (honouring Retry-After) and AIMD concurrency for API backends.

Timeouts, dropped connections, 408/409/429 and 5xx are retried; other 4xx are not
(the request itself is wrong). A 429 halves the concurrency limit (at most once per
``cooldown_s``); each success adds ``1/limit``, so the limit climbs back by about
one per round of successes, up to the configured maximum.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["RetryPolicy", "Failure", "AIMDLimiter", "classify_http_error", "parse_retry_after"]

RETRY_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the server's Retry-After, else jittered backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str  # timeout | connection | rate_limit | server | bad_request | auth | ...
    message: str
    retryable: bool
    retry_after: float | None = None
    status: int | None = None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date); None when absent."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def classify_http_error(
    exc: BaseException,
    *,
    timeout_types: tuple[type, ...],
    connection_types: tuple[type, ...],
    status_types: tuple[type, ...],
) -> Failure:
    """Map an SDK exception (openai or anthropic: same shapes) to a :class:`Failure`."""
    name = type(exc).__name__
    if isinstance(exc, timeout_types):
        return Failure("timeout", f"{name}: {exc}", True)
    if isinstance(exc, connection_types):
        return Failure("connection", f"{name}: {exc}", True)
    if isinstance(exc, status_types):
        status = int(getattr(exc, "status_code", 0))
        response = getattr(exc, "response", None)
        retry_after = parse_retry_after(getattr(response, "headers", None))
        message = f"HTTP {status} {name}: {getattr(exc, 'message', exc)}"
        if status == 429:
            return Failure("rate_limit", message, True, retry_after, status)
        if status >= 500:
            return Failure("server", message, True, retry_after, status)
        if status in RETRY_STATUS:
            return Failure("server", message, True, retry_after, status)
        kind = {401: "auth", 403: "auth", 404: "not_found"}.get(status, "bad_request")
        return Failure(kind, message, False, None, status)
    return Failure("backend", f"{name}: {exc}", False)


class AIMDLimiter:
    """An async concurrency limit: additive increase on success, multiplicative decrease on 429.

    Waiters queue in FIFO order and a release hands its slot straight to the next one,
    so a slot costs O(1) however many requests wait (asyncio.Condition is O(waiters)).
    Use it from one event loop only.
    """

    def __init__(self, limit: int, *, min_limit: int = 1, cooldown_s: float = 1.0) -> None:
        self.max_limit = max(1, limit)
        self.min_limit = max(1, min(min_limit, self.max_limit))
        self.limit = float(self.max_limit)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.decreases = 0
        self._cooldown = cooldown_s
        self._last_decrease = -1e9
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if not self._waiters and self.in_flight < int(self.limit):
            self._take()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # the slot was handed over just as we were cancelled
                self.in_flight -= 1
                self._wake()
            raise

    def _take(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            fut = self._waiters.popleft()
            if not fut.done():
                self._take()
                fut.set_result(None)

    def release(self, *, ok: bool | None) -> None:
        """``ok=True`` success, ``False`` rate-limited, ``None`` another failure (no change)."""
        if ok:
            self.limit = min(float(self.max_limit), self.limit + 1.0 / self.limit)
        elif ok is False:
            now = time.monotonic()
            if now - self._last_decrease >= self._cooldown:
                self.limit = max(float(self.min_limit), self.limit / 2)
                self._last_decrease = now
                self.decreases += 1
        self.in_flight -= 1
        self._wake()
