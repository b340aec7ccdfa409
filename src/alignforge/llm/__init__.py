"""LLM backends behind one registry, with a SQLite request cache, retries, cost and budgets.

    from alignforge.llm import ChatRequest, get_llm
    llm = get_llm("local", cache="cache.sqlite")           # or "openai:gpt-4o-mini", "anthropic:..."
    results = llm.generate([ChatRequest.chat("What is 15% of 80?", max_tokens=32)])

A stage gets its LLM from a spec with :func:`resolve_llm`. This package reads and writes no stage
files: rows, side files and resume belong to the stages (``alignforge.stages``). Importing it is
light: torch, transformers and the API SDKs load on first use.
"""

from __future__ import annotations

from alignforge.llm._options import MissingCredentials, parse_cli_options
from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError, Message, Usage
from alignforge.llm.budget import Budget, BudgetedLLM, CostEstimate, estimate_requests
from alignforge.llm.cache import CachedLLM, ResponseCache
from alignforge.llm.pricing import PRICES, Price, estimate_cost, price_of
from alignforge.llm.registry import backends, get_llm, llm_for_estimate, register_backend
from alignforge.llm.resolve import resolve_llm, resolve_llms

__all__ = [
    "LLM",
    "ChatRequest",
    "ChatResponse",
    "LLMError",
    "Message",
    "Usage",
    "get_llm",
    "resolve_llm",
    "resolve_llms",
    "llm_for_estimate",
    "register_backend",
    "backends",
    "parse_cli_options",
    "MissingCredentials",
    "CachedLLM",
    "ResponseCache",
    "Budget",
    "BudgetedLLM",
    "CostEstimate",
    "estimate_requests",
    "PRICES",
    "Price",
    "estimate_cost",
    "price_of",
]
