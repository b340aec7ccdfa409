"""The seven steps, each one strict ask (or a small batch of them) turned into a JSON-ready dict.

:func:`ask` re-asks an answer that does not parse (the bad answer, then the reason and the
format), at most ``retries`` times, then raises :class:`StepFailed` naming the step. An
LLM request that fails for good (network, budget) also raises, with ``kind="llm"``, and
nothing of that step is recorded, so a rerun picks it up from the request cache.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from alignforge.assess import _prompts as P
from alignforge.assess._parse import (
    Unparsable,
    parse_catalog,
    parse_challenge,
    parse_details,
    parse_implementation,
    parse_items,
    parse_spans,
)
from alignforge.errors import AlignforgeError
from alignforge.llm.base import LLM, ChatRequest, LLMError

__all__ = ["StepFailed", "Role", "Settings", "ask", "MAX_TOKENS"]

MAX_TOKENS = {
    "categories": 48,
    "catalog": 128,
    "challenge": 160,
    "implementation": 320,
    "judge": 96,
    "spans": 128,
    "details": 96,
}


class StepFailed(AlignforgeError):
    """A step got no usable answer after its retries (``kind="parse"``) or its request failed (``kind="llm"``)."""

    exit_code = 1

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Role:
    spec: str
    llm: LLM


@dataclass(frozen=True, slots=True)
class Settings:
    topic: str
    retries: int = 2
    max_tokens: int | None = None  # a cap on every step's own default

    def tokens(self, step: str) -> int:
        return MAX_TOKENS[step] if self.max_tokens is None else max(8, min(MAX_TOKENS[step], self.max_tokens))


def ask(
    role: Role,
    conversations: Sequence[list[dict[str, str]]],
    parse: Callable[[str, bool], Any] | Sequence[Callable[[str, bool], Any]],
    *,
    step: str,
    fmt: str,
    max_tokens: int,
    retries: int,
    temperature: float = 0.0,
    seed: int | None = None,
    stop: tuple[str, ...] = (),
) -> list[tuple[Any, str, int]]:
    """``(value, raw answer, tries)`` per conversation; raises :class:`StepFailed` naming ``step``.

    ``parse`` is one parser for every conversation or a list of one per conversation.
    """
    convs = [list(c) for c in conversations]
    parsers = list(parse) if isinstance(parse, Sequence) else [parse] * len(convs)
    done: list[tuple[Any, str, int] | None] = [None] * len(convs)
    pending = list(range(len(convs)))
    for attempt in range(1, retries + 2):
        # A re-ask samples (seeded): greedy decoding of a small model tends to repeat the same bad answer.
        temp, sd = (temperature, seed) if attempt == 1 else (max(temperature, 0.7), (seed or 0) + attempt)
        reqs = [
            ChatRequest.chat(
                convs[i], model=role.spec, max_tokens=max_tokens, temperature=temp, seed=sd, stop=stop
            )
            for i in pending
        ]
        still = []
        for i, res in zip(pending, role.llm.generate(reqs), strict=True):
            if isinstance(res, LLMError):
                raise StepFailed(
                    f"{step}: {role.spec} request failed ({res.kind}): {res.message}", kind="llm"
                )
            try:
                done[i] = (parsers[i](res.text, res.finish_reason == "length"), res.text, attempt)
            except Unparsable as exc:
                if attempt > retries:
                    raise StepFailed(
                        f"{step}: {role.spec} gave no usable answer in {attempt} tries: {exc}", kind="parse"
                    ) from None
                convs[i] += [
                    {"role": "assistant", "content": res.text},
                    {"role": "user", "content": P.retry_message(str(exc), fmt)},
                ]
                still.append(i)
        pending = still
        if not pending:
            break
    return [d for d in done if d is not None]


def step_categories(role: Role, s: Settings) -> dict[str, Any]:
    convs = [P.categories_messages(s.topic, level) for level in P.LEVELS]

    def parse(text: str, cut: bool) -> list[str]:
        return parse_items(text, truncated=cut, min_items=1, examples=P.EXAMPLES["categories"])

    got = ask(
        role,
        convs,
        parse,
        step="step 1 (categories)",
        fmt="1. <subtopic>\n2. <subtopic>",
        max_tokens=s.tokens("categories"),
        retries=s.retries,
        stop=("\n4.",),
    )
    return {
        "categories": {level: v for level, (v, _, _) in zip(P.LEVELS, got, strict=True)},
        "tries": [t for _, _, t in got],
    }


def step_catalog(role: Role, s: Settings) -> dict[str, Any]:
    conv = P.catalog_messages(s.topic)

    def parse(text: str, cut: bool) -> list[dict[str, Any]]:
        return parse_catalog(text, truncated=cut, examples=P.EXAMPLES["catalog"])

    [(errors, _, tries)] = ask(
        role,
        [conv],
        parse,
        step="step 2 (error catalog)",
        fmt="1. <mistake> - Impact: <what goes wrong> - Likelihood: <high|medium|low>",
        max_tokens=s.tokens("catalog"),
        retries=s.retries,
        stop=("\n5.",),
    )
    return {"errors": errors, "tries": tries}


def _sampling(attempt: int) -> dict[str, Any]:
    """Attempt 1 is greedy; later attempts sample (seeded) so they can come out differently."""
    return {"temperature": 0.0, "seed": None} if attempt == 1 else {"temperature": 0.7, "seed": attempt}


def step_challenge(
    role: Role, s: Settings, categories: dict[str, list[str]], catalog: list[dict[str, Any]], attempt: int
) -> dict[str, Any]:
    levels = categories["Advanced"] + categories["Intermediate"]
    focus = levels[(attempt - 1) % len(levels) :] + levels[: (attempt - 1) % len(levels)]
    hints = [e["error"].lower() for e in catalog]

    def check(ch: dict[str, Any]) -> dict[str, Any]:
        body = P.challenge_text(ch).lower()
        for h in hints:
            if h in body:
                raise Unparsable(f"the challenge names a known mistake ({h!r}): it must give no hints")
        return ch

    def parse(text: str, cut: bool) -> dict[str, Any]:
        return check(
            parse_challenge(text, truncated=cut, examples=P.EXAMPLES["challenge"], min_requirements=0)
        )

    fmt = "Title: ...\nTask: ...\nRequirements:\n1. ...\n2. ...\nSuccess criteria: ...\nContext: ..."
    step = f"step 3 (challenge), attempt {attempt}"
    [(ch, _, tries)] = ask(
        role,
        [P.challenge_messages(s.topic, focus)],
        parse,
        step=step,
        fmt=fmt,
        max_tokens=s.tokens("challenge"),
        retries=s.retries,
        **_sampling(attempt),
    )
    if not ch["requirements"]:  # small models often stop after the task: ask for the list on its own

        def parse_reqs(text: str, cut: bool) -> list[str]:
            reqs = parse_items(
                text, truncated=cut, min_items=1, min_words=3, examples=P.EXAMPLES["requirements"]
            )
            return check({**ch, "requirements": reqs})["requirements"]  # type: ignore[no-any-return]

        [(reqs, _, more)] = ask(
            role,
            [P.requirements_messages(ch["task"])],
            parse_reqs,
            step=f"{step} requirements",
            fmt="1. <requirement>\n2. <requirement>",
            max_tokens=s.tokens("catalog"),
            retries=s.retries,
            **_sampling(attempt),
        )
        ch, tries = {**ch, "requirements": reqs}, tries + more
    return {"challenge": ch, "text": P.challenge_text(ch), "tries": tries}


def step_implementation(
    role: Role, s: Settings, challenge: str, attempt: int, *, tier: str
) -> dict[str, Any]:
    n = 4 if tier == "strong" else 5

    def parse(text: str, cut: bool) -> dict[str, str]:
        return parse_implementation(text, truncated=cut, task=challenge)

    [(impl, _, tries)] = ask(
        role,
        [P.implementation_messages(challenge)],
        parse,
        step=f"step {n} ({tier} implementation), attempt {attempt}",
        fmt="```python\n<code>\n```",
        max_tokens=s.tokens("implementation"),
        retries=s.retries,
        **_sampling(attempt),
    )
    return {**impl, "tier": tier, "tries": tries}


def step_spans(role: Role, s: Settings, challenge: dict[str, Any], weak_code: str) -> dict[str, Any]:
    """Step 7: the judge quotes the weak implementation's wrong lines, then explains each one for a
    student (fix, concept, severity, learning value, minutes: one short request per span)."""

    def parse(text: str, cut: bool) -> tuple[list[Any], list[dict[str, str]]]:
        return parse_spans(text, code=weak_code)

    step = "step 7 (student assessment)"
    [((spans, dropped), _, tries)] = ask(
        role,
        [P.spans_messages(challenge["task"], weak_code)],
        parse,
        step=step,
        fmt="Line: <a wrong line, copied exactly>\nProblem: <why it is wrong>",
        max_tokens=s.tokens("spans"),
        retries=s.retries,
    )
    details = ask(
        role,
        [P.details_messages(s.topic, sp.text, sp.problem) for sp in spans],
        [partial(_parse_details, span=sp.text) for sp in spans],
        step=f"{step}, details",
        fmt="Severity: <critical|major|minor>\nMinutes: <whole number>\nConcept: <concept>\n"
        "Fix: <corrected code>\nLearning: <what a student learns>",
        max_tokens=s.tokens("details"),
        retries=s.retries,
    )
    errors = [
        {
            "id": str(k),
            "line": sp.line,
            "start": sp.start,
            "end": sp.end,
            "span": sp.text,
            "quote": sp.quote,
            "description": sp.problem,
            **d,
        }
        for k, (sp, (d, _, _)) in enumerate(zip(spans, details, strict=True), 1)
    ]
    return {
        "title": f"Find the errors: {challenge['title']}",
        "learning_objective": f"Spot and explain the mistakes a weak implementation makes on {s.topic}.",
        "scenario": challenge.get("context") or challenge["task"],
        "code": _markup(weak_code, spans),
        "errors": errors,
        "total_errors": len(spans),
        "estimated_minutes": sum(e["minutes"] for e in errors),
        "dropped_spans": dropped,
        "tries": tries,
        "detail_tries": [t for _, _, t in details],
    }


def _parse_details(text: str, cut: bool, *, span: str) -> dict[str, Any]:
    return parse_details(text, truncated=cut, span=span, examples=P.EXAMPLES["details"])


def _markup(code: str, spans: list[Any]) -> str:
    """The code, HTML-escaped, with each span wrapped in ``<span class='error-span' data-error-id=N>``."""
    by_line = {sp.line: (k, sp) for k, sp in enumerate(spans, 1)}
    out = []
    for no, line in enumerate(code.splitlines(), 1):
        if no in by_line:
            k, sp = by_line[no]
            line = (
                html.escape(line[: sp.start])
                + f"<span class='error-span' data-error-id='{k}'>{html.escape(line[sp.start : sp.end])}</span>"
                + html.escape(line[sp.end :])
            )
        else:
            line = html.escape(line)
        out.append(line)
    return "\n".join(out)
