"""The contract every LLM backend meets: canonical requests in, responses (or errors) out.

A request is a frozen value whose :meth:`ChatRequest.key` hashes everything that
decides the answer (model, parameters, messages, schema), so it can be cached and a
rerun repeats no finished call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson

__all__ = ["Message", "ChatRequest", "ChatResponse", "LLMError", "LLM", "Usage"]


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: tuple[Message, ...]
    model: str = ""
    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    json_schema: str | None = None  # canonical JSON text of a schema the answer must follow
    extra: tuple[tuple[str, Any], ...] = ()  # backend-specific options, sorted by key

    @staticmethod
    def chat(
        messages: Sequence[dict[str, str] | Message] | str, *, system: str | None = None, **params: Any
    ) -> ChatRequest:
        """Build a request from a prompt string or a list of ``{"role", "content"}`` dicts."""
        if isinstance(messages, str):
            msgs = [Message("user", messages)]
        else:
            msgs = [m if isinstance(m, Message) else Message(m["role"], m["content"]) for m in messages]
        if system:
            msgs.insert(0, Message("system", system))
        if "stop" in params and params["stop"] is not None:
            params["stop"] = tuple(params["stop"])
        return ChatRequest(messages=tuple(msgs), **params)

    def key(self) -> str:
        """sha256 of the canonical request: the cache key."""
        body = {
            "model": self.model,
            "messages": [[m.role, m.content] for m in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop),
            "json_schema": self.json_schema,
            "extra": [[k, v] for k, v in self.extra],
        }
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.messages]


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(slots=True)
class ChatResponse:
    text: str
    model: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    latency_s: float = 0.0


@dataclass(slots=True)
class LLMError:
    """A request that failed for good (after retries); it goes to the side file, never into data."""

    kind: str  # "timeout" | "connection" | "rate_limit" | "server" | "bad_request" | "budget" | ...
    message: str
    attempts: int = 1


@runtime_checkable
class LLM(Protocol):
    """A backend. ``generate`` returns one result per request, in order, and never raises for one bad request."""

    name: str

    def generate(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_result: Callable[[int, ChatResponse | LLMError], None] | None = None,
    ) -> list[ChatResponse | LLMError]: ...
