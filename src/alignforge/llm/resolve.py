"""One way to turn a model spec (``local``, ``openai:gpt-4o``, ``anthropic:...``) into an LLM for a stage."""

from __future__ import annotations

import os
from typing import Any

from alignforge.errors import ConfigError
from alignforge.llm.base import LLM

__all__ = ["resolve_llm", "resolve_llms"]


def resolve_llm(
    model: str | LLM,
    *,
    cache: str | os.PathLike[str] | None,
    options: dict[str, Any] | None = None,
    budget: Any = None,
) -> LLM:
    """An ``LLM`` from a spec (``local``, ``openai:gpt-4o``, ...) behind the SQLite request cache, or one given as is.

    With ``budget`` (an ``alignforge.llm.Budget`` shared by every model of the run) no call is sent
    whose worst-case cost no longer fits; it ends as ``LLMError("budget")`` instead.
    """
    if isinstance(model, str):
        from alignforge.llm import get_llm

        model = get_llm(model, cache=cache, **(options or {}))
    elif options:
        raise ConfigError(
            f"backend options {sorted(options)} were given for an LLM object ({model.name}); "
            "they apply to a model spec such as 'openai:gpt-4o'"
        )
    if budget is not None:
        from alignforge.llm import BudgetedLLM

        model = BudgetedLLM(model, budget)
    return model


def resolve_llms(
    model: str | LLM,
    options: dict[str, Any] | None,
    *,
    judge: tuple[str | LLM | None, dict[str, Any] | None],
    weak: tuple[str | LLM | None, dict[str, Any] | None] = (None, None),
    cache: str | os.PathLike[str] | None,
    max_cost: float | None,
) -> tuple[LLM, LLM, LLM | None, Any]:
    """(the run's LLM, its judge, the weak model, the budget they share).

    ``judge`` and ``weak`` are ``(spec, options)``; the judge is the run's LLM itself when no judge
    model is named, the weak model None. The budget (``max_cost`` USD) is None without a cap.
    """
    from alignforge.llm import Budget

    budget = Budget(max_cost) if max_cost is not None else None
    llm = resolve_llm(model, cache=cache, options=options, budget=budget)
    jllm = resolve_llm(judge[0], cache=cache, options=judge[1], budget=budget) if judge[0] else llm
    wllm = resolve_llm(weak[0], cache=cache, options=weak[1], budget=budget) if weak[0] else None
    return llm, jllm, wllm, budget
