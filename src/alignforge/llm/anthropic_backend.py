"""Anthropic's Messages API through the official ``anthropic`` SDK (async client, our retries).

System messages become the ``system`` parameter; temperature and top_p travel in the
body (SDK 2.x no longer has arguments for them); a request's ``json_schema`` is added
to it as an instruction (the answer is not forced to match it). Stop reasons map to
``stop`` (end_turn, stop_sequence) and ``length`` (max_tokens).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alignforge._deps import require
from alignforge.errors import ConfigError
from alignforge.llm._options import MissingCredentials, parse_options
from alignforge.llm._pool import AsyncPool
from alignforge.llm._transport import http_client
from alignforge.llm.base import ChatRequest, ChatResponse, LLMError, Usage
from alignforge.llm.pricing import Price, price_of
from alignforge.llm.retry import Failure, RetryPolicy, classify_http_error

__all__ = ["AnthropicLLM", "AnthropicOptions"]

_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}
_SCHEMA_HINT = "Answer with JSON only, following this JSON schema:\n"


@dataclass
class AnthropicOptions:
    base_url: str | None = None  # default: $ANTHROPIC_BASE_URL, else api.anthropic.com
    api_key: str | None = None  # default: $ANTHROPIC_API_KEY
    timeout: float = 300.0
    concurrency: int = 8
    max_attempts: int = 6
    retry_base_delay: float = 0.5
    retry_max_delay: float = 60.0
    price: tuple[float, float] | None = None  # USD per 1M (input, output) tokens; default: known price table
    http: str = "lean"  # lean | httpx (the SDK's default transport)


class AnthropicLLM:
    """The ``anthropic:<model>`` backend."""

    def __init__(self, model: str, **options: Any) -> None:
        self.options = o = parse_options(AnthropicOptions, "anthropic", options)
        if o.concurrency < 1 or o.max_attempts < 1:
            raise ConfigError("backend 'anthropic' options 'concurrency' and 'max_attempts' must be >= 1")
        if o.http not in ("lean", "httpx"):
            raise ConfigError(f"backend 'anthropic' option 'http' must be lean or httpx, got {o.http!r}")
        self.model = model
        self.name = f"anthropic:{model}"
        self.base_url = o.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        self.api_key = o.api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not self.api_key:
            raise MissingCredentials("anthropic backend: set ANTHROPIC_API_KEY or pass api_key=...")
        self.price: Price | None = Price(*o.price) if o.price is not None else price_of(model)
        self._sdk = require("anthropic", extra="api")
        self._client: Any = None
        self.pool = AsyncPool(
            concurrency=o.concurrency,
            retry=RetryPolicy(o.max_attempts, o.retry_base_delay, o.retry_max_delay),
            classify=self._classify,
        )

    def _classify(self, exc: BaseException) -> Failure:
        sdk = self._sdk
        return classify_http_error(
            exc,
            timeout_types=(sdk.APITimeoutError,),
            connection_types=(sdk.APIConnectionError,),
            status_types=(sdk.APIStatusError,),
        )

    def body(self, req: ChatRequest) -> dict[str, Any]:
        """The keyword arguments of ``messages.create`` for ``req``."""
        system = [m.content for m in req.messages if m.role == "system"]
        if req.json_schema:
            system.append(_SCHEMA_HINT + req.json_schema)
        kw: dict[str, Any] = {
            "model": self.model,
            "max_tokens": req.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in req.messages if m.role != "system"],
        }
        # SDK 2.x no longer names the sampling parameters; the API still takes them in the body.
        extra: dict[str, Any] = {"temperature": req.temperature}
        if system:
            kw["system"] = "\n\n".join(system)
        if req.top_p != 1.0:
            extra["top_p"] = req.top_p
        if req.stop:
            kw["stop_sequences"] = list(req.stop)
        kw["extra_body"] = {**extra, **dict(req.extra)}
        return kw

    async def _call(self, req: ChatRequest) -> ChatResponse:
        if self._client is None:  # created on the pool's loop, where it is used
            self._client = self._sdk.AsyncAnthropic(
                api_key=self.api_key,
                base_url=self.base_url,
                timeout=self.options.timeout,
                max_retries=0,
                http_client=http_client(self.options.http, self.options.timeout),
            )
        msg = await self._client.messages.create(**self.body(req))
        text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", "") == "text")
        pt = msg.usage.input_tokens or 0
        ct = msg.usage.output_tokens or 0
        cost = self.price.cost(pt, ct) if self.price is not None else 0.0
        finish = _FINISH.get(msg.stop_reason or "end_turn", msg.stop_reason or "stop")
        return ChatResponse(text, msg.model or self.model, finish, Usage(pt, ct, cost))

    def generate(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_result: Callable[[int, ChatResponse | LLMError], None] | None = None,
    ) -> list[ChatResponse | LLMError]:
        return self.pool.run(requests, self._call, on_result)

    def close(self) -> None:
        """Close the HTTP connections and stop the background event loop."""
        if self._client is not None and self.pool.running:
            asyncio.run_coroutine_threadsafe(self._client.close(), self.pool.loop).result(10)
            self._client = None
        self.pool.close()
