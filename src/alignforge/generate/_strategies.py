"""The five ways to get a (chosen, rejected) pair, each filling a batch of candidates.

flaw         chosen = an answer (or the input's own answer), rejected = it rewritten with one planned flaw
strong-weak  chosen = the strong model's answer, rejected = the weak model's
reference    chosen = answer given a domain reference, rejected = answer without it
temperature  chosen = low-temperature answer, rejected = high-temperature answer
best-of-n    n sampled answers scored by the judge: chosen = best, rejected = worst
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alignforge.generate import templates
from alignforge.generate._inputs import PromptItem
from alignforge.generate.flaws import FLAWS
from alignforge.judge.rubric import Judge, JudgeResult
from alignforge.llm.base import LLM, ChatRequest, ChatResponse, LLMError
from alignforge.stages import Tracker, stand_in

__all__ = [
    "STRATEGIES",
    "Candidate",
    "GenContext",
    "complete",
    "answer_request",
    "plan_requests",
    "requests_per_candidate",
]


@dataclass
class GenContext:
    llm: LLM
    judge: Judge
    tracker: Tracker
    weak_llm: LLM | None = None
    max_tokens: int = 256
    temperature: float = 0.3
    low_temperature: float = 0.3
    high_temperature: float = 1.2
    best_of: int = 4
    model_name: str = "local"
    weak_name: str | None = None


@dataclass
class Candidate:
    cid: str
    index: int  # global candidate number (decides the flaw)
    round: int
    item: PromptItem
    flaw: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    chosen_model: str | None = None
    rejected_model: str | None = None
    chosen_judge: JudgeResult | None = None
    rejected_judge: JudgeResult | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def complete(
    llm: LLM,
    convs: Sequence[list[dict[str, str]]],
    *,
    temperature: float | Sequence[float],
    max_tokens: int,
    seeds: Sequence[int | None],
    tracker: Tracker,
) -> list[str | LLMError]:
    """One answer per conversation; an empty answer is an ``LLMError("empty")`` (it goes to the failures file)."""
    temps = [temperature] * len(convs) if isinstance(temperature, int | float) else list(temperature)
    reqs = [
        answer_request(c, temperature=t, max_tokens=max_tokens, seed=s)
        for c, t, s in zip(convs, temps, seeds, strict=True)
    ]
    out: list[str | LLMError] = []
    for res in llm.generate(reqs):
        if isinstance(res, ChatResponse):
            tracker.on_usage(res, llm.name)
            text = res.text.strip()
            out.append(text if text else LLMError("empty", "the model returned an empty answer"))
        else:
            out.append(res)
    return out


def answer_request(
    conv: list[dict[str, str]], *, temperature: float, max_tokens: int, seed: int | None
) -> ChatRequest:
    """The request :func:`complete` sends for one conversation."""
    return ChatRequest.chat(conv, temperature=temperature, max_tokens=max_tokens, seed=seed)


def _with_answers(
    cands: list[Candidate],
    llm: LLM,
    ctx: GenContext,
    *,
    convs: list[list[dict[str, str]]],
    temperature: float | None,
    side: str,
    model: str,
) -> None:
    """Fill ``side`` ("chosen"/"rejected") of the live candidates; ``temperature=None`` -> the per-round default."""
    live = [(c, conv) for c, conv in zip(cands, convs, strict=True) if c.error is None]
    temps = [_temp(ctx, c) if temperature is None else temperature for c, _ in live]
    texts = complete(
        llm,
        [conv for _, conv in live],
        temperature=temps,
        max_tokens=ctx.max_tokens,
        seeds=[c.round for c, _ in live],
        tracker=ctx.tracker,
    )
    for (c, _), t in zip(live, texts, strict=True):
        if isinstance(t, LLMError):
            c.error = f"{side}: {t.kind}: {t.message}"
        else:
            setattr(c, side, t)
            setattr(c, f"{side}_model", model)


def _temp(ctx: GenContext, c: Candidate) -> float:
    # Round 0 is the plain answer; a retry of the same prompt samples a little more freely to get a new one.
    return ctx.temperature if c.round == 0 else max(ctx.temperature, 0.7)


def _flaw(cands: list[Candidate], ctx: GenContext) -> None:
    need = [c for c in cands if not c.item.response]
    for c in cands:
        if c.item.response:
            c.chosen, c.chosen_model = c.item.response, "input"
    if need:
        _with_answers(
            need,
            ctx.llm,
            ctx,
            convs=[c.item.messages() for c in need],
            temperature=None,
            side="chosen",
            model=ctx.model_name,
        )
    live = [c for c in cands if c.error is None and c.chosen]
    convs = [
        templates.flaw_rewrite_messages(c.item.text, c.chosen or "", FLAWS[c.flaw or ""].instruction)
        for c in live
    ]
    texts = complete(
        ctx.llm,
        convs,
        temperature=0.7,
        max_tokens=ctx.max_tokens,
        seeds=[c.round for c in live],
        tracker=ctx.tracker,
    )
    for c, t in zip(live, texts, strict=True):
        if isinstance(t, LLMError):
            c.error = f"rejected: {t.kind}: {t.message}"
        else:
            c.rejected, c.rejected_model = templates.clean_rewrite(t) or t, ctx.model_name


def _strong_weak(cands: list[Candidate], ctx: GenContext) -> None:
    if ctx.weak_llm is None:
        from alignforge.errors import ConfigError

        raise ConfigError("strategy strong-weak needs a weak model: --weak-model (e.g. openai:gpt-4o-mini)")
    convs = [c.item.messages() for c in cands]
    _with_answers(cands, ctx.llm, ctx, convs=convs, temperature=None, side="chosen", model=ctx.model_name)
    _with_answers(
        cands,
        ctx.weak_llm,
        ctx,
        convs=convs,
        temperature=None,
        side="rejected",
        model=ctx.weak_name or "weak",
    )


def _reference(cands: list[Candidate], ctx: GenContext) -> None:
    for c in cands:
        if not c.item.reference:
            c.error = "no_reference: the input row has no 'reference' field (strategy reference needs one)"
    with_ref = [templates.reference_messages(c.item.messages(), c.item.reference or "") for c in cands]
    _with_answers(cands, ctx.llm, ctx, convs=with_ref, temperature=None, side="chosen", model=ctx.model_name)
    _with_answers(
        cands,
        ctx.llm,
        ctx,
        convs=[c.item.messages() for c in cands],
        temperature=None,
        side="rejected",
        model=ctx.model_name,
    )
    for c in cands:
        c.extra["chosen_context"] = "reference"


def _temperature(cands: list[Candidate], ctx: GenContext) -> None:
    convs = [c.item.messages() for c in cands]
    _with_answers(
        cands, ctx.llm, ctx, convs=convs, temperature=ctx.low_temperature, side="chosen", model=ctx.model_name
    )
    _with_answers(
        cands,
        ctx.llm,
        ctx,
        convs=convs,
        temperature=ctx.high_temperature,
        side="rejected",
        model=ctx.model_name,
    )
    for c in cands:
        c.extra["temperatures"] = {"chosen": ctx.low_temperature, "rejected": ctx.high_temperature}


def _best_of_n(cands: list[Candidate], ctx: GenContext) -> None:
    n = ctx.best_of
    convs = [c.item.messages() for c in cands for _ in range(n)]
    seeds = [c.round * n + j for c in cands for j in range(n)]
    texts = complete(
        ctx.llm, convs, temperature=0.8, max_tokens=ctx.max_tokens, seeds=seeds, tracker=ctx.tracker
    )
    scored: list[tuple[Candidate, list[str]]] = []
    for k, c in enumerate(cands):
        answers = [t for t in texts[k * n : (k + 1) * n] if isinstance(t, str)]
        if len(answers) < 2:
            c.error = f"samples: only {len(answers)} of {n} answers came back"
        else:
            scored.append((c, answers))
    flat = [(c.item.text, a) for c, answers in scored for a in answers]
    refs = [c.item.answer for c, answers in scored for _ in answers]
    results = ctx.judge.score_many(flat, references=refs)
    pos = 0
    for c, answers in scored:
        rs = results[pos : pos + len(answers)]
        pos += len(answers)
        ok = [(r.score, i) for i, r in enumerate(rs) if r.ok and r.score is not None]
        c.extra["sample_scores"] = [r.score if r.ok else r.status for r in rs]
        if len(ok) < 2:
            c.error = f"judge: only {len(ok)} of {len(answers)} samples got a parsable score"
            continue
        best, worst = max(ok), min(ok)
        c.chosen, c.rejected = answers[best[1]], answers[worst[1]]
        c.chosen_judge, c.rejected_judge = rs[best[1]], rs[worst[1]]
        c.chosen_model = c.rejected_model = ctx.model_name


STRATEGIES: dict[str, Callable[[list[Candidate], GenContext], None]] = {
    "flaw": _flaw,
    "strong-weak": _strong_weak,
    "reference": _reference,
    "temperature": _temperature,
    "best-of-n": _best_of_n,
}


Planned = list[tuple[str, ChatRequest]]


def plan_requests(
    strategy: str, cands: Sequence[Candidate], ctx: GenContext, *, confirm_flaws: bool
) -> tuple[Planned, Planned]:
    """The ``(role, request)`` pairs a strategy and the scoring send for ``cands``, for a dry run.

    ``known`` are exactly the requests the strategy above builds from the input alone (so a cache
    lookup of them is exact); ``dependent`` stand in for requests that embed an earlier answer, with
    an answer of ``max_tokens`` tokens in its place. Roles: ``model``, ``weak``, ``judge``. Keep this in
    step with the strategies (``test_dry_run_known_requests_match_the_run`` checks it).
    """
    filler = stand_in(ctx.max_tokens)
    known: Planned = []
    dependent: Planned = []

    def answer(role: str, conv: list[dict[str, str]], temperature: float, seed: int) -> None:
        req = answer_request(conv, temperature=temperature, max_tokens=ctx.max_tokens, seed=seed)
        known.append((role, req))

    for c in cands:
        msgs = c.item.messages()
        if strategy == "flaw":
            if not c.item.response:
                answer("model", msgs, _temp(ctx, c), c.round)
            conv = templates.flaw_rewrite_messages(
                c.item.text, c.item.response or filler, FLAWS[c.flaw or ""].instruction
            )
            rewrite = answer_request(conv, temperature=0.7, max_tokens=ctx.max_tokens, seed=c.round)
            (known if c.item.response else dependent).append(("model", rewrite))
        elif strategy == "strong-weak":
            answer("model", msgs, _temp(ctx, c), c.round)
            answer("weak", msgs, _temp(ctx, c), c.round)
        elif strategy == "reference":
            if not c.item.reference:
                continue  # fails before any call
            answer("model", templates.reference_messages(msgs, c.item.reference), _temp(ctx, c), c.round)
            answer("model", msgs, _temp(ctx, c), c.round)
        elif strategy == "temperature":
            answer("model", msgs, ctx.low_temperature, c.round)
            answer("model", msgs, ctx.high_temperature, c.round)
        elif strategy == "best-of-n":
            for j in range(ctx.best_of):
                answer("model", msgs, 0.8, c.round * ctx.best_of + j)
        n_scores = ctx.best_of if strategy == "best-of-n" else 2
        scores = ctx.judge.score_requests(
            [(c.item.text, filler)] * n_scores, references=[c.item.answer] * n_scores
        )
        dependent += [("judge", r) for r in scores]
        if strategy == "flaw" and confirm_flaws:
            flaw = FLAWS[c.flaw or ""]
            check = ctx.judge.flaw_requests([(c.item.text, filler, c.flaw or "", flaw.description)])
            dependent += [("judge", r) for r in check]
    return known, dependent


def requests_per_candidate(strategy: str, *, best_of: int, confirm_flaws: bool) -> int:
    """LLM calls per candidate before retries (for the dry-run estimate)."""
    if strategy == "best-of-n":
        return 2 * best_of
    return 4 + (1 if strategy == "flaw" and confirm_flaws else 0)
