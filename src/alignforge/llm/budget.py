"""A spending cap for a run: requests whose worst case no longer fits end as ``LLMError(kind="budget")``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alignforge.errors import ConfigError
from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError
from alignforge.llm.pricing import Price, rough_prompt_tokens

__all__ = ["Budget", "BudgetExceeded", "BudgetedLLM", "CostEstimate", "estimate_requests", "worst_case_cost"]


class BudgetExceeded(Exception):
    """Internal signal: the next request's worst case does not fit in what is left."""


class Budget:
    """A spending cap shared by every request of a run (thread-safe).

    Before a request is sent its worst-case cost (prompt estimate + ``max_tokens``
    of output) is reserved; when it finishes the reservation is replaced by the
    real cost. A request whose worst case no longer fits is not sent: it ends as
    ``LLMError(kind="budget")``, so the cap is never exceeded.
    """

    def __init__(self, max_cost_usd: float) -> None:
        if max_cost_usd < 0:
            raise ConfigError(f"max cost must be >= 0, got {max_cost_usd}")
        self.max_cost_usd = float(max_cost_usd)
        self.spent_usd = 0.0
        self._reserved = 0.0
        self._lock = threading.Lock()
        self.stopped = False

    def reserve(self, amount: float) -> None:
        with self._lock:
            if self.stopped or self.spent_usd + self._reserved + amount > self.max_cost_usd + 1e-12:
                raise BudgetExceeded
            self._reserved += amount

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self.spent_usd += actual

    @property
    def remaining_usd(self) -> float:
        with self._lock:
            return self.max_cost_usd - self.spent_usd - self._reserved

    def __repr__(self) -> str:
        return f"Budget(max_cost_usd={self.max_cost_usd}, spent_usd={self.spent_usd:.6f})"


def worst_case_cost(price: Price, req: ChatRequest) -> float:
    chars = sum(len(m.content) for m in req.messages) + len(req.json_schema or "")
    return price.cost(rough_prompt_tokens(chars, len(req.messages)), req.max_tokens)


class BudgetedLLM:
    """Wrap ``llm`` so that its calls never spend more than ``budget`` allows.

    Each request reserves its worst-case cost before it is sent (cache hits of a
    wrapped :class:`CachedLLM` reserve nothing); requests that do not fit wait until
    the ones in flight settle at their real cost, and when nothing more fits the rest
    return ``LLMError(kind="budget")``. The backend must know its price.
    """

    def __init__(self, llm: LLM, budget: Budget | float) -> None:
        self.inner = llm
        self.name = llm.name
        self.budget = budget if isinstance(budget, Budget) else Budget(budget)
        price = getattr(llm, "price", None)
        if price is None:
            raise ConfigError(
                f"no price is known for {llm.name!r}, so a cost cap cannot be enforced; pass the backend option "
                "price=(input, output) in USD per 1M tokens (price=(0, 0) for a self-hosted server)"
            )
        self.price: Price = price

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def generate(
        self,
        requests: Sequence[ChatRequest],
        *,
        on_result: Callable[[int, ChatResponse | LLMError], None] | None = None,
    ) -> list[ChatResponse | LLMError]:
        results: list[ChatResponse | LLMError | None] = [None] * len(requests)
        cached_keys = getattr(self.inner, "cached_keys", None)
        free = cached_keys(requests) if cached_keys is not None else set()
        todo = list(range(len(requests)))
        while todo:
            sent: list[int] = []
            held: list[float] = []
            rest: list[int] = []
            for i in todo:
                cost = 0.0 if requests[i].key() in free else worst_case_cost(self.price, requests[i])
                if rest:
                    rest.append(i)
                    continue
                try:
                    self.budget.reserve(cost)
                except BudgetExceeded:
                    rest.append(i)
                    continue
                sent.append(i)
                held.append(cost)
            if not sent:
                self.budget.stopped = True  # stop cleanly: later calls send nothing either
                left = self.budget.remaining_usd
                for i in rest:
                    results[i] = LLMError(
                        "budget",
                        f"budget of ${self.budget.max_cost_usd:.4f} reached "
                        f"(${left:.4f} left); request not sent",
                    )
                    if on_result is not None:
                        on_result(i, results[i])  # type: ignore[arg-type]
                break

            def done(
                j: int, res: ChatResponse | LLMError, sent: list[int] = sent, held: list[float] = held
            ) -> None:
                i = sent[j]
                if results[i] is not None:
                    return
                self.budget.settle(held[j], res.usage.cost_usd if isinstance(res, ChatResponse) else 0.0)
                results[i] = res
                if on_result is not None:
                    on_result(i, res)

            out = self.inner.generate([requests[i] for i in sent], on_result=done)
            for j, res in enumerate(out):
                done(j, res)
            todo = rest
        return results  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """A pre-run (``--dry-run``) estimate: token counts are rough (~3 characters a token), cost a ceiling."""

    model: str
    requests: int
    cached: int
    prompt_tokens: int
    max_completion_tokens: int
    max_cost_usd: float | None  # None: no price known for the model

    def __str__(self) -> str:
        cost = (
            "cost unknown (no price for this model)"
            if self.max_cost_usd is None
            else f"at most ${self.max_cost_usd:,.4f}"
        )
        return (
            f"{self.model}: {self.requests:,} requests to send ({self.cached:,} more answered from the cache), "
            f"~{self.prompt_tokens:,} prompt tokens + up to {self.max_completion_tokens:,} completion tokens; "
            f"{cost}"
        )


def estimate_requests(llm: LLM, requests: Sequence[ChatRequest]) -> CostEstimate:
    """What sending ``requests`` through ``llm`` could cost, without sending anything."""
    cached_keys = getattr(llm, "cached_keys", None)
    free = cached_keys(requests) if cached_keys is not None else set()
    todo = [r for r in requests if r.key() not in free]
    prompt = sum(
        rough_prompt_tokens(
            sum(len(m.content) for m in r.messages) + len(r.json_schema or ""), len(r.messages)
        )
        for r in todo
    )
    completion = sum(r.max_tokens for r in todo)
    price: Price | None = getattr(llm, "price", None)
    cost = None if price is None else price.cost(prompt, completion)
    return CostEstimate(llm.name, len(todo), len(requests) - len(todo), prompt, completion, cost)
