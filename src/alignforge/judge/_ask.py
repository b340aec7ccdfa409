"""Ask a batch of questions whose answers must parse; re-ask the ones that don't, once per retry.

A re-ask continues the conversation (the bad answer, then a format reminder), so it is a
different request even at temperature 0 and is cached on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError

__all__ = ["Answer", "JudgeStatus", "ask_strict", "AskParams", "first_requests"]

T = TypeVar("T")


class JudgeStatus(StrEnum):
    """How a judge question ended; only ``ok`` carries a value (a score, a verdict)."""

    OK = "ok"
    PARSE_FAILED = "parse_failed"  # answered, but not in the format, even after the re-asks
    ERROR = "error"  # the request failed (LLM error, budget)
    DISAGREE = "disagree"  # pairwise only: the two orders named different winners


@dataclass(frozen=True, slots=True)
class AskParams:
    max_tokens: int = 96
    temperature: float = 0.0
    model: str = ""
    retries: int = 1


@dataclass(slots=True)
class Answer(Generic[T]):
    """One question's outcome: ``value`` parsed (``ok``), or ``parse_failed`` / ``error`` with no value."""

    value: T | None
    status: JudgeStatus
    raw: str
    attempts: int
    error: str | None = None
    cost_usd: float = 0.0


def _request(conv: list[dict[str, str]], params: AskParams) -> ChatRequest:
    return ChatRequest.chat(
        conv, temperature=params.temperature, max_tokens=params.max_tokens, model=params.model
    )


def first_requests(conversations: Sequence[list[dict[str, str]]], params: AskParams) -> list[ChatRequest]:
    """The requests :func:`ask_strict` sends first (a dry run prices them; re-asks come on top)."""
    return [_request(list(c), params) for c in conversations]


def ask_strict(
    llm: LLM,
    conversations: Sequence[list[dict[str, str]]],
    parse: Callable[[str], T | None],
    *,
    retry_message: str,
    params: AskParams,
    on_usage: Callable[[ChatResponse], Any] | None = None,
) -> list[Answer[T]]:
    answers: list[Answer[T] | None] = [None] * len(conversations)
    convs = [list(c) for c in conversations]
    pending = list(range(len(convs)))
    raws: dict[int, str] = {}
    costs = [0.0] * len(convs)
    for attempt in range(1, params.retries + 2):
        if not pending:
            break
        reqs = [_request(convs[i], params) for i in pending]
        results = llm.generate(reqs)
        still: list[int] = []
        for i, res in zip(pending, results, strict=True):
            if isinstance(res, LLMError):
                answers[i] = Answer(
                    None, JudgeStatus.ERROR, raws.get(i, ""), attempt, f"{res.kind}: {res.message}", costs[i]
                )
                continue
            if on_usage is not None:
                on_usage(res)
            costs[i] += res.usage.cost_usd
            raws[i] = res.text
            value = parse(res.text)
            if value is not None:
                answers[i] = Answer(value, JudgeStatus.OK, res.text, attempt, None, costs[i])
            elif attempt <= params.retries:
                convs[i] = [
                    *convs[i],
                    {"role": "assistant", "content": res.text},
                    {"role": "user", "content": retry_message},
                ]
                still.append(i)
            else:
                answers[i] = Answer(None, JudgeStatus.PARSE_FAILED, res.text, attempt, None, costs[i])
        pending = still
    return [a if a is not None else Answer(None, JudgeStatus.ERROR, "", 0, "no answer") for a in answers]
