"""Any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp server, Ollama, ``alignforge serve``).

Uses the official ``openai`` SDK's async client on one background event loop, with
the SDK's own retries off (``max_retries=0``) so that backoff, Retry-After and the
AIMD concurrency limit are ours (see :mod:`alignforge.llm.retry`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from alignforge._deps import require
from alignforge.errors import ConfigError
from alignforge.llm._options import MissingCredentials, parse_options
from alignforge.llm._pool import AsyncPool
from alignforge.llm._transport import http_client
from alignforge.llm.base import ChatRequest, ChatResponse, LLMError, Usage
from alignforge.llm.pricing import Price, price_of
from alignforge.llm.retry import Failure, RetryPolicy, classify_http_error

__all__ = ["OpenAILLM", "OpenAIOptions"]


@dataclass
class OpenAIOptions:
    base_url: str | None = None  # default: $OPENAI_BASE_URL, else api.openai.com
    api_key: str | None = None  # default: $OPENAI_API_KEY ("none" for a local server without auth)
    organization: str | None = None
    timeout: float = 120.0  # seconds per attempt
    concurrency: int = 16  # the most requests in flight; AIMD lowers it on 429 and climbs back
    max_attempts: int = 6
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    price: tuple[float, float] | None = None  # USD per 1M (input, output) tokens; default: known price table
    max_tokens_field: str = "auto"  # auto | max_tokens | max_completion_tokens
    http: str = "lean"  # lean (our keep-alive transport, low CPU per call) | httpx (the SDK's default)


class OpenAILLM:
    """The ``openai:<model>`` backend."""

    def __init__(self, model: str, **options: Any) -> None:
        self.options = o = parse_options(OpenAIOptions, "openai", options)
        if o.concurrency < 1 or o.max_attempts < 1:
            raise ConfigError("backend 'openai' options 'concurrency' and 'max_attempts' must be >= 1")
        if o.http not in ("lean", "httpx"):
            raise ConfigError(f"backend 'openai' option 'http' must be lean or httpx, got {o.http!r}")
        if o.max_tokens_field not in ("auto", "max_tokens", "max_completion_tokens"):
            raise ConfigError(
                f"backend 'openai' option 'max_tokens_field' must be auto, max_tokens or "
                f"max_completion_tokens, got {o.max_tokens_field!r}"
            )
        self.model = model
        self.name = f"openai:{model}"
        self.base_url = o.base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.api_key = o.api_key or os.environ.get("OPENAI_API_KEY")
        if not self.api_key:
            if self.base_url is None:
                raise MissingCredentials(
                    "openai backend: set OPENAI_API_KEY or pass api_key=... "
                    "(or base_url=... for a local server)"
                )
            self.api_key = "none"
        self.price: Price | None = Price(*o.price) if o.price is not None else price_of(model)
        field = o.max_tokens_field
        self._max_field = (
            ("max_completion_tokens" if self.base_url is None else "max_tokens") if field == "auto" else field
        )
        openai = require("openai", extra="api")
        self._sdk = openai
        self._httpx = require("httpx2", extra="api")
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
        """The JSON body of ``POST /chat/completions`` for ``req`` (``extra`` merged in at the top level)."""
        kw: dict[str, Any] = {
            "model": self.model,
            "messages": req.as_dicts(),
            "temperature": req.temperature,
            "top_p": req.top_p,
            self._max_field: req.max_tokens,
        }
        if req.seed is not None:
            kw["seed"] = req.seed
        if req.stop:
            kw["stop"] = list(req.stop)
        if req.json_schema:
            kw["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": orjson.loads(req.json_schema)},
            }
        kw.update(dict(req.extra))
        return kw

    async def _call(self, req: ChatRequest) -> ChatResponse:
        if self._client is None:  # created on the pool's loop, where it is used
            self._client = self._sdk.AsyncOpenAI(
                api_key=self.api_key,
                base_url=self.base_url,
                organization=self.options.organization,
                timeout=self.options.timeout,
                max_retries=0,
                http_client=http_client(self.options.http, self.options.timeout),
            )
        # The SDK's documented generic ``post`` skips its typed-params transform and model parsing, which
        # cost more CPU per call than the network wait at high concurrency; errors map exactly as usual.
        raw = await self._client.post("/chat/completions", cast_to=self._httpx.Response, body=self.body(req))
        data = orjson.loads(raw.content)
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices:
            raise ValueError(f"the server's reply has no choices: {raw.content[:200]!r}")
        choice = choices[0]
        usage = data.get("usage") or {}
        pt = int(usage.get("prompt_tokens") or 0)
        ct = int(usage.get("completion_tokens") or 0)
        cost = self.price.cost(pt, ct) if self.price is not None else 0.0
        text = (choice.get("message") or {}).get("content") or ""
        return ChatResponse(
            text, data.get("model") or self.model, choice.get("finish_reason") or "stop", Usage(pt, ct, cost)
        )

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
