"""Rubric scoring on 0-10 with a rationale; a score that does not parse is ``parse_failed``, never a number."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alignforge.judge import _prompts
from alignforge.judge._ask import AskParams, JudgeStatus, ask_strict, first_requests
from alignforge.judge._parse import parse_choice, parse_score, parse_yes_no_fields
from alignforge.judge._prompts import Messages
from alignforge.llm.base import LLM, ChatRequest, ChatResponse

__all__ = ["JudgeStatus", "JudgeResult", "FlawCheck", "PairwiseResult", "Judge", "judge_response"]


@dataclass(slots=True)
class JudgeResult:
    """``score`` is set only when ``status == "ok"``; ``parse_failed`` and ``error`` carry no number."""

    status: JudgeStatus  # ok | parse_failed | error
    score: float | None
    rationale: str
    raw: str
    attempts: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is JudgeStatus.OK


@dataclass(slots=True)
class FlawCheck:
    status: JudgeStatus
    flaw_present: bool | None
    fluent: bool | None
    rationale: str
    raw: str

    @property
    def confirmed(self) -> bool:
        return self.status is JudgeStatus.OK and bool(self.flaw_present) and bool(self.fluent)


@dataclass(slots=True)
class PairwiseResult:
    """Both orders asked; ``winner`` is ``a``/``b``/``tie`` when they agree, else ``None`` (see statuses)."""

    winner: str | None
    agreement: bool
    first: str | None  # winner with a shown first ("a" | "b" | "tie"), None when it did not parse
    second: str | None  # winner with the order swapped, mapped back to a/b
    status: JudgeStatus  # ok | disagree | parse_failed | error
    rationale: str


def _rationale_of(raw: str) -> str:
    parsed = parse_score(raw)
    if parsed is not None:
        return parsed.rationale
    for line in raw.splitlines():
        if line.lower().lstrip(" *").startswith("rationale"):
            return line.split(":", 1)[-1].strip()
    return ""


class Judge:
    """An LLM grader. ``score_many`` batches its requests; answers that do not parse are re-asked ``retries`` times."""

    def __init__(
        self,
        llm: LLM,
        *,
        rubric: str = _prompts.RUBRIC,
        max_tokens: int = 96,
        temperature: float = 0.0,
        retries: int = 1,
        model: str = "",
        on_usage: Callable[[ChatResponse], Any] | None = None,
    ) -> None:
        self.llm = llm
        self.rubric = rubric
        self.params = AskParams(max_tokens=max_tokens, temperature=temperature, model=model, retries=retries)
        self.on_usage = on_usage

    @property
    def name(self) -> str:
        return getattr(self.llm, "name", type(self.llm).__name__)

    def score_many(
        self, items: Sequence[tuple[str, str]], *, references: Sequence[str | None] | None = None
    ) -> list[JudgeResult]:
        """Score ``(prompt, response)`` pairs; ``references`` (correct answers) sharpen the rubric where known."""
        answers = ask_strict(
            self.llm,
            self._score_convs(items, references),
            parse_score,
            retry_message=_prompts.SCORE_RETRY,
            params=self.params,
            on_usage=self.on_usage,
        )
        out = []
        for a in answers:
            if a.value is not None:
                out.append(JudgeResult(JudgeStatus.OK, a.value.score, a.value.rationale, a.raw, a.attempts))
            else:
                out.append(JudgeResult(a.status, None, _rationale_of(a.raw), a.raw, a.attempts, a.error))
        return out

    def score(self, prompt: str, response: str, *, reference: str | None = None) -> JudgeResult:
        return self.score_many([(prompt, response)], references=[reference])[0]

    def check_flaws(self, items: Sequence[tuple[str, str, str, str]]) -> list[FlawCheck]:
        """``(prompt, response, flaw_name, flaw_description)``: does the response show the flaw, and is it fluent?"""

        def parse(text: str) -> dict[str, bool] | None:
            return parse_yes_no_fields(text, ("Flaw", "Fluent"))

        answers = ask_strict(
            self.llm,
            self._flaw_convs(items),
            parse,
            retry_message=_prompts.FLAW_RETRY,
            params=self.params,
            on_usage=self.on_usage,
        )
        out = []
        for a in answers:
            rat = _rationale_of(a.raw)
            if a.value is not None:
                out.append(FlawCheck(JudgeStatus.OK, a.value["Flaw"], a.value["Fluent"], rat, a.raw))
            else:
                out.append(FlawCheck(a.status, None, None, rat, a.raw))
        return out

    def pairwise_many(self, items: Sequence[tuple[str, str, str]]) -> list[PairwiseResult]:
        """``(prompt, a, b)``: asks with a first and with b first, and records whether the two verdicts agree."""

        def parse(text: str) -> str | None:
            return parse_choice(text, "Winner", ("a", "b", "tie"))

        answers = ask_strict(
            self.llm,
            self._pair_convs(items),
            parse,
            retry_message=_prompts.PAIR_RETRY,
            params=self.params,
            on_usage=self.on_usage,
        )
        swap = {"a": "b", "b": "a", "tie": "tie"}
        out = []
        for k in range(len(items)):
            fa, sa = answers[2 * k], answers[2 * k + 1]
            first = fa.value
            second = swap[sa.value] if sa.value is not None else None
            rationale = _rationale_of(fa.raw)
            if JudgeStatus.ERROR in (fa.status, sa.status):
                out.append(PairwiseResult(None, False, first, second, JudgeStatus.ERROR, rationale))
            elif first is None or second is None:
                out.append(PairwiseResult(None, False, first, second, JudgeStatus.PARSE_FAILED, rationale))
            elif first == second:
                out.append(PairwiseResult(first, True, first, second, JudgeStatus.OK, rationale))
            else:
                out.append(PairwiseResult(None, False, first, second, JudgeStatus.DISAGREE, rationale))
        return out

    # The first requests of score_many / check_flaws / pairwise_many, for dry-run estimates.
    def score_requests(
        self, items: Sequence[tuple[str, str]], *, references: Sequence[str | None] | None = None
    ) -> list[ChatRequest]:
        return first_requests(self._score_convs(items, references), self.params)

    def flaw_requests(self, items: Sequence[tuple[str, str, str, str]]) -> list[ChatRequest]:
        return first_requests(self._flaw_convs(items), self.params)

    def pairwise_requests(self, items: Sequence[tuple[str, str, str]]) -> list[ChatRequest]:
        return first_requests(self._pair_convs(items), self.params)

    def _score_convs(
        self, items: Sequence[tuple[str, str]], references: Sequence[str | None] | None
    ) -> list[Messages]:
        refs = references if references is not None else [None] * len(items)
        return [
            _prompts.score_messages(p, r, rubric=self.rubric, reference=ref)
            for (p, r), ref in zip(items, refs, strict=True)
        ]

    @staticmethod
    def _flaw_convs(items: Sequence[tuple[str, str, str, str]]) -> list[Messages]:
        return [
            _prompts.flaw_messages(p, r, flaw_name=name, flaw_description=desc) for p, r, name, desc in items
        ]

    @staticmethod
    def _pair_convs(items: Sequence[tuple[str, str, str]]) -> list[Messages]:
        convs = []
        for p, a, b in items:
            convs.append(_prompts.pairwise_messages(p, a, b))
            convs.append(_prompts.pairwise_messages(p, b, a))
        return convs


def judge_response(
    prompt: str,
    response: str,
    *,
    model: str = "local",
    llm: LLM | None = None,
    reference: str | None = None,
    rubric: str = _prompts.RUBRIC,
    max_tokens: int = 96,
    cache: str | None = None,
) -> JudgeResult:
    """Score one response on 0-10 (``status="parse_failed"`` and ``score=None`` when the judge's answer won't parse)."""
    if llm is None:
        from alignforge.llm import get_llm

        llm = get_llm(model, cache=cache)
    return Judge(llm, rubric=rubric, max_tokens=max_tokens).score(prompt, response, reference=reference)
