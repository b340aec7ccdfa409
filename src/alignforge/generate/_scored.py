"""Answer a batch of requests and score each answer with the judge (shared by SFT and KTO)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alignforge.generate._strategies import answer_request, complete
from alignforge.judge.rubric import Judge, JudgeResult
from alignforge.llm.base import LLM, ChatRequest, LLMError
from alignforge.stages import Tracker

__all__ = ["Job", "Scored", "answer_and_score", "job_request"]


@dataclass
class Job:
    item_id: str
    messages: list[dict[str, str]]  # what the model answers
    prompt_text: str  # what the judge sees as the request
    temperature: float = 0.3
    seed: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scored:
    job: Job
    response: str | None = None
    judge: JudgeResult | None = None
    error: str | None = None


def job_request(job: Job, max_tokens: int) -> ChatRequest:
    """The request :func:`answer_and_score` sends to answer ``job`` (a dry run prices it)."""
    return answer_request(job.messages, temperature=job.temperature, max_tokens=max_tokens, seed=job.seed)


def answer_and_score(
    llm: LLM, judge: Judge, tracker: Tracker, jobs: list[Job], *, max_tokens: int
) -> list[Scored]:
    texts = complete(
        llm,
        [j.messages for j in jobs],
        temperature=[j.temperature for j in jobs],
        max_tokens=max_tokens,
        seeds=[j.seed for j in jobs],
        tracker=tracker,
    )
    out = [Scored(j) for j in jobs]
    live = []
    for s, t in zip(out, texts, strict=True):
        if isinstance(t, LLMError):
            s.error = f"answer: {t.kind}: {t.message}"
        else:
            s.response = t
            live.append(s)
    results = judge.score_many([(s.job.prompt_text, s.response or "") for s in live])
    for s, r in zip(live, results, strict=True):
        s.judge = r
        if r.status == "error":
            s.error = f"judge: {r.error}"
    return out
