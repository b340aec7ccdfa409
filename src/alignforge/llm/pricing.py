"""Token prices per model (USD per 1M tokens) and a budget that stops a run cleanly.

Prices are list prices for the models most used to make post-training data; a
model matches the longest known prefix, so ``gpt-4o-2024-08-06`` is priced as
``gpt-4o`` and ``claude-sonnet-4-5-20250929`` as ``claude-sonnet-4-5``. A model with
no known price has cost ``None`` (unknown), never a made-up zero: pass the
backend option ``price=(input, output)`` for it, or ``price=(0, 0)`` for a
self-hosted server.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRICES", "Price", "price_of", "estimate_cost", "rough_prompt_tokens"]


@dataclass(frozen=True, slots=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_mtok + completion_tokens * self.output_per_mtok) / 1e6


# USD per 1M tokens (input, output).
PRICES: dict[str, Price] = {
    "local": Price(0.0, 0.0),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "claude-opus-4-5": Price(5.00, 25.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-opus-4": Price(15.00, 75.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-3-5-haiku": Price(0.80, 4.00),
}


def price_of(model: str) -> Price | None:
    """The price of ``model`` (longest known prefix; ``local`` and ``local:...`` are free), or None."""
    name = model.split(":", 1)[1] if model.startswith(("openai:", "anthropic:")) else model
    if name == "local" or name.startswith("local:"):
        return PRICES["local"]
    best = None
    for known in PRICES:
        if (name == known or name.startswith(known + "-")) and (best is None or len(known) > len(best)):
            best = known
    return PRICES[best] if best else None


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for one call of ``model``; None when the model has no known price."""
    price = price_of(model)
    return None if price is None else price.cost(prompt_tokens, completion_tokens)


def rough_prompt_tokens(text_chars: int, n_messages: int) -> int:
    """An upper-leaning token estimate for budgeting and dry runs (about 3 characters per token)."""
    return text_chars // 3 + 4 * n_messages + 1
